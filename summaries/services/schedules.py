"""Schedules: defining, pausing, resuming and deleting recurring summaries, and their django-q2 twins.

Our Schedule row is the source of truth: `next_run_at`, computed in the schedule's own time zone by
summaries/schedule_times.py. Each enabled schedule has exactly one django-q2 Schedule, its twin, found by
the name `summarybot-schedule-<pk>` (update_or_create, so saving again never duplicates it). The twin is
of type ONCE with repeats=1: django-q2 fires it at `next_run_at`, passing that slot as `slot=`, and keeps
the spent row (repeats 0); the run re-arms it with the next slot in the transaction that claims the slot
(summaries/services/schedule_runs.py). django-q2's own DAILY/WEEKLY/CRON types are not used: they compute
the next run in the server's time zone (UTC here), not each schedule's. `schedules_reconcile`, every
minute, repairs a twin that went missing or out of step; the slot claim makes any extra fire harmless.

Every function here is keyword-only and raises a SummaryBotError (InvalidInput, NotFound) with a message
a guild admin can act on; the REST API, the /schedule commands and the dashboard call them as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone as dj_timezone
from django_q.models import Schedule as QSchedule

from guilds.audit import audit_created, audit_deleted, audit_diff, audit_record, audit_snapshot
from guilds.models import Channel, ChannelKind, Guild, SummaryFormat, validate_language
from guilds.selectors import guild_get
from summaries.models import Schedule, ScheduleMode
from summaries.schedule_times import (
    MAX_LOOKBACK_HOURS,
    ScheduleTiming,
    next_fire,
    parse_time_of_day,
    weekdays_of,
)
from summaries.selectors import schedule_get, schedule_timing
from summarybot.errors import InvalidInput, NotFound
from webhooks.models import WebhookDestination

logger = logging.getLogger(__name__)

TWIN_PREFIX = "summarybot-schedule-"
TICK_TASK = "summaries.tasks.run_schedule"
RUN_NOW_TASK = "summaries.tasks.run_schedule_now"
# A twin that fired this long ago and was not re-armed lost its task: arm it again (the claim keeps a
# task that was merely slow from running the slot twice).
REARM_AFTER = timedelta(minutes=5)
MAX_SCOPE_CHANNELS = 50
MAX_MESSAGES_THRESHOLD = 10_000

# What schedule_update accepts: the definition, not the state the runs keep.
EDITABLE_FIELDS = frozenset({
    "name", "channel_ids", "category_id", "whole_guild", "excluded_channel_ids", "frequency", "every_hours", "cron",
    "time_of_day", "weekdays", "day_of_month", "timezone", "lookback_hours", "format", "language", "min_messages",
    "mode", "discord_channel_id", "destination_ids", "enabled",
})
# What pausing and resuming change, as the audit log shows it.
_RUN_STATE = ("enabled", "paused_reason")
_TIMING_FIELDS = frozenset({"frequency", "every_hours", "cron", "time_of_day", "weekdays", "day_of_month", "timezone"})
# Channels a digest can read and post in (threads are summarized one by one, not swept in by a scope).
_POSTABLE_KINDS = (ChannelKind.TEXT, ChannelKind.ANNOUNCEMENT, *ChannelKind.threads())


# What the audit log keeps of a schedule: its definition and whether it runs (not the run bookkeeping).
_AUDITED_FIELDS = tuple(sorted(EDITABLE_FIELDS - {"destination_ids"})) + ("paused_reason",)


def _audited(schedule: Schedule, *, destinations: bool = True) -> dict[str, Any]:
    snapshot = audit_snapshot(schedule, _AUDITED_FIELDS)
    if destinations:
        snapshot["destination_ids"] = sorted(schedule.destinations.values_list("pk", flat=True))
    return snapshot


def _record(action: str, schedule: Schedule, changes: dict[str, Any] | None = None) -> None:
    audit_record(
        action=action, guild_id=schedule.guild_id, target_type="schedule", target_id=schedule.pk,
        target_label=schedule.name, changes=changes,
    )


def twin_name(schedule_id: int) -> str:
    return f"{TWIN_PREFIX}{schedule_id}"


def schedule_create(
    *,
    guild_id: int,
    name: str,
    frequency: str,
    channel_ids: Sequence[int] = (),
    category_id: int | None = None,
    whole_guild: bool = False,
    excluded_channel_ids: Sequence[int] = (),
    every_hours: int | None = None,
    cron: str = "",
    time_of_day: time | str | None = None,
    weekdays: Sequence[int] = (),
    day_of_month: int | None = None,
    timezone: str | None = None,
    lookback_hours: int | None = None,
    format: str = "",
    language: str = "",
    min_messages: int = 5,
    mode: str = ScheduleMode.PER_CHANNEL,
    discord_channel_id: int | None = None,
    destination_ids: Sequence[int] = (),
    enabled: bool = True,
) -> Schedule:
    """A new schedule of the guild, armed for its first slot (unless created disabled).

    Scope: `channel_ids`, or `category_id`, or `whole_guild` (exactly one; the last two minus
    `excluded_channel_ids`). `timezone` defaults to the guild's. Empty `format`/`language` follow each
    channel's defaults. `discord_channel_id` is where results are posted (empty: each channel itself).
    """
    guild = guild_get(guild_id=guild_id)
    schedule = Schedule(guild=guild, timezone=timezone or guild.timezone)
    _apply(schedule, {
        "name": name, "channel_ids": channel_ids, "category_id": category_id, "whole_guild": whole_guild,
        "excluded_channel_ids": excluded_channel_ids, "frequency": frequency, "every_hours": every_hours,
        "cron": cron, "time_of_day": time_of_day, "weekdays": weekdays, "day_of_month": day_of_month,
        "lookback_hours": lookback_hours, "format": format, "language": language, "min_messages": min_messages,
        "mode": mode, "discord_channel_id": discord_channel_id, "enabled": enabled,
    })
    destinations = _destinations(guild, destination_ids)
    _validate(schedule, guild)
    schedule.next_run_at = next_fire(schedule_timing(schedule), after=dj_timezone.now()) if enabled else None
    schedule.paused_reason = "" if enabled else "Created paused."
    with transaction.atomic():
        schedule.save()
        schedule.destinations.set(destinations)
        schedule_materialize(schedule=schedule)
        _record("schedule.create", schedule, audit_created(_audited(schedule)))
    logger.info("schedule created", extra={"schedule_id": schedule.pk, "guild_id": guild.id})
    return schedule


def schedule_update(*, guild_id: int, schedule_id: int, **changes: Any) -> Schedule:
    """Change any of EDITABLE_FIELDS (the arguments of schedule_create but `guild_id`); others are refused.

    A changed timing moves the next run to the new timetable's next slot; an unchanged one keeps it.
    `enabled=False`/`True` pauses/resumes, as schedule_pause/schedule_resume do.
    """
    unknown = sorted(set(changes) - EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"These schedule fields can't be changed: {', '.join(unknown)}.")
    with transaction.atomic():
        schedule = schedule_get(guild_id=guild_id, schedule_id=schedule_id, for_update=True)
        was_enabled, timing_before = schedule.enabled, schedule_timing(schedule)
        destination_ids = changes.pop("destination_ids", None)
        before = _audited(schedule, destinations=destination_ids is not None)
        _apply(schedule, changes)
        if "channel_ids" in changes or "category_id" in changes or "whole_guild" in changes:
            # A new scope replaces the old one: the fields not given are cleared, not combined with it.
            schedule.channel_ids = schedule.channel_ids if "channel_ids" in changes else []
            schedule.category_id = schedule.category_id if "category_id" in changes else None
            schedule.whole_guild = schedule.whole_guild if "whole_guild" in changes else False
        _validate(schedule, schedule.guild)
        now = dj_timezone.now()
        if not schedule.enabled:
            schedule.next_run_at = None
            if was_enabled:
                schedule.paused_reason = "Paused by an admin."
        elif not was_enabled or schedule_timing(schedule) != timing_before or schedule.next_run_at is None:
            schedule.next_run_at = next_fire(schedule_timing(schedule), after=now)
            schedule.paused_reason = ""
            if not was_enabled:
                schedule.consecutive_failures = 0
        schedule.save()
        if destination_ids is not None:
            schedule.destinations.set(_destinations(schedule.guild, destination_ids))
        schedule_materialize(schedule=schedule)
        diff = audit_diff(before, _audited(schedule, destinations=destination_ids is not None))
        if diff:
            _record("schedule.update", schedule, diff)
    return schedule


def schedule_delete(*, guild_id: int, schedule_id: int) -> None:
    """Delete the schedule and its twin; the summaries it made stay (their jobs forget the schedule)."""
    with transaction.atomic():
        schedule = schedule_get(guild_id=guild_id, schedule_id=schedule_id, for_update=True)
        _record("schedule.delete", schedule, audit_deleted(_audited(schedule)))
        QSchedule.objects.filter(name=twin_name(schedule.pk)).delete()
        schedule.delete()


def schedule_pause(*, guild_id: int, schedule_id: int, reason: str = "") -> Schedule:
    """Stop the schedule's runs until it is resumed; `reason` is shown with it (default: paused by an admin)."""
    with transaction.atomic():
        schedule = schedule_get(guild_id=guild_id, schedule_id=schedule_id, for_update=True)
        before = audit_snapshot(schedule, _RUN_STATE)
        schedule.enabled = False
        schedule.paused_reason = (reason or "Paused by an admin.")[:200]
        schedule.next_run_at = None
        schedule.save(update_fields=["enabled", "paused_reason", "next_run_at", "updated_at"])
        schedule_materialize(schedule=schedule)
        _record("schedule.pause", schedule, audit_diff(before, audit_snapshot(schedule, _RUN_STATE)))
    return schedule


