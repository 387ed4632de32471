"""Dashboard pages of a server's summaries (HTML); the guild comes from guilds.dashboard.guild_page."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from guilds.dashboard import guild_page
from guilds.models import Guild
from summaries.forms_archive import ArchiveFilterForm
from summaries.selectors_archive import archive_channels, archive_search, archive_summary
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
def summaries_archive(request: HttpRequest, guild: Guild) -> HttpResponse:
    channels = archive_channels(guild_id=guild.id)
    form = ArchiveFilterForm(request.GET, channels=channels)
    form.is_valid()  # a bad field is shown with its message; the others still filter
    archive = archive_search(
        guild_id=guild.id, filters=form.filters(), page=request.GET.get("page") or 1, channel_names=dict(channels)
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "summaries/_archive_results.html" if request.htmx else "summaries/archive.html",
        {"guild": guild, "form": form, "archive": archive, "query": query.urlencode(), "tab": "summaries"},
    )


@require_GET
@guild_page
def summary_page(request: HttpRequest, guild: Guild, summary_id: uuid.UUID) -> HttpResponse:
    try:
        page = archive_summary(guild_id=guild.id, summary_id=summary_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    return render(request, "summaries/summary.html", {"guild": guild, "page": page, "tab": "summaries"})


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
