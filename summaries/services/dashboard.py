"""What the dashboard's pages show of a guild: the overview (recent summaries, usage against budgets,
schedules that need attention), the schedules with their latest runs, and the choices of the schedule form."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q, Window
from django.db.models.functions import DenseRank

from guilds.models import Channel, ChannelKind, Guild
from summaries.models import Digest, DigestStatus, JobSource, JobStatus, Schedule, Summary, SummaryJob
from summaries.schedule_times import describe
from summaries.selectors import (
    api_status,
    api_summaries,
    schedule_channel_names,
    schedule_scope_label,
    schedule_timing,
    schedules_for_guild,
)
from summaries.services.usage import MonthUsage, usage_this_month
from webhooks.models import WebhookDestination

OVERVIEW_RECENT = 15


@dataclass(frozen=True, slots=True)
class RecentJob:
    id: uuid.UUID
    channel_label: str
    source: str
    status: str
    status_label: str
    format: str
    created_at: datetime
    error_message: str


@dataclass(frozen=True, slots=True)
class Overview:
    recent: list[RecentJob]
    usage: MonthUsage
    # How much of each budget is used, 0-100 (None: no such budget); the page draws them as bars.
    token_budget_percent: int | None
    cost_budget_percent: int | None
    schedules_needing_attention: list[Schedule]


def _percent(used: Decimal | int, budget: Decimal | int | None) -> int | None:
    if budget is None:
        return None
    if budget <= 0:
        return 100
    return min(100, round(100 * Decimal(used) / Decimal(budget)))


def _channel_label(channel_id: int | None, names: dict[int, str]) -> str:
    if not channel_id:
        return "posted messages"
    return f"#{names[channel_id]}" if channel_id in names else str(channel_id)


def dashboard_overview(*, guild: Guild) -> Overview:
    """The overview page: the guild's recent summaries (those its integrations may see) with their state,
    this month's usage against the budgets, and paused schedules."""
    jobs = list(api_summaries(guild_id=guild.id).order_by("-created_at")[:OVERVIEW_RECENT])
    names = dict(
        Channel.objects.filter(pk__in={j.channel_id for j in jobs if j.channel_id}).values_list("pk", "name")
    )
    recent = [
        RecentJob(
            id=job.id,
            channel_label=_channel_label(job.channel_id, names),
            source=job.get_source_display(),
            status=api_status(job),
            status_label=job.get_status_display(),
            format=job.get_format_display(),
            created_at=job.created_at,
            error_message=job.error_message[:200] if api_status(job) == "failed" else "",
        )
        for job in jobs
    ]
    usage = usage_this_month(guild=guild)
    return Overview(
        recent=recent,
        usage=usage,
        token_budget_percent=_percent(usage.tokens, usage.token_budget),
        cost_budget_percent=_percent(usage.cost_usd, usage.cost_budget_usd),
        schedules_needing_attention=list(
            Schedule.objects.filter(guild=guild, enabled=False).exclude(paused_reason="").order_by("name", "pk")[:10]
        ),
    )


SCHEDULE_RECENT_RUNS = 5
# A run's job as the runs list reads it: (id, channel_id, status, error, made a summary).
_RunJob = tuple[uuid.UUID, int | None, str, str, bool]
# A run whose job ended in one of these did not deliver its digest (as schedule_runs counts a failed run).
_FAILED_JOB = (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.PARTIAL)


@dataclass(frozen=True, slots=True)
class ScheduleRunRow:
    """One run of a schedule: its jobs are the schedule's jobs whose window ends at `slot`."""

    slot: datetime
    # done | quiet (every channel skipped: fewer messages than min_messages) | failed | running
    result: str
    channels: int
    quiet_channels: int
    error: str
    job_ids: list[uuid.UUID]


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    id: int
    name: str
    scope: str
    frequency: str
    time_of_day: str
    timezone: str
    # "weekly on Monday, Friday at 09:00 (Europe/Berlin)", "cron '0 9 * * 1-5' (UTC)"
    timing: str
    enabled: bool
    paused_reason: str
    next_run_at: datetime | None
    last_run_at: datetime | None
    consecutive_failures: int
    runs: list[ScheduleRunRow]