def schedule_resume(*, guild_id: int, schedule_id: int) -> Schedule:
    """Run again from the next slot after now (slots missed while paused are not made up), failures forgiven."""
    with transaction.atomic():
        schedule = schedule_get(guild_id=guild_id, schedule_id=schedule_id, for_update=True)
        _validate(schedule, schedule.guild)  # a channel may have gone since it was paused
        before = audit_snapshot(schedule, _RUN_STATE)
        schedule.enabled = True
        schedule.paused_reason = ""
        schedule.consecutive_failures = 0
        schedule.next_run_at = next_fire(schedule_timing(schedule), after=dj_timezone.now())
        schedule.save(update_fields=["enabled", "paused_reason", "consecutive_failures", "next_run_at", "updated_at"])
        schedule_materialize(schedule=schedule)
        _record("schedule.resume", schedule, audit_diff(before, audit_snapshot(schedule, _RUN_STATE)))
    return schedule


def schedule_run_now(*, guild_id: int, schedule_id: int) -> datetime:
    """Queue one run for now (a paused schedule too), covering a regular run's length up to now.

    The regular timetable (`next_run_at`) is not touched. Returns the run's slot: its jobs are the
    schedule's jobs whose window ends then. Asking twice makes two runs; a redelivered task makes one.
    """
    from django_q.tasks import async_task

    schedule = schedule_get(guild_id=guild_id, schedule_id=schedule_id)
    slot = dj_timezone.now().replace(microsecond=0)
    pk = schedule.pk
    with transaction.atomic():
        _record("schedule.run_now", schedule)
        transaction.on_commit(lambda: async_task(
            RUN_NOW_TASK, pk, slot.isoformat(), task_name=f"schedule-{pk}-now-{int(slot.timestamp())}",
            group="schedules",
        ))
    return slot


