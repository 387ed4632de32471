from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from guilds.views import discord_login
from summarybot import health
from summarybot.api_errors import api_not_found
from summarybot.metrics_view import metrics_view

admin.site.site_header = "Summary Bot NG"
admin.site.site_title = "Summary Bot NG admin"

# The API's description is public (it holds no data); every resource needs a key.
_public = {"authentication_classes": [], "permission_classes": [AllowAny]}

urlpatterns = [
    path("health", health.health, name="health"),
    path("ready", health.ready, name="ready"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(**_public), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema", **_public), name="api-docs"),
    path("api/v1/", include("summaries.urls")),
    path("api/v1/", include("webhooks.api_urls")),
    re_path(r"^api/", api_not_found),
    path("webhooks/", include("webhooks.urls")),
    # Before allauth's own: without DISCORD_CLIENT_ID/SECRET it says login is unavailable instead of failing.
    path("accounts/discord/login/", discord_login, name="dashboard-discord-login"),
    path("accounts/", include("allauth.urls")),
    path("", include("summarybot.dashboard_urls")),
]