def dashboard_schedules(*, guild: Guild) -> list[ScheduleRow]:
    """The schedules page: each of the guild's schedules with its readable scope, state and latest runs
    (a fixed number of queries however many schedules and runs there are)."""
    schedules = list(schedules_for_guild(guild_id=guild.id))
    names = schedule_channel_names(schedules)
    runs = schedule_recent_runs(schedule_ids=[s.pk for s in schedules])
    return [
        ScheduleRow(
            id=s.pk,
            name=s.name,
            scope=schedule_scope_label(s, names),
            frequency=s.get_frequency_display(),
            time_of_day=s.time_of_day.strftime("%H:%M") if s.time_of_day else "",
            timezone=s.timezone,
            timing=describe(schedule_timing(s)),
            enabled=s.enabled,
            paused_reason=s.paused_reason,
            next_run_at=s.next_run_at,
            last_run_at=s.last_run_at,
            consecutive_failures=s.consecutive_failures,
            runs=runs.get(s.pk, []),
        )
        for s in schedules
    ]


def schedule_recent_runs(
    *, schedule_ids: Iterable[int], per_schedule: int = SCHEDULE_RECENT_RUNS
) -> dict[int, list[ScheduleRunRow]]:
    """The latest `per_schedule` runs of each schedule, newest first, in two queries: the jobs of those runs
    (ranked by their window's end within their schedule), and the digests of the combined ones.

    A run that made no job at all (no channel of its scope could be asked for) left no row to show; it is
    counted in the schedule's consecutive_failures.
    """
    ids = list(schedule_ids)
    if not ids:
        return {}
    jobs = (
        SummaryJob.objects.filter(schedule_id__in=ids, source=JobSource.SCHEDULE, until__isnull=False)
        .annotate(
            run_rank=Window(DenseRank(), partition_by=[F("schedule_id")], order_by=F("until").desc()),
            summarized=Exists(Summary.objects.filter(job=OuterRef("pk"))),
        )
        .filter(run_rank__lte=per_schedule)
        .order_by()
        .values_list("pk", "schedule_id", "until", "channel_id", "status", "error_message", "error_code", "summarized")
    )
    by_run: dict[tuple[int, datetime], list[_RunJob]] = defaultdict(list)
    for pk, schedule_id, until, channel_id, status, error_message, error_code, summarized in jobs:
        by_run[(schedule_id, until)].append((pk, channel_id, status, error_message or error_code, summarized))
    digests: dict[tuple[int, datetime], tuple[str, str]] = {}
    if by_run:
        slots = {slot for _, slot in by_run}
        for schedule_id, slot, status, error in Digest.objects.filter(
            schedule_id__in=ids, slot__in=slots
        ).values_list("schedule_id", "slot", "status", "error_message"):
            digests[(schedule_id, slot)] = (status, error)
    failed_in = {job[1] for run in by_run.values() for job in run if job[2] in _FAILED_JOB and job[1]}
    names = dict(Channel.objects.filter(pk__in=failed_in).values_list("pk", "name")) if failed_in else {}
    runs: dict[int, list[ScheduleRunRow]] = defaultdict(list)
    for (schedule_id, slot), run_jobs in sorted(by_run.items(), key=lambda item: item[0][1], reverse=True):
        runs[schedule_id].append(_run_row(slot, run_jobs, digests.get((schedule_id, slot)), names))
    return dict(runs)