def schedule_materialize(*, schedule: Schedule) -> None:
    """Make the schedule's django-q2 twin fire at its `next_run_at`, or remove it when there is none."""
    name = twin_name(schedule.pk)
    if not schedule.enabled or schedule.next_run_at is None:
        QSchedule.objects.filter(name=name).delete()
        return
    QSchedule.objects.update_or_create(
        name=name,
        defaults={
            "func": TICK_TASK, "args": repr(schedule.pk), "kwargs": None, "schedule_type": QSchedule.ONCE,
            "repeats": 1, "next_run": schedule.next_run_at, "intended_date_kwarg": "slot", "cluster": None,
        },
    )


def schedules_reconcile() -> int:
    """Every minute: each enabled schedule has one twin armed for its `next_run_at`, and no twin outlives its
    schedule. Returns how many twins were fixed. Needed when a twin was deleted by hand, a run's task was
    lost after django-q2 fired the twin, or an inline (sync) scheduler saved the spent twin over a re-arm."""
    now = dj_timezone.now()
    ours = {
        pk: (enabled, next_run_at)
        for pk, enabled, next_run_at in Schedule.objects.values_list("pk", "enabled", "next_run_at")
    }
    fixed = 0
    seen: set[int] = set()
    for twin in QSchedule.objects.filter(name__startswith=TWIN_PREFIX).order_by("pk"):
        pk = _pk_of(twin.name or "")
        enabled, next_run_at = ours.get(pk, (False, None)) if pk is not None else (False, None)
        if pk is None or pk in seen or not enabled or next_run_at is None:
            twin.delete()  # an orphan, a duplicate, or a paused schedule's leftover
            fixed += 1
            continue
        seen.add(pk)
        spent_long_ago = twin.repeats == 0 and next_run_at < now - REARM_AFTER
        if twin.next_run != next_run_at or spent_long_ago or twin.func != TICK_TASK:
            schedule_materialize(schedule=Schedule(pk=pk, enabled=True, next_run_at=next_run_at))
            fixed += 1
    for pk, (enabled, next_run_at) in ours.items():
        if enabled and next_run_at is not None and pk not in seen:
            schedule_materialize(schedule=Schedule(pk=pk, enabled=True, next_run_at=next_run_at))
            fixed += 1
    if fixed:
        logger.warning("re-armed or removed django-q2 schedule twins", extra={"count": fixed})
    return fixed


