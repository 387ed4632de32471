"""Dashboard pages of a server's summaries (HTML); the guild comes from guilds.dashboard.guild_page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from guilds.dashboard import guild_page
from guilds.models import Guild
from summaries.services.dashboard import dashboard_overview


@require_GET
@guild_page
def overview(request: HttpRequest, guild: Guild) -> HttpResponse:
    return render(
        request, "summaries/overview.html", {"guild": guild, "overview": dashboard_overview(guild=guild), "tab": "overview"}
    )
