"""The dashboard's pages: login, the server picker at /, and each server's pages under /servers/<id>/."""

from django.urls import path

from guilds import views as guild_views
from summaries import views as summary_views
from webhooks import views as webhook_views

urlpatterns = [
    path("", guild_views.home, name="dashboard-home"),
    path("login/", guild_views.login_page, name="dashboard-login"),
    path("login/dev/", guild_views.dev_login, name="dashboard-dev-login"),
    path("servers/<int:guild_id>/", summary_views.overview, name="dashboard-overview"),
    path("servers/<int:guild_id>/settings/", guild_views.guild_settings, name="dashboard-settings"),
    path("servers/<int:guild_id>/channels/", guild_views.guild_channels, name="dashboard-channels"),
    path(
        "servers/<int:guild_id>/channels/<int:channel_id>/",
        guild_views.channel_switch,
        name="dashboard-channel-switch",
    ),
    path("servers/<int:guild_id>/schedules/", summary_views.schedules, name="dashboard-schedules"),
    path("servers/<int:guild_id>/schedules/new/", summary_views.schedule_new, name="dashboard-schedule-new"),
    path(
        "servers/<int:guild_id>/schedules/preview/", summary_views.schedule_preview, name="dashboard-schedule-preview"
    ),
    # Before the actions' pattern, which would take "edit" for an action.
    path(
        "servers/<int:guild_id>/schedules/<int:schedule_id>/edit/",
        summary_views.schedule_edit,
        name="dashboard-schedule-edit",
    ),
    path(
        "servers/<int:guild_id>/schedules/<int:schedule_id>/<slug:action>/",
        summary_views.schedule_action,
        name="dashboard-schedule-action",
    ),
    path("servers/<int:guild_id>/destinations/", webhook_views.destinations, name="dashboard-destinations"),
    path(
        "servers/<int:guild_id>/destinations/<int:destination_id>/<slug:action>/",
        webhook_views.destination_action,
        name="dashboard-destination-action",
    ),
    path(
        "servers/<int:guild_id>/deliveries/<int:delivery_id>/replay/",
        webhook_views.delivery_replay_view,
        name="dashboard-delivery-replay",
    ),
    path("servers/<int:guild_id>/api-keys/", webhook_views.api_keys, name="dashboard-api-keys"),
    path(
        "servers/<int:guild_id>/api-keys/<str:prefix>/revoke/",
        webhook_views.api_key_revoke_view,
        name="dashboard-api-key-revoke",
    ),
    path("servers/<int:guild_id>/audit/", guild_views.audit_log, name="dashboard-audit"),
    path("servers/<int:guild_id>/summaries/", summary_views.summaries_archive, name="dashboard-summaries"),
    path("servers/<int:guild_id>/summaries/<uuid:summary_id>/", summary_views.summary_page, name="dashboard-summary"),
    path("servers/<int:guild_id>/jobs/<uuid:job_id>/", summary_views.job, name="dashboard-job"),
    path(
        "servers/<int:guild_id>/jobs/<uuid:job_id>/progress/",
        summary_views.job_progress,
        name="dashboard-job-progress",
    ),
]