# --- Validation -------------------------------------------------------------------------------------


def _apply(schedule: Schedule, changes: dict[str, Any]) -> None:
    """Set the given fields, normalized (snowflake lists as ints, "HH:MM" as a time)."""
    for field, value in changes.items():
        if field in ("channel_ids", "excluded_channel_ids"):
            value = _snowflakes(field, value)
        elif field in ("category_id", "discord_channel_id"):
            value = _snowflake(field, value) if value not in (None, "") else None
        elif field == "time_of_day":
            value = parse_time_of_day(value)
        elif field == "weekdays":
            value = weekdays_of(_ints(field, value))
        elif field in ("name", "cron", "format", "language", "timezone"):
            value = (value or "").strip()
        setattr(schedule, field, value)


def _validate(schedule: Schedule, guild: Guild) -> None:
    if not schedule.name:
        raise InvalidInput("A schedule needs a name.")
    scopes = sum([bool(schedule.channel_ids), schedule.category_id is not None, bool(schedule.whole_guild)])
    if scopes != 1:
        raise InvalidInput("Choose one scope: a list of channel_ids, a category_id, or whole_guild.")
    if len(schedule.channel_ids) > MAX_SCOPE_CHANNELS:
        raise InvalidInput(f"A schedule can list at most {MAX_SCOPE_CHANNELS} channels; use a category or the whole server.")
    for channel_id in schedule.channel_ids:
        _guild_channel(guild, channel_id, what="channel")
    if schedule.category_id is not None:
        category = _guild_channel(guild, schedule.category_id, what="category")
        if category.kind != ChannelKind.CATEGORY:
            raise InvalidInput(f"#{category.name} is not a category.")
    if schedule.discord_channel_id is not None:
        target = _guild_channel(guild, schedule.discord_channel_id, what="channel to post in")
        if target.kind not in _POSTABLE_KINDS:
            raise InvalidInput(f"I can't post digests in #{target.name}; pick a text channel or a thread.")
    if schedule.mode not in ScheduleMode.values:
        raise InvalidInput(f"mode must be one of: {', '.join(ScheduleMode.values)}.")
    if schedule.mode == ScheduleMode.COMBINED and schedule.discord_channel_id is None:
        raise InvalidInput(
            "A combined digest (one post with a section per channel) needs a channel to post in: "
            "set discord_channel_id."
        )
    if schedule.format and schedule.format not in SummaryFormat.values:
        raise InvalidInput(f"format must be one of: {', '.join(SummaryFormat.values)}.")
    if schedule.language:
        try:
            validate_language(schedule.language)
        except ValidationError as exc:
            raise InvalidInput(exc.messages[0]) from None
    if schedule.lookback_hours is not None and not 1 <= schedule.lookback_hours <= MAX_LOOKBACK_HOURS:
        raise InvalidInput(f"lookback_hours must be between 1 and {MAX_LOOKBACK_HOURS} (31 days), or empty.")
    if not isinstance(schedule.min_messages, int) or not 1 <= schedule.min_messages <= MAX_MESSAGES_THRESHOLD:
        raise InvalidInput(f"min_messages must be between 1 and {MAX_MESSAGES_THRESHOLD}.")
    timing: ScheduleTiming = schedule_timing(schedule)
    timing.validate()
    # The timing-specific fields of other frequencies are dropped, so what is shown is what runs.
    schedule.every_hours = schedule.every_hours if timing.frequency == "every_n_hours" else None
    schedule.cron = schedule.cron if timing.frequency == "cron" else ""
    schedule.weekdays = schedule.weekdays if timing.frequency == "weekly" else []
    schedule.day_of_month = schedule.day_of_month if timing.frequency == "monthly" else None
    try:
        schedule.full_clean(exclude=["guild", "destinations"])
    except ValidationError as exc:
        raise InvalidInput("The schedule is not valid.", details=exc.message_dict) from None


