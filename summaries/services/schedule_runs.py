"""A schedule's runs: claiming a slot, turning it into summary jobs, and counting how runs end.

A run is one slot of one schedule. It resolves the schedule's scope to channels and asks for one normal
SummaryJob per channel through `summary_request` (same channel rules, privacy and budget as any request),
each with the window that ends at the slot and an idempotency key made of the schedule, the slot and the
channel: a repeated run of a slot finds its jobs instead of making more. The jobs are the run: those of one
slot are the schedule's jobs whose window ends at that slot.

A channel quieter than the schedule's `min_messages` is skipped by its job after fetching (summaries/
services/runner.py): done, with a detail saying so, no LLM call and no post.

Each run counts once when its last job finishes: a run in which a job failed (or could not post) counts a
failure, any other resets the count; SCHEDULE_MAX_CONSECUTIVE_FAILURES in a row pause the schedule and tell
the guild in its log channel.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone as dj_timezone

from guilds.models import Channel, ChannelKind
from summaries.engine.options import SummaryOptions
from summaries.models import DeliveryMode, JobSource, JobStatus, Schedule, ScheduleMode, SummaryJob, Visibility
from summaries.schedule_times import chunk_boundaries, next_fire, period_window, previous_fire, run_window
from summaries.selectors import schedule_timing
from summaries.services.digests import digest_channels_set, digest_for_schedule_run
from summaries.services.jobs import SummaryRequest, summary_request
from summaries.services.schedule_outcomes import schedule_run_counted
from summaries.services.schedules import schedule_materialize, twin_name
from summaries.window import SummaryWindow
from summarybot.errors import BudgetExceeded, IdempotencyKeyReused, SummaryBotError

logger = logging.getLogger(__name__)

# Channel kinds a category or whole-guild scope sweeps in: where conversations happen and can be read.
_SCOPE_KINDS = (ChannelKind.TEXT, ChannelKind.ANNOUNCEMENT)
# A run's job that ended in one of these makes the run a failure: the digest did not arrive.
_FAILED = (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.PARTIAL)


def schedule_tick(*, schedule_id: int, slot: datetime | None = None) -> str:
    """django-q2 fired the schedule's twin for `slot`: claim the slot, re-arm the twin, and run.

    The claim is a conditional update of `next_run_at` from this slot to the next one, in the transaction
    that makes the run's jobs: two ticks of one slot (a redelivered task, a re-armed twin) make one run.
    After downtime, the latest missed slot runs once if it is within SCHEDULE_MISSED_GRACE_SECONDS; older
    ones are skipped. Either way the next slot is the first one after now. Returns an outcome for the log.
    """
    now = dj_timezone.now()
    schedule = Schedule.objects.select_related("guild").filter(pk=schedule_id).first()
    if schedule is None or not schedule.enabled or schedule.next_run_at is None:
        if schedule is None:
            from django_q.models import Schedule as QSchedule

            QSchedule.objects.filter(name=twin_name(schedule_id)).delete()
        else:
            schedule_materialize(schedule=schedule)
        return "skipped: deleted or paused"
    due = slot or schedule.next_run_at
    if schedule.next_run_at != due:
        return "skipped: slot already run (or the schedule was changed since)"
    if due > now:
        schedule_materialize(schedule=schedule)
        return "skipped: not due yet"
    timing = schedule_timing(schedule)
    # The latest slot not after now: after downtime, the only missed slot still worth a run.
    latest = max(due, previous_fire(timing, before=now + timedelta(microseconds=1)))
    grace = timedelta(seconds=settings.SCHEDULE_MISSED_GRACE_SECONDS)
    run_slot = latest if now - latest <= grace else None
    following = next_fire(timing, after=max(now, latest))
    with transaction.atomic():
        claimed = Schedule.objects.filter(pk=schedule.pk, enabled=True, next_run_at=due).update(
            next_run_at=following, last_run_at=run_slot or F("last_run_at"),
        )
        if claimed != 1:
            return "skipped: slot already run"
        schedule.next_run_at = following
        schedule_materialize(schedule=schedule)
        if run_slot is None:
            logger.warning(
                "skipped a schedule slot missed for longer than the grace period",
                extra={"schedule_id": schedule.pk, "slot": latest.isoformat()},
            )
            return f"skipped: missed slot {latest.isoformat()} is past the grace period"
        schedule.last_run_at = run_slot
        since, until = run_window(timing, slot=run_slot, lookback_hours=schedule.lookback_hours)
        return schedule_run(schedule=schedule, since=since, until=until)


def schedule_run_at(*, schedule_id: int, slot: datetime) -> str:
    """A run asked for outside the timetable (run now) for `slot`: a regular run's length ending then."""
    schedule = Schedule.objects.select_related("guild").filter(pk=schedule_id).first()
    if schedule is None:
        return "skipped: schedule deleted"
    since, until = period_window(schedule_timing(schedule), until=slot, lookback_hours=schedule.lookback_hours)
    with transaction.atomic():
        return schedule_run(schedule=schedule, since=since, until=until)


