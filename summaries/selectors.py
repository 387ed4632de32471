"""Reads that more than one front door needs: engine options for a job, a stored summary as a result."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from guilds.models import Channel, Guild, MemberOptOut
from summaries.engine.options import SummaryOptions
from summaries.engine.posted import PostedMessage
from summaries.engine.render.points import citation_urls
from summaries.engine.types import SummaryItem, SummaryResult, Usage
from summaries.models import JobSource, JobStatus, PostedTranscript, Schedule, Summary, SummaryJob, Visibility
from summaries.schedule_times import ScheduleTiming, timing_of
from summarybot.errors import NotFound


def opted_out_user_ids(*, guild_id: int) -> frozenset[int]:
    return frozenset(
        MemberOptOut.objects.filter(Q(guild_id=guild_id) | Q(guild__isnull=True)).values_list("user_id", flat=True)
    )


def summary_options(*, guild: Guild, channel_id: int | None, format: str, language: str, model: str,
                    context_tokens: int | None) -> SummaryOptions:
    """The engine's options for one summary: guild settings, the channel's overrides, operator limits."""
    channel = Channel.objects.filter(pk=channel_id, guild=guild).first()
    redact = guild.redact_pii
    if channel is not None and channel.redact_pii_override is not None:
        redact = channel.redact_pii_override
    return SummaryOptions(
        format=format,
        language=language,
        model=model,
        context_tokens=context_tokens,
        map_concurrency=settings.SUMMARY_MAP_CONCURRENCY,
        max_prompt_tokens=settings.SUMMARY_MAX_TOKENS_PER_REQUEST,
        prices=dict(settings.SUMMARY_PRICES),
        redact_pii=redact,
        include_bots=guild.include_bot_messages,
        opt_out_marker=guild.opt_out_marker,
        opted_out_user_ids=opted_out_user_ids(guild_id=guild.id),
    )


def last_summary_in_channel(*, guild_id: int, channel_id: int, exclude_job: SummaryJob | None = None) -> Summary | None:
    summaries = Summary.objects.filter(guild_id=guild_id, channel_id=channel_id, last_message_id__isnull=False)
    if exclude_job is not None:
        summaries = summaries.exclude(job=exclude_job)
    return summaries.order_by("-created_at").first()


def summary_title(markdown: str) -> str | None:
    """The title a summary was stored with: the `# ` heading render_markdown puts on its first line."""
    first = markdown.splitlines()[0] if markdown else ""
    return first[2:].strip() or None if first.startswith("# ") else None


def summary_result(*, summary: Summary) -> SummaryResult:
    """Rebuild the engine's result from the stored row (to render it again: another page, another format)."""
    other_channels = {
        message_id: channel_id
        for message_id, channel_id in summary.citations.exclude(channel_id=summary.channel_id).values_list(
            "message_id", "channel_id"
        )
    }
    return SummaryResult(
        format=summary.format,
        language=summary.language,
        model=summary.model,
        provider=summary.provider,
        items=[SummaryItem.from_dict(item) for item in summary.items],
        message_count=summary.message_count,
        participant_count=summary.participant_count,
        usage=Usage(
            prompt_tokens=summary.prompt_tokens,
            completion_tokens=summary.completion_tokens,
            llm_calls=summary.llm_calls,
            cost_usd=float(summary.cost_usd or Decimal(0)),
        ),
        redactions=dict(summary.redactions),
        first_message_at=summary.window_start,
        last_message_at=summary.window_end,
        guild_id=summary.guild_id,
        channel_id=summary.channel_id,
        message_channels=other_channels,
    )


# --- The REST API's reads -------------------------------------------------------------------------

# A job's status as the API names it: the worker's steps are all "running", a cancelled job "failed".
API_STATUSES: dict[str, tuple[str, ...]] = {
    "queued": (JobStatus.QUEUED,),
    "running": tuple(JobStatus.running()),
    "done": (JobStatus.DONE,),
    "partial": (JobStatus.PARTIAL,),
    "failed": (JobStatus.FAILED, JobStatus.CANCELLED),
}
_API_STATUS_OF = {job_status: name for name, statuses in API_STATUSES.items() for job_status in statuses}


def api_status(job: SummaryJob) -> str:
    return _API_STATUS_OF.get(job.status, "failed")


def integration_visible(prefix: str = "") -> Q:
    """The jobs a guild's integrations may see (`prefix` "job__" filters summaries by their job): what the
    API, schedules and webhooks asked for, and what was posted for everyone; never a member's private one."""
    return Q(**{f"{prefix}source__in": [JobSource.API, JobSource.SCHEDULE, JobSource.WEBHOOK]}) | Q(
        **{f"{prefix}visibility": Visibility.PUBLIC}
    )


def api_summaries(
    *,
    guild_id: int,
    channel_id: int | None = None,
    status: str | None = None,
    since: datetime | None = None,
    schedule_id: int | None = None,
) -> QuerySet[SummaryJob]:
    """A guild's summaries an API key may read, newest first.

    A key is the guild's, not a member's: it sees what the API, schedules and webhooks asked for and what
    was posted for everyone; a member's private summary stays that member's.
    """
    jobs = SummaryJob.objects.filter(guild_id=guild_id).filter(integration_visible()).select_related("summary")
    if channel_id is not None:
        jobs = jobs.filter(channel_id=channel_id)
    if status is not None:
        jobs = jobs.filter(status__in=API_STATUSES[status])
    if since is not None:
        jobs = jobs.filter(created_at__gte=since)
    if schedule_id is not None:
        jobs = jobs.filter(schedule_id=schedule_id)
    return jobs


