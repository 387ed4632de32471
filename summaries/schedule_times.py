"""When a schedule fires, and what window each run covers: pure functions of a timing and an instant.

Times are computed in the schedule's IANA time zone, so a daily 09:00 Europe/Berlin digest stays at 09:00
local through DST changes. Wall-clock times that do not exist (the spring-forward gap) fire at the first
instant after the gap; wall-clock times that happen twice (fall back) fire once, at the first of them.
Hourly and every-N-hours (N not dividing 24) schedules count real hours instead: they fire every hour
through a DST change, both occurrences of the repeated hour included.

All instants in and out are aware datetimes; the results are in UTC. Nothing here knows Django models.
"""

from __future__ import annotations

import calendar
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from croniter import croniter

from summarybot.errors import InvalidInput

HOURLY = "hourly"
EVERY_N_HOURS = "every_n_hours"
DAILY = "daily"
WEEKLY = "weekly"
MONTHLY = "monthly"
CRON = "cron"
FREQUENCIES = (HOURLY, EVERY_N_HOURS, DAILY, WEEKLY, MONTHLY, CRON)

MAX_EVERY_HOURS = 168
MAX_LOOKBACK_HOURS = 744  # 31 days: a monthly digest
# Every-N-hours schedules whose N does not divide a day count from this fixed local midnight, so editing
# anything else about the schedule never shifts its slots.
_ANCHOR_DAY = date(2024, 1, 1)
# Long enough to find the next fire of any valid timing (a monthly one on the 31st: two months).
_SEARCH_DAYS = 400
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class ScheduleTiming:
    """What a frequency reads: hourly the minute of `time_of_day`; every_n_hours `every_hours` (and its
    first slot of the day, `time_of_day`, default midnight); daily `time_of_day`; weekly `weekdays` and
    `time_of_day`; monthly `day_of_month` and `time_of_day`; cron `cron` (five fields, local time)."""

    frequency: str
    timezone: str = "UTC"
    time_of_day: time | None = None
    every_hours: int | None = None
    weekdays: tuple[int, ...] = ()
    day_of_month: int | None = None
    cron: str = ""

    def validate(self) -> None:
        """InvalidInput with a message a guild admin can act on; nothing when the timing is usable."""
        if self.frequency not in FREQUENCIES:
            raise InvalidInput(f"frequency must be one of: {', '.join(FREQUENCIES)}.")
        _zone(self.timezone)
        if self.frequency == EVERY_N_HOURS and (self.every_hours is None or not 1 <= self.every_hours <= MAX_EVERY_HOURS):
            raise InvalidInput(f"An every-N-hours schedule needs every_hours between 1 and {MAX_EVERY_HOURS}.")
        if self.frequency in (DAILY, WEEKLY, MONTHLY) and self.time_of_day is None:
            raise InvalidInput(f"A {self.frequency} schedule needs a time of day (HH:MM).")
        if self.frequency == WEEKLY:
            if not self.weekdays:
                raise InvalidInput("A weekly schedule needs at least one weekday (0 = Monday … 6 = Sunday).")
            if any(not isinstance(day, int) or not 0 <= day <= 6 for day in self.weekdays):
                raise InvalidInput("weekdays are numbers from 0 (Monday) to 6 (Sunday).")
        if self.frequency == MONTHLY and (self.day_of_month is None or not 1 <= self.day_of_month <= 31):
            raise InvalidInput(
                "A monthly schedule needs day_of_month between 1 and 31 (29-31 run on the last day of shorter months)."
            )
        if self.frequency == CRON:
            _check_cron(self.cron)
            try:
                next_fire(self, after=datetime(2024, 1, 1, tzinfo=UTC))
            except (InvalidInput, ValueError, KeyError, ArithmeticError):
                raise InvalidInput(f"The cron expression {self.cron!r} never fires (e.g. on February 30).") from None


def parse_time_of_day(value: time | str | None) -> time | None:
    """"HH:MM" (or a time) to a time; InvalidInput on anything else."""
    if value is None or isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None) if isinstance(value, time) else None
    try:
        hours, minutes = value.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise InvalidInput(f"time_of_day must be HH:MM (24-hour), got {value!r}.") from None


def next_fire(timing: ScheduleTiming, *, after: datetime) -> datetime:
    """The first instant strictly after `after` at which the schedule fires (UTC)."""
    zone = _zone(timing.timezone)
    after = after.astimezone(UTC)
    if timing.frequency == HOURLY:
        return _next_hourly(zone, (timing.time_of_day or time(0)).minute, after)
    if timing.frequency == EVERY_N_HOURS and 24 % (timing.every_hours or 1) != 0:
        return _next_every_n_hours_absolute(zone, timing, after)
    if timing.frequency == CRON:
        return _next_cron(zone, timing.cron, after)
    return _next_wall_clock(zone, timing, after)


