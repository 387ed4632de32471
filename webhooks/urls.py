"""Inbound webhooks, mounted under /webhooks/ by summarybot.urls."""

from django.urls import path

from webhooks import api

urlpatterns = [
    path("inbound/<int:guild_id>/", api.InboundWebhookView.as_view(), name="webhooks-inbound"),
]
