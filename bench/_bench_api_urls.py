"""The project's URLs and one bare view, served by the same process for bench_api.py."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from summarybot.urls import urlpatterns as project_urlpatterns


def bare(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare", bare), *project_urlpatterns]
