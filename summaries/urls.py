"""The summaries, usage and schedules resources of the REST API, mounted under /api/v1/ by summarybot.urls."""

from django.urls import path

from summaries import api

urlpatterns = [
    path("summaries", api.SummaryListCreateView.as_view(), name="api-summaries"),
    path("summaries/<str:summary_id>", api.SummaryDetailView.as_view(), name="api-summary"),
    path("usage", api.UsageView.as_view(), name="api-usage"),
    path("schedules", api.ScheduleListCreateView.as_view(), name="api-schedules"),
    path("schedules/<str:schedule_id>", api.ScheduleDetailView.as_view(), name="api-schedule"),
    path("schedules/<str:schedule_id>/run", api.ScheduleRunView.as_view(), name="api-schedule-run"),
    path("schedules/<str:schedule_id>/pause", api.SchedulePauseView.as_view(), name="api-schedule-pause"),
    path("schedules/<str:schedule_id>/resume", api.ScheduleResumeView.as_view(), name="api-schedule-resume"),
]
