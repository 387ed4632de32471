"""When schedules fire, in their own time zone, across DST changes; and the window each run covers."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from summaries.schedule_times import (
    ScheduleTiming,
    chunk_boundaries,
    next_fire,
    period_window,
    previous_fire,
    run_window,
)
from summarybot.errors import InvalidInput

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def fires(timing: ScheduleTiming, after: datetime, count: int) -> list[datetime]:
    out = []
    for _ in range(count):
        after = next_fire(timing, after=after)
        out.append(after)
    return out


def local(instants: list[datetime], zone: ZoneInfo) -> list[str]:
    return [i.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") for i in instants]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_daily_at_nine_in_berlin_stays_at_nine_local_across_spring_forward():
    timing = ScheduleTiming(frequency="daily", timezone="Europe/Berlin", time_of_day=time(9))
    got = fires(timing, utc(2024, 3, 29, 12), 3)
    assert local(got, BERLIN) == ["2024-03-30 09:00 CET", "2024-03-31 09:00 CEST", "2024-04-01 09:00 CEST"]
    # 23 real hours on the day the clocks jump.
    assert got[1] - got[0] == timedelta(hours=23)


def test_daily_at_nine_in_berlin_stays_at_nine_local_across_fall_back():
    timing = ScheduleTiming(frequency="daily", timezone="Europe/Berlin", time_of_day=time(9))
    got = fires(timing, utc(2024, 10, 26, 0), 2)
    assert local(got, BERLIN) == ["2024-10-26 09:00 CEST", "2024-10-27 09:00 CET"]
    assert got[1] - got[0] == timedelta(hours=25)


def test_a_time_in_the_spring_forward_gap_fires_at_the_first_instant_after_it():
    # 02:30 does not exist in Berlin on 2024-03-31 (02:00 -> 03:00): it runs at 03:00 CEST.
    timing = ScheduleTiming(frequency="daily", timezone="Europe/Berlin", time_of_day=time(2, 30))
    got = fires(timing, utc(2024, 3, 30, 12), 2)
    assert local(got, BERLIN) == ["2024-03-31 03:00 CEST", "2024-04-01 02:30 CEST"]
    # New York's gap (2024-03-10, 02:00 -> 03:00), through a cron expression.
    cron = ScheduleTiming(frequency="cron", timezone="America/New_York", cron="30 2 * * *")
    assert local(fires(cron, utc(2024, 3, 9, 12), 2), NEW_YORK) == ["2024-03-10 03:00 EDT", "2024-03-11 02:30 EDT"]


def test_a_time_in_the_repeated_hour_fires_once():
    timing = ScheduleTiming(frequency="daily", timezone="America/New_York", time_of_day=time(1, 30))
    got = fires(timing, utc(2024, 11, 2, 12), 2)
    # 01:30 happens twice on 2024-11-03 in New York; the first (EDT) one runs, the second does not.
    assert local(got, NEW_YORK) == ["2024-11-03 01:30 EDT", "2024-11-04 01:30 EST"]
    cron = ScheduleTiming(frequency="cron", timezone="Europe/Berlin", cron="30 2 * * *")
    assert local(fires(cron, utc(2024, 10, 26, 12), 2), BERLIN) == ["2024-10-27 02:30 CEST", "2024-10-28 02:30 CET"]


def test_hourly_counts_real_hours_through_both_dst_changes():
    timing = ScheduleTiming(frequency="hourly", timezone="Europe/Berlin", time_of_day=time(0, 15))
    back = fires(timing, utc(2024, 10, 26, 23, 30), 4)
    assert local(back, BERLIN) == [
        "2024-10-27 02:15 CEST", "2024-10-27 02:15 CET", "2024-10-27 03:15 CET", "2024-10-27 04:15 CET",
    ]
    forward = fires(timing, utc(2024, 3, 31, 0, 30), 2)
    assert local(forward, BERLIN) == ["2024-03-31 03:15 CEST", "2024-03-31 04:15 CEST"]
    assert all(b - a == timedelta(hours=1) for a, b in zip(back, back[1:], strict=False))


def test_hourly_in_a_half_hour_zone_fires_at_the_local_minute():
    timing = ScheduleTiming(frequency="hourly", timezone="Asia/Kolkata", time_of_day=time(0, 0))
    assert [f.minute for f in fires(timing, utc(2024, 1, 1), 2)] == [30, 30]


def test_every_n_hours_dividing_a_day_keeps_local_times_and_others_count_hours():
    six = ScheduleTiming(frequency="every_n_hours", timezone="Europe/Berlin", every_hours=6, time_of_day=time(3))
    assert local(fires(six, utc(2024, 3, 30, 19), 4), BERLIN) == [
        "2024-03-30 21:00 CET", "2024-03-31 03:00 CEST", "2024-03-31 09:00 CEST", "2024-03-31 15:00 CEST",
    ]
    five = ScheduleTiming(frequency="every_n_hours", timezone="Europe/Berlin", every_hours=5)
    got = fires(five, utc(2024, 3, 30, 20), 4)
    assert all(b - a == timedelta(hours=5) for a, b in zip(got, got[1:], strict=False))
    week = ScheduleTiming(frequency="every_n_hours", timezone="UTC", every_hours=168)
    got = fires(week, utc(2024, 5, 1), 2)
    assert got[1] - got[0] == timedelta(days=7)


def test_weekly_on_chosen_days():
    timing = ScheduleTiming(frequency="weekly", timezone="America/New_York", time_of_day=time(17), weekdays=(0, 4))
    got = fires(timing, utc(2024, 3, 6), 4)  # a Wednesday
    assert local(got, NEW_YORK) == [
        "2024-03-08 17:00 EST", "2024-03-11 17:00 EDT", "2024-03-15 17:00 EDT", "2024-03-18 17:00 EDT",
    ]


def test_monthly_on_the_31st_runs_on_the_last_day_of_shorter_months():
    timing = ScheduleTiming(frequency="monthly", timezone="Europe/Berlin", time_of_day=time(8), day_of_month=31)
    got = fires(timing, utc(2024, 1, 15), 4)
    assert local(got, BERLIN) == [
        "2024-01-31 08:00 CET", "2024-02-29 08:00 CET", "2024-03-31 08:00 CEST", "2024-04-30 08:00 CEST",
    ]


def test_cron_in_local_time():
    timing = ScheduleTiming(frequency="cron", timezone="Europe/Berlin", cron="0 9-17/4 * * 1-5")
    got = fires(timing, utc(2024, 6, 7, 12), 4)  # a Friday, 14:00 local
    assert local(got, BERLIN) == [
        "2024-06-07 17:00 CEST", "2024-06-10 09:00 CEST", "2024-06-10 13:00 CEST", "2024-06-10 17:00 CEST",
    ]


def test_next_fire_is_strictly_after_and_previous_fire_strictly_before():
    timing = ScheduleTiming(frequency="daily", timezone="UTC", time_of_day=time(9))
    nine = utc(2024, 5, 2, 9)
    assert next_fire(timing, after=nine) == utc(2024, 5, 3, 9)
    assert previous_fire(timing, before=nine) == utc(2024, 5, 1, 9)


@pytest.mark.parametrize(
    ("timing", "slot", "hours"),
    [
        (ScheduleTiming(frequency="hourly", timezone="Europe/Berlin"), utc(2024, 5, 2, 9), 1),
        (ScheduleTiming(frequency="every_n_hours", timezone="UTC", every_hours=8), utc(2024, 5, 2, 8), 8),
        (ScheduleTiming(frequency="daily", timezone="Europe/Berlin", time_of_day=time(9)), utc(2024, 5, 2, 7), 24),
        (ScheduleTiming(frequency="weekly", timezone="UTC", time_of_day=time(9), weekdays=(3,)), utc(2024, 5, 2, 9), 168),
        (ScheduleTiming(frequency="cron", timezone="UTC", cron="0 9 * * 1,4"), utc(2024, 5, 2, 9), 72),
        # The day the clocks go back in Berlin is 25 hours long: the window covers all of it.
        (ScheduleTiming(frequency="daily", timezone="Europe/Berlin", time_of_day=time(9)), utc(2024, 10, 27, 8), 25),
    ],
)
def test_the_default_window_is_the_time_since_the_previous_fire(timing, slot, hours):
    since, until = run_window(timing, slot=slot, lookback_hours=None)
    assert (until, until - since) == (slot, timedelta(hours=hours))


def test_a_monthly_window_is_the_month_and_an_explicit_lookback_wins():
    timing = ScheduleTiming(frequency="monthly", timezone="UTC", time_of_day=time(0), day_of_month=1)
    since, until = run_window(timing, slot=utc(2024, 3, 1), lookback_hours=None)
    assert since == utc(2024, 2, 1)
    assert run_window(timing, slot=utc(2024, 3, 1), lookback_hours=6)[0] == utc(2024, 2, 29, 18)


def test_a_run_now_window_is_one_regular_period_ending_now():
    timing = ScheduleTiming(frequency="daily", timezone="UTC", time_of_day=time(9))
    now = utc(2024, 5, 2, 15, 30)
    assert period_window(timing, until=now, lookback_hours=None) == (now - timedelta(hours=24), now)


@pytest.mark.parametrize(
    ("timing", "words"),
    [
        (ScheduleTiming(frequency="fortnightly"), "frequency must be one of"),
        (ScheduleTiming(frequency="daily", timezone="Mars/Olympus", time_of_day=time(9)), "not an IANA time zone"),
        (ScheduleTiming(frequency="daily"), "needs a time of day"),
        (ScheduleTiming(frequency="weekly", time_of_day=time(9)), "at least one weekday"),
        (ScheduleTiming(frequency="weekly", time_of_day=time(9), weekdays=(7,)), "0 (Monday) to 6 (Sunday)"),
        (ScheduleTiming(frequency="monthly", time_of_day=time(9), day_of_month=32), "between 1 and 31"),
        (ScheduleTiming(frequency="every_n_hours", every_hours=0), "between 1 and 168"),
        (ScheduleTiming(frequency="every_n_hours", every_hours=169), "between 1 and 168"),
        (ScheduleTiming(frequency="cron", cron="every day at nine"), "not a cron expression"),
        (ScheduleTiming(frequency="cron", cron="0 9 * *"), "five fields"),
        (ScheduleTiming(frequency="cron", cron="*/15 * * * *"), "at most once an hour"),
        (ScheduleTiming(frequency="cron", cron="0 0 30 2 *"), "never fires"),
    ],
)
def test_invalid_timings_are_refused_with_a_readable_reason(timing, words):
    with pytest.raises(InvalidInput) as excinfo:
        timing.validate()
    assert words in excinfo.value.message


# --- where a run's window is planned in pieces (rolling digests) --------------------------------------


def test_a_daily_runs_window_is_one_piece():
    timing = ScheduleTiming(frequency="daily", timezone="Europe/Berlin", time_of_day=time(9))
    since, until = run_window(timing, slot=utc(2026, 3, 10, 8), lookback_hours=None)
    assert chunk_boundaries(timing, since=since, until=until) == (since, until)


def test_a_weekly_window_is_cut_at_the_daily_slots_of_its_time_of_day_across_dst():
    # The week of the spring-forward in Berlin: each piece is a daily 09:00 run's window (one is 23 h long).
    weekly = ScheduleTiming(frequency="weekly", timezone="Europe/Berlin", time_of_day=time(9), weekdays=(0,))
    daily = ScheduleTiming(frequency="daily", timezone="Europe/Berlin", time_of_day=time(9))
    slot = utc(2026, 3, 30, 7)  # Monday 09:00 CEST
    since, until = run_window(weekly, slot=slot, lookback_hours=None)
    boundaries = chunk_boundaries(weekly, since=since, until=until)
    assert len(boundaries) == 8
    assert set(local(list(boundaries), BERLIN)) == {
        f"2026-03-{day} 09:00 {'CEST' if day >= 29 else 'CET'}" for day in range(23, 31)
    }
    for start, end in zip(boundaries, boundaries[1:], strict=False):
        assert run_window(daily, slot=end, lookback_hours=None) == (start, end)


def test_an_hourly_window_with_a_lookback_is_cut_at_its_run_slots():
    timing = ScheduleTiming(frequency="hourly", timezone="UTC", time_of_day=time(0, 15))
    since, until = run_window(timing, slot=utc(2026, 5, 1, 12, 15), lookback_hours=3)
    assert chunk_boundaries(timing, since=since, until=until) == (
        utc(2026, 5, 1, 9, 15), utc(2026, 5, 1, 10, 15), utc(2026, 5, 1, 11, 15), utc(2026, 5, 1, 12, 15),
    )


def test_a_run_now_window_keeps_its_own_ends():
    timing = ScheduleTiming(frequency="daily", timezone="UTC", time_of_day=time(9))
    since, until = utc(2026, 5, 1, 14, 30), utc(2026, 5, 2, 14, 30)
    assert chunk_boundaries(timing, since=since, until=until) == (since, utc(2026, 5, 2, 9), until)
