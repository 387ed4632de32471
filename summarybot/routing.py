"""Websocket routes, gathered from the apps that serve them."""

from django.urls import URLPattern, path

from summaries.consumers import JobProgressConsumer

websocket_urlpatterns: list[URLPattern] = [
    # summaries.consumers.job_socket_path builds these URLs for the job page.
    path("ws/servers/<int:guild_id>/jobs/<uuid:job_id>/", JobProgressConsumer.as_asgi()),
]