def next_fires(timing: ScheduleTiming, *, after: datetime, count: int) -> list[datetime]:
    """The next `count` fires after `after` (UTC), once the timing is valid (InvalidInput otherwise): what a
    form previews before the schedule is saved."""
    timing.validate()
    fires: list[datetime] = []
    for _ in range(count):
        after = next_fire(timing, after=after)
        fires.append(after)
    return fires


def previous_fire(timing: ScheduleTiming, *, before: datetime) -> datetime:
    """The last instant strictly before `before` at which the schedule fires (UTC)."""
    before = before.astimezone(UTC)
    # Step back by a span sure to hold a fire, then walk forward to the last one before `before`.
    span = _period_bound(timing)
    for _ in range(16):
        start = before - span
        fire = next_fire(timing, after=start)
        if fire < before:
            while (following := next_fire(timing, after=fire)) < before:
                fire = following
            return fire
        span *= 2
    raise InvalidInput("This schedule never fired before that time.")  # validate() makes this unreachable


def latest_fire_at_or_before(timing: ScheduleTiming, *, slot: datetime, now: datetime) -> datetime:
    """From a due `slot`, the latest fire that is not after `now`: after downtime, the one missed slot
    that may still be worth running (earlier missed slots are not run at all)."""
    latest = slot
    while (following := next_fire(timing, after=latest)) <= now:
        latest = following
    return latest


def run_window(timing: ScheduleTiming, *, slot: datetime, lookback_hours: int | None) -> tuple[datetime, datetime]:
    """The (since, until) a run at `slot` summarizes.

    Without an explicit lookback it is the time since the previous fire: 1 h hourly, N h every N hours,
    24 h daily (23 or 25 h across a DST change, so no hour is lost or summarized twice), 7 days weekly on
    one day (the gap since the previous chosen weekday otherwise), a month monthly, the gap between two
    fires for a cron expression.
    """
    if lookback_hours:
        return slot - timedelta(hours=lookback_hours), slot
    return previous_fire(timing, before=slot), slot


def period_window(timing: ScheduleTiming, *, until: datetime, lookback_hours: int | None) -> tuple[datetime, datetime]:
    """The window of a run asked for outside the timetable ("run now"): a regular run's length, ending `until`."""
    if lookback_hours:
        return until - timedelta(hours=lookback_hours), until
    last = previous_fire(timing, before=until + timedelta(microseconds=1))
    return until - (last - previous_fire(timing, before=last)), until


def chunk_boundaries(timing: ScheduleTiming, *, since: datetime, until: datetime) -> tuple[datetime, ...]:
    """The instants a run's window [since, until) is planned in pieces between, its two ends included.

    Each piece is meant to be some shorter run's whole window, whose chunk summaries the engine's cache
    already holds: the run slots for hourly, every-N-hours, daily and cron schedules (a daily run with a
    48 h lookback is two daily windows), and local days starting at the schedule's time of day for weekly
    and monthly ones (so a weekly digest on Monday 09:00 reuses a daily 09:00 digest of the same zone).
    """
    if timing.frequency in (WEEKLY, MONTHLY):
        timing = ScheduleTiming(DAILY, timezone=timing.timezone, time_of_day=timing.time_of_day or time(0))
    since, until = since.astimezone(UTC), until.astimezone(UTC)
    instants = [since]
    fire = next_fire(timing, after=since)
    while fire < until:
        instants.append(fire)
        fire = next_fire(timing, after=fire)
    instants.append(until)
    return tuple(instants)


def describe(timing: ScheduleTiming) -> str:
    """One line for lists and notices: "daily at 09:00 (Europe/Berlin)"."""
    at = timing.time_of_day.strftime("%H:%M") if timing.time_of_day else "00:00"
    zone = f" ({timing.timezone})"
    if timing.frequency == HOURLY:
        return f"hourly at :{at[3:]}{zone}"
    if timing.frequency == EVERY_N_HOURS:
        return f"every {timing.every_hours} hours from {at}{zone}"
    if timing.frequency == DAILY:
        return f"daily at {at}{zone}"
    if timing.frequency == WEEKLY:
        days = ", ".join(_WEEKDAY_NAMES[day] for day in sorted(set(timing.weekdays)) if 0 <= day <= 6)
        return f"weekly on {days} at {at}{zone}"
    if timing.frequency == MONTHLY:
        return f"monthly on day {timing.day_of_month} at {at}{zone}"
    return f"cron {timing.cron!r}{zone}"


