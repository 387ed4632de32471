"""Dashboard pages of a server's summaries (HTML); the guild comes from guilds.dashboard.guild_page."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from guilds.dashboard import guild_page
from guilds.models import Guild
from summaries.services.dashboard import dashboard_overview, dashboard_schedules
from summaries.services.schedules import schedule_pause, schedule_resume, schedule_run_now
from summarybot.errors import InvalidInput, NotFound


@require_GET
@guild_page
def overview(request: HttpRequest, guild: Guild) -> HttpResponse:
    return render(
        request, "summaries/overview.html", {"guild": guild, "overview": dashboard_overview(guild=guild), "tab": "overview"}
    )


@require_GET
@guild_page
def schedules(request: HttpRequest, guild: Guild) -> HttpResponse:
    return render(
        request, "summaries/schedules.html", {"guild": guild, "schedules": dashboard_schedules(guild=guild), "tab": "schedules"}
    )


_ACTIONS = {
    "pause": (schedule_pause, "paused"),
    "resume": (schedule_resume, "resumed"),
    "run": (schedule_run_now, "queued to run now"),
}


@require_POST
@guild_page
def schedule_action(request: HttpRequest, guild: Guild, schedule_id: int, action: str) -> HttpResponse:
    if action not in _ACTIONS:
        raise Http404("No such action.")
    service, done = _ACTIONS[action]
    try:
        service(guild_id=guild.id, schedule_id=schedule_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Schedule {schedule_id} {done}.")
    return redirect("dashboard-schedules", guild_id=guild.id)