def _run_row(
    slot: datetime, jobs: list[_RunJob], digest: tuple[str, str] | None, names: dict[int, str]
) -> ScheduleRunRow:
    jobs = sorted(jobs, key=lambda job: job[1] or 0)
    failed = [(channel_id, error) for _, channel_id, status, error, _ in jobs if status in _FAILED_JOB]
    unfinished = any(status not in JobStatus.finished() for _, _, status, _, _ in jobs)
    # A scheduled job that ended done without a summary was skipped as quiet (summaries/services/runner.py).
    quiet = sum(1 for _, _, status, _, summarized in jobs if status == JobStatus.DONE and not summarized)
    error = ""
    if failed:
        result = "failed"
        channel_id, message = failed[0]
        error = f"{_channel_label(channel_id, names)}: {message}"
    elif unfinished:
        result = "running"
    elif quiet == len(jobs):
        result = "quiet"
    else:
        result = "done"
    if digest is not None and result != "running":
        status, digest_error = digest
        if status == DigestStatus.FAILED:
            result, error = "failed", digest_error or error
        elif status in (DigestStatus.COLLECTING, DigestStatus.DELIVERING):
            result = "running"
        elif status == DigestStatus.EMPTY and not failed:
            result = "quiet"
    return ScheduleRunRow(
        slot=slot, result=result, channels=len(jobs), quiet_channels=quiet, error=error[:300],
        job_ids=[job[0] for job in jobs],
    )


# Channel kinds a schedule's scope lists (conversations, and where threads and forum posts live) and the
# kinds it can post in (summaries/services/schedules.py's postable kinds, threads left out of the list).
SCOPE_CHANNEL_KINDS = (ChannelKind.TEXT, ChannelKind.ANNOUNCEMENT, ChannelKind.FORUM, ChannelKind.MEDIA)
POST_CHANNEL_KINDS = (ChannelKind.TEXT, ChannelKind.ANNOUNCEMENT)


@dataclass(frozen=True, slots=True)
class ScheduleFormChoices:
    """What the schedule form offers, as (value, label) pairs."""

    channels: list[tuple[int, str]]
    categories: list[tuple[int, str]]
    post_channels: list[tuple[int, str]]
    destinations: list[tuple[int, str]]


def schedule_form_choices(
    *, guild_id: int, keep_channel_ids: Iterable[int] = (), keep_post_channel_id: int | None = None
) -> ScheduleFormChoices:
    """The guild's channels a schedule can summarize (on, and not private unless enabled anyway), its
    categories, the channels it can post in, and its destinations: two queries.

    What a schedule being edited already names stays offered: its channels (`keep_channel_ids`) even when
    turned off since (the run reports them refused), and its post channel even when it is a thread (the
    API and /schedule can set one), so that editing something else never silently drops them.
    """
    keep = set(keep_channel_ids)
    keep_post = {keep_post_channel_id} if keep_post_channel_id else set()
    listed = {ChannelKind.CATEGORY, *SCOPE_CHANNEL_KINDS, *POST_CHANNEL_KINDS}
    rows = (
        Channel.objects.filter(guild_id=guild_id, deleted_at__isnull=True)
        .filter(Q(kind__in=listed) | Q(pk__in=keep | keep_post))
        .order_by("name", "pk")
        .values_list("pk", "name", "kind", "enabled", "is_locked", "allow_when_locked")
    )
    channels, categories, post_channels = [], [], []
    for pk, name, kind, enabled, locked, allowed in rows:
        if kind == ChannelKind.CATEGORY:
            categories.append((pk, name))
            continue
        thread = " (thread)" if kind in ChannelKind.threads() else ""
        if kind in POST_CHANNEL_KINDS or pk in keep_post:
            post_channels.append((pk, f"#{name}{thread}"))
        summarizable = enabled and (not locked or allowed)
        if summarizable and kind in SCOPE_CHANNEL_KINDS:
            forum = kind in (ChannelKind.FORUM, ChannelKind.MEDIA)
            channels.append((pk, f"#{name} (forum)" if forum else f"#{name}"))
        elif pk in keep:
            channels.append((pk, f"#{name} (summaries off)" if not summarizable else f"#{name}{thread}"))
    destinations = list(
        WebhookDestination.objects.filter(guild_id=guild_id).order_by("name", "pk").values_list("pk", "name")
    )
    return ScheduleFormChoices(
        channels=channels, categories=categories, post_channels=post_channels, destinations=destinations
    )
