"""The API docs page (Swagger UI) loads its scripts from our own static files, never from a CDN."""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.test import RequestFactory
from drf_spectacular.views import SpectacularSwaggerView


def test_swagger_ui_page_uses_local_pinned_assets():
    view = SpectacularSwaggerView.as_view(url="/api/v1/schema/")
    response = view(RequestFactory().get("/api/v1/docs/"))
    response.render()
    page = response.content.decode()

    assert "cdn.jsdelivr.net" not in page and "@latest" not in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