def api_summary_get(*, guild_id: int, summary_id: str) -> SummaryJob:
    """One summary by its id, only within the key's guild: another guild's looks exactly like none."""
    try:
        pk = uuid.UUID(str(summary_id))
    except ValueError:
        pk = None
    job = api_summaries(guild_id=guild_id).filter(pk=pk).first() if pk is not None else None
    if job is None:
        raise NotFound(f"No summary {summary_id}.")
    return job


def api_schedule_run_summary_ids(*, guild_id: int, schedule_id: int, slot: datetime) -> list[uuid.UUID]:
    """The summaries a schedule's run of `slot` made so far: a run's jobs are its jobs whose window ends then."""
    jobs = api_summaries(guild_id=guild_id, schedule_id=schedule_id).filter(source=JobSource.SCHEDULE, until=slot)
    return list(jobs.order_by("channel_id").values_list("pk", flat=True))


def posted_messages(*, job: SummaryJob) -> list[PostedMessage] | None:
    """The messages an integration posted for the job (None: it reads a channel; [] once summarized)."""
    posted = PostedTranscript.objects.filter(job=job).first()
    return None if posted is None else [PostedMessage.from_dict(message) for message in posted.messages]


def _cited_ids(summary: Summary) -> Callable[[int], str]:
    """How a cited message is named: its Discord id, or for posted messages the id the integration gave."""
    if summary.channel_id is not None or summary.job_id is None:
        return str
    posted = PostedTranscript.objects.filter(job_id=summary.job_id).values_list("message_ids", flat=True).first()
    if not posted:
        return str
    return lambda position: posted[position - 1] if 0 < position <= len(posted) else str(position)


def summary_cited_items(*, summary: Summary) -> list[dict[str, Any]]:
    """The summary's points, each with the jump links of the messages it cites."""
    result = summary_result(summary=summary)
    name = _cited_ids(summary)
    return [
        {
            "section": item.section,
            "text": item.text,
            "message_ids": [name(message_id) for message_id in item.message_ids],
            "links": citation_urls(result, item, len(item.message_ids)),
            "owner": item.owner,
            "unverified": item.unverified,
        }
        for item in result.items
    ]


# --- Schedules --------------------------------------------------------------------------------------


def schedules_for_guild(*, guild_id: int, enabled: bool | None = None) -> QuerySet[Schedule]:
    """A guild's schedules, by name (then id, for a stable order in lists and cursors)."""
    schedules = Schedule.objects.filter(guild_id=guild_id).prefetch_related("destinations")
    if enabled is not None:
        schedules = schedules.filter(enabled=enabled)
    return schedules.order_by("name", "pk")


def schedule_get(*, guild_id: int, schedule_id: Any, for_update: bool = False) -> Schedule:
    """One schedule of the guild; another guild's (or a malformed id) is NotFound like a missing one."""
    try:
        pk = int(schedule_id)
    except (TypeError, ValueError):
        pk = None
    schedules = Schedule.objects.select_related("guild")
    if for_update:
        schedules = schedules.select_for_update(of=("self",))
    schedule = schedules.filter(guild_id=guild_id, pk=pk).first() if pk is not None else None
    if schedule is None:
        raise NotFound(f"No schedule {schedule_id} in this server.")
    return schedule


def schedule_channel_names(schedules: Iterable[Schedule]) -> dict[int, str]:
    """The names of the channels and categories these schedules name, in one query."""
    ids: set[int] = set()
    for schedule in schedules:
        ids.update(schedule.channel_ids or [])
        if schedule.category_id is not None:
            ids.add(schedule.category_id)
    return dict(Channel.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def schedule_timing(schedule: Schedule) -> ScheduleTiming:
    """The schedule's timing, as summaries/schedule_times.py computes with it."""
    return timing_of(
        frequency=schedule.frequency, timezone=schedule.timezone, time_of_day=schedule.time_of_day,
        every_hours=schedule.every_hours, weekdays=schedule.weekdays or (), day_of_month=schedule.day_of_month,
        cron=schedule.cron,
    )


def schedule_scope_label(schedule: Schedule, names: Mapping[int, str] | None = None) -> str:
    """"#general, #dev", "category 123 minus 1 channel", "whole server": for lists and notices.

    `names` (channel id -> name, from schedule_channel_names) saves a list its query per schedule.
    """
    excluded = len(schedule.excluded_channel_ids or [])
    minus = f" minus {excluded} channel{'s' if excluded != 1 else ''}" if excluded else ""
    if schedule.whole_guild:
        return f"whole server{minus}"
    if names is None:
        names = schedule_channel_names([schedule])
    if schedule.category_id is not None:
        return f"category {names.get(schedule.category_id) or schedule.category_id}{minus}"
    return ", ".join(f"#{names.get(channel_id, channel_id)}" for channel_id in schedule.channel_ids or []) or "no channel"


def job_queue_counts() -> tuple[int, int]:
    """(queued, running) summary jobs, for /metrics."""
    counts = dict(
        SummaryJob.objects.filter(status__in=[JobStatus.QUEUED, *JobStatus.running()])
        .order_by().values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    return counts.get(JobStatus.QUEUED, 0), sum(counts.get(status, 0) for status in JobStatus.running())
