"""Dashboard pages of a server's summaries (HTML); the guild comes from guilds.dashboard.guild_page."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from guilds.dashboard import guild_page
from guilds.models import Guild
from summaries.consumers import job_socket_path
from summaries.forms import ScheduleForm
from summaries.forms_archive import ArchiveFilterForm
from summaries.models import Schedule
from summaries.selectors import schedule_get, schedule_scope_label
from summaries.selectors_archive import archive_channels, archive_search, archive_summary
from summaries.services.dashboard import (
    ScheduleFormChoices,
    dashboard_overview,
    dashboard_schedules,
    schedule_form_choices,
)
from summaries.services.job_page import dashboard_job, dashboard_job_state
from summaries.services.schedules import (
    schedule_create,
    schedule_delete,
    schedule_pause,
    schedule_resume,
    schedule_run_now,
    schedule_update,
)
from summarybot.errors import InvalidInput, NotFound, SummaryBotError


@require_GET
@guild_page
def overview(request: HttpRequest, guild: Guild) -> HttpResponse:
    return render(
        request,
        "summaries/overview.html",
        {"guild": guild, "overview": dashboard_overview(guild=guild), "tab": "overview"},
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
        request,
        "summaries/schedules.html",
        {"guild": guild, "schedules": dashboard_schedules(guild=guild), "tab": "schedules"},
    )


_ACTIONS = {
    "pause": (schedule_pause, "paused"),
    "resume": (schedule_resume, "resumed"),
    "run": (schedule_run_now, "queued to run now"),
}


@require_POST
@guild_page
def schedule_action(request: HttpRequest, guild: Guild, schedule_id: int, action: str) -> HttpResponse:
    if action == "delete":
        return _schedule_delete(request, guild, schedule_id)
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


def _schedule_delete(request: HttpRequest, guild: Guild, schedule_id: int) -> HttpResponse:
    """Delete asks first: without `confirm=yes` the answer is a page that says what goes and asks again."""
    try:
        schedule = schedule_get(guild_id=guild.id, schedule_id=schedule_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    if request.POST.get("confirm") != "yes":
        context = {"guild": guild, "schedule": schedule, "scope": schedule_scope_label(schedule), "tab": "schedules"}
        return render(request, "summaries/schedule_delete.html", context)
    try:
        schedule_delete(guild_id=guild.id, schedule_id=schedule.pk)
    except NotFound as exc:  # deleted meanwhile, from Discord or the API
        raise Http404(exc.message) from None
    messages.success(request, f"Schedule {schedule.name} deleted.")
    return redirect("dashboard-schedules", guild_id=guild.id)


def _schedule_form(guild: Guild, request: HttpRequest, schedule: Schedule | None = None) -> ScheduleForm:
    data = request.POST if request.method == "POST" else None
    if schedule is None:
        return ScheduleForm(
            data, choices=schedule_form_choices(guild_id=guild.id), initial={"timezone": guild.timezone or "UTC"}
        )
    kept = [*(schedule.channel_ids or []), *(schedule.excluded_channel_ids or [])]
    return ScheduleForm(
        data,
        choices=schedule_form_choices(
            guild_id=guild.id, keep_channel_ids=kept, keep_post_channel_id=schedule.discord_channel_id
        ),
        initial=ScheduleForm.initial_for(schedule),
    )


def _schedule_form_page(
    request: HttpRequest, guild: Guild, schedule: Schedule | None, save: Callable[[ScheduleForm], Schedule]
) -> HttpResponse:
    """The new and edit pages: GET shows the form; POST saves through the service, or (the no-JS preview
    button, or a refusal) shows the form again with the next runs of what was entered and changes nothing."""
    form = _schedule_form(guild, request, schedule)
    status = 200
    if request.method == "POST":
        if "preview" not in request.POST and form.is_valid():
            try:
                saved = save(form)
            except NotFound as exc:
                if schedule is not None and not _exists(guild, schedule):
                    raise Http404(exc.message) from None
                form.add_service_error(exc)
            except SummaryBotError as exc:
                if exc.http_status >= 500:
                    raise
                form.add_service_error(exc)
            else:
                messages.success(request, f"Schedule {saved.name} {'saved' if schedule else 'created'}.")
                return redirect("dashboard-schedules", guild_id=guild.id)
        form.is_valid()  # the preview reads the fields that are valid
        status = 400 if form.errors else 200
    context = {
        "guild": guild,
        "form": form,
        "schedule": schedule,
        "preview": form.preview() if form.is_bound else None,
        "tab": "schedules",
    }
    return render(request, "summaries/schedule_form.html", context, status=status)


def _exists(guild: Guild, schedule: Schedule) -> bool:
    return Schedule.objects.filter(guild=guild, pk=schedule.pk).exists()


@require_http_methods(["GET", "POST"])
@guild_page
def schedule_new(request: HttpRequest, guild: Guild) -> HttpResponse:
    return _schedule_form_page(
        request, guild, None, lambda form: schedule_create(guild_id=guild.id, **form.service_arguments())
    )


@require_http_methods(["GET", "POST"])
@guild_page
def schedule_edit(request: HttpRequest, guild: Guild, schedule_id: int) -> HttpResponse:
    try:
        schedule = schedule_get(guild_id=guild.id, schedule_id=schedule_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    return _schedule_form_page(
        request,
        guild,
        schedule,
        lambda form: schedule_update(guild_id=guild.id, schedule_id=schedule.pk, **form.service_arguments()),
    )


@require_GET
@guild_page
def schedule_preview(request: HttpRequest, guild: Guild) -> HttpResponse:
    """The htmx partial under the form: the next runs of what is entered so far."""
    # Only the timing fields count here: no channel or destination choices needed (nor their queries).
    form = ScheduleForm(
        request.GET, choices=ScheduleFormChoices(channels=[], categories=[], post_channels=[], destinations=[])
    )
    form.is_valid()
    return render(request, "summaries/_schedule_preview.html", {"preview": form.preview()})


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