# --- Internals --------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    if not name or name not in _zone_names():
        raise InvalidInput(f"{name!r} is not an IANA time zone name (e.g. Europe/Berlin, America/New_York, UTC).")
    return zoneinfo.ZoneInfo(name)


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _check_cron(expression: str) -> None:
    fields = expression.split()
    if len(fields) != 5 or not croniter.is_valid(expression):
        raise InvalidInput(
            f"{expression!r} is not a cron expression of five fields (minute hour day month weekday), "
            "e.g. '0 9 * * 1-5' for 09:00 on weekdays."
        )
    minutes = croniter(expression).expanded[0]
    if len(minutes) != 1 or minutes[0] == "*":
        raise InvalidInput(
            "A cron schedule runs at most once an hour: give a single minute (e.g. '0 9-17 * * 1-5', not '*/15 * * * *')."
        )


def _period_bound(timing: ScheduleTiming) -> timedelta:
    if timing.frequency == HOURLY:
        return timedelta(hours=2)
    if timing.frequency == EVERY_N_HOURS:
        return timedelta(hours=(timing.every_hours or 1) + 2)
    if timing.frequency == DAILY:
        return timedelta(days=2)
    if timing.frequency == WEEKLY:
        return timedelta(days=8)
    return timedelta(days=63)


def _resolve(zone: zoneinfo.ZoneInfo, day: date, at: time) -> datetime:
    """The one instant (UTC) a local wall-clock time stands for: the first of two in a repeated hour, the
    end of the gap for a time skipped by a spring-forward."""
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
        return first.astimezone(UTC)
    # In the gap: fold=1 reads it with the later offset (an instant before the gap), fold=0 with the
    # earlier one (after it). The first instant whose wall clock is past `wall` is where the gap ends.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first.astimezone(UTC)
    low, high = min(low, high), max(low, high)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) > wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def _day_times(timing: ScheduleTiming) -> list[time]:
    first = timing.time_of_day or time(0)
    if timing.frequency != EVERY_N_HOURS:
        return [first]
    step = timing.every_hours or 1
    return sorted(time((first.hour + k * step) % 24, first.minute) for k in range(24 // step))


def _day_matches(timing: ScheduleTiming, day: date) -> bool:
    if timing.frequency == WEEKLY:
        return day.weekday() in timing.weekdays
    if timing.frequency == MONTHLY:
        last = calendar.monthrange(day.year, day.month)[1]
        return day.day == min(timing.day_of_month or 1, last)
    return True


def _next_wall_clock(zone: zoneinfo.ZoneInfo, timing: ScheduleTiming, after: datetime) -> datetime:
    times = _day_times(timing)
    day = after.astimezone(zone).date() - timedelta(days=1)
    for _ in range(_SEARCH_DAYS):
        if _day_matches(timing, day):
            for at in times:
                instant = _resolve(zone, day, at)
                if instant > after:
                    return instant
        day += timedelta(days=1)
    raise InvalidInput("This schedule never fires.")  # validate() makes this unreachable


def _next_hourly(zone: zoneinfo.ZoneInfo, minute: int, after: datetime) -> datetime:
    # Real hours: the first whole minute after `after` whose local minute is `minute` (zones that are
    # off by 30 or 45 minutes from UTC included).
    candidate = after.replace(second=0, microsecond=0)
    for _ in range(121):
        candidate += timedelta(minutes=1)
        if candidate.astimezone(zone).minute == minute:
            return candidate
    raise InvalidInput("This schedule never fires.")  # unreachable: every zone has each minute each hour


def _next_every_n_hours_absolute(zone: zoneinfo.ZoneInfo, timing: ScheduleTiming, after: datetime) -> datetime:
    step = timedelta(hours=timing.every_hours or 1)
    anchor = _resolve(zone, _ANCHOR_DAY, timing.time_of_day or time(0))
    steps = (after - anchor) // step + 1
    return anchor + steps * step


def _next_cron(zone: zoneinfo.ZoneInfo, expression: str, after: datetime) -> datetime:
    # croniter walks local wall-clock times (naive, so it has no DST opinion); each is resolved like any
    # other wall-clock time, and times that resolve to an instant not after `after` (a repeated hour, a gap
    # that collapses several times into one instant) are passed over.
    local = after.astimezone(zone).replace(tzinfo=None) - timedelta(hours=3)
    walker = croniter(expression, local)
    for _ in range(10_000):
        wall: datetime = walker.get_next(datetime)
        instant = _resolve(zone, wall.date(), wall.time())
        if instant > after:
            return instant
    raise InvalidInput(f"The cron expression {expression!r} never fires.")


def timing_of(
    *,
    frequency: str,
    timezone: str,
    time_of_day: time | None,
    every_hours: int | None,
    weekdays: Iterable[int] | None,
    day_of_month: int | None,
    cron: str,
) -> ScheduleTiming:
    return ScheduleTiming(
        frequency=frequency, timezone=timezone, time_of_day=time_of_day, every_hours=every_hours,
        weekdays=tuple(weekdays or ()), day_of_month=day_of_month, cron=cron or "",
    )


def weekdays_of(value: Sequence[int] | None) -> list[int]:
    """A weekday list as stored: sorted, no repeats."""
    return sorted(set(value or ()))
