"""Dashboard pages of a server's summaries (HTML); the guild comes from guilds.dashboard.guild_page."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from guilds.dashboard import guild_page
from guilds.models import Guild
from summaries.consumers import job_socket_path
from summaries.services.dashboard import dashboard_overview, dashboard_schedules
from summaries.services.job_page import dashboard_job, dashboard_job_state
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


@require_GET
@guild_page
def job(request: HttpRequest, guild: Guild, job_id: uuid.UUID) -> HttpResponse:
    try:
        page = dashboard_job(guild_id=guild.id, job_id=job_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    # Live: the page's script follows the job over the websocket and polls only if that fails. Not live (no
    # channel layer shared with the worker): the progress block polls from the start.
    live = settings.DASHBOARD_LIVE_PROGRESS and not page.state.finished
    return render(
        request,
        "summaries/job.html",
        {
            "guild": guild,
            "page": page,
            "state": page.state,
            "poll": not live,
            "ws_path": job_socket_path(guild_id=guild.id, job_id=job_id) if live else "",
            "tab": "overview",
        },
    )


@require_GET
@guild_page
def job_progress(request: HttpRequest, guild: Guild, job_id: uuid.UUID) -> HttpResponse:
    """The progress block alone, polled by htmx every 2 s until the job ends."""
    try:
        state = dashboard_job_state(guild_id=guild.id, job_id=job_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    return render(request, "summaries/_job_progress.html", {"state": state, "poll": True})