def schedule_run(*, schedule: Schedule, since: datetime, until: datetime) -> str:
    """Ask for one job per channel of the scope, for the window [since, until); `until` is the run's slot.

    A channel the request rules refuse (disabled, private, deleted, not readable by everyone who sees the
    post) is skipped; a run where no channel could be asked for counts as a failed run at once.
    """
    window = SummaryWindow.range(since, until)
    # Combined: the jobs post nothing; their digest posts one message with a section per channel.
    digest = digest_for_schedule_run(schedule=schedule, slot=until) if schedule.mode == ScheduleMode.COMBINED else None
    made, refused, channels = 0, [], []
    for channel_id in scope_channel_ids(schedule=schedule):
        try:
            summary_request(request=SummaryRequest(
                guild_id=schedule.guild_id, channel_id=channel_id, source=JobSource.SCHEDULE, schedule=schedule,
                window=window, format=schedule.format or None, language=schedule.language or None,
                visibility=Visibility.PUBLIC, delivery_mode=DeliveryMode.HERE,
                idempotency_key=run_key(schedule_id=schedule.pk, slot=until, channel_id=channel_id),
                enforce_cooldown=False, enforce_concurrency=False, digest=digest,
            ))
            made += 1
            channels.append(channel_id)
        except IdempotencyKeyReused:
            made += 1  # this slot's job exists, asked for before the schedule was edited: it stands
            channels.append(channel_id)
        except BudgetExceeded as exc:
            refused.append(exc.message)
            break  # every other channel would be refused the same way
        except SummaryBotError as exc:
            refused.append(f"<#{channel_id}>: {exc.message}")
            logger.info("schedule skipped a channel", extra={"schedule_id": schedule.pk, "channel_id": channel_id,
                                                             "error_code": exc.code})
    if digest is not None and not digest.channel_ids:
        digest_channels_set(digest=digest, channel_ids=channels)
    if made:
        logger.info("schedule run queued", extra={"schedule_id": schedule.pk, "jobs": made, "skipped": len(refused)})
        return f"queued {made} job{'s' if made != 1 else ''}" + (f", skipped {len(refused)}" if refused else "")
    reason = refused[0] if refused else (
        "no channel of its scope can be summarized (they are turned off, private, or deleted)"
    )
    schedule_run_counted(schedule_id=schedule.pk, slot=until, failure=reason)
    return f"failed: {reason}"


def scope_channel_ids(*, schedule: Schedule) -> list[int]:
    """The channels a run asks for: the listed ones, or the category's or guild's summarizable channels,
    minus the excluded ones. Listed channels are passed on as they are so that a refusal is reported;
    swept-in channels are only those the request rules would accept (enabled, not deleted, not private
    unless allowed), since a server's private channels are not the schedule's to complain about."""
    excluded = set(schedule.excluded_channel_ids or [])
    if schedule.channel_ids:
        return [channel_id for channel_id in schedule.channel_ids if channel_id not in excluded]
    channels = Channel.objects.filter(
        guild_id=schedule.guild_id, kind__in=_SCOPE_KINDS, enabled=True, deleted_at__isnull=True
    ).filter(Q(is_locked=False) | Q(allow_when_locked=True))
    if not schedule.whole_guild:
        channels = channels.filter(parent_id=schedule.category_id)
    if schedule.discord_channel_id:
        # Posted elsewhere, a summary may only show what everyone there can read.
        channels = channels.filter(Q(is_locked=False) | Q(pk=schedule.discord_channel_id))
    return [pk for pk in channels.order_by("name", "pk").values_list("pk", flat=True) if pk not in excluded]


def run_key(*, schedule_id: int, slot: datetime, channel_id: int) -> str:
    """The idempotency key of a run's job: one job per schedule, slot and channel."""
    return f"schedule:{schedule_id}:{slot.astimezone(UTC):%Y%m%dT%H%M%SZ}:{channel_id}"


def schedule_job_options(*, job: SummaryJob, options: SummaryOptions) -> SummaryOptions:
    """A scheduled job's engine options: chunks planned on its schedule's period boundaries, so that a weekly
    digest reuses the chunk summaries its days' daily runs left in the cache (schedule_times.chunk_boundaries).

    Any other job, or a job whose schedule is gone, keeps the options it was given.
    """
    if job.source != JobSource.SCHEDULE or job.schedule_id is None or job.since is None or job.until is None:
        return options
    schedule = Schedule.objects.filter(pk=job.schedule_id).first()
    if schedule is None:
        return options
    boundaries = chunk_boundaries(schedule_timing(schedule), since=job.since, until=job.until)
    return dataclasses.replace(options, chunk_boundaries=boundaries)


def schedule_job_finished(*, job: SummaryJob) -> None:
    """A schedule's job ended: once every job of its run has, count the run (once, whoever gets here).

    A combined run's jobs are counted by their digest instead, once it is posted (or could not be).
    """
    if job.schedule_id is None or job.source != JobSource.SCHEDULE or job.until is None or job.digest_id is not None:
        return
    run = SummaryJob.objects.filter(schedule_id=job.schedule_id, source=JobSource.SCHEDULE, until=job.until)
    if run.exclude(status__in=JobStatus.finished()).exists():
        return  # the last job of the run to finish counts it
    failed = run.filter(status__in=_FAILED).order_by("finished_at").first()
    failure = None
    if failed is not None:
        failure = f"<#{failed.channel_id}>: {failed.error_message or failed.error_code or failed.status}"
    schedule_run_counted(schedule_id=job.schedule_id, slot=job.until, failure=failure)
