"""The dashboard's pages: login, the server picker at /, and each server's pages under /servers/<id>/."""

from django.urls import path

from guilds import views as guild_views
from summaries import views as summary_views

urlpatterns = [
    path("", guild_views.home, name="dashboard-home"),
    path("login/", guild_views.login_page, name="dashboard-login"),
    path("servers/<int:guild_id>/", summary_views.overview, name="dashboard-overview"),
    path("servers/<int:guild_id>/settings/", guild_views.guild_settings, name="dashboard-settings"),
    path("servers/<int:guild_id>/channels/", guild_views.guild_channels, name="dashboard-channels"),
    path(
        "servers/<int:guild_id>/channels/<int:channel_id>/",
        guild_views.channel_switch,
        name="dashboard-channel-switch",
    ),
]