def _guild_channel(guild: Guild, channel_id: int, *, what: str) -> Channel:
    channel = Channel.objects.filter(pk=channel_id, guild=guild, deleted_at__isnull=True).first()
    if channel is None:
        # Same answer for another guild's channel as for none: a guild learns nothing about another.
        raise NotFound(f"I don't know the {what} {channel_id} in this server.")
    return channel


def _destinations(guild: Guild, ids: Iterable[Any]) -> list[WebhookDestination]:
    wanted = set(_ints("destination_ids", ids))
    found = list(WebhookDestination.objects.filter(guild=guild, pk__in=wanted))
    missing = wanted - {destination.pk for destination in found}
    if missing:
        raise NotFound(f"No destination {', '.join(str(pk) for pk in sorted(missing))} in this server.")
    return found


def _snowflake(field: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be Discord ids (numbers), got {value!r}.") from None
    if number <= 0:
        raise InvalidInput(f"{field} must be Discord ids (numbers), got {value!r}.")
    return number


def _snowflakes(field: str, values: Any) -> list[int]:
    if values is None:
        return []
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidInput(f"{field} must be a list of Discord ids.")
    return list(dict.fromkeys(_snowflake(field, value) for value in values))


def _ints(field: str, values: Any) -> list[int]:
    if values is None:
        return []
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidInput(f"{field} must be a list of numbers.")
    try:
        return [int(value) for value in values]
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be a list of numbers.") from None


def _pk_of(name: str) -> int | None:
    suffix = name.removeprefix(TWIN_PREFIX)
    return int(suffix) if suffix.isdigit() else None
