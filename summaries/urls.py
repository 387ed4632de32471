"""The summaries resources of the REST API, mounted under /api/v1/ by summarybot.urls."""

from django.urls import path

from summaries import api

urlpatterns = [
    path("summaries", api.SummaryListCreateView.as_view(), name="api-summaries"),
    path("summaries/<str:summary_id>", api.SummaryDetailView.as_view(), name="api-summary"),
    path("usage", api.UsageView.as_view(), name="api-usage"),
]
