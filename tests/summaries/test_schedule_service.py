"""Schedules through their services: definitions, django-q2 twins, slot claims, missed runs, scopes, counting.

Time is frozen with time-machine; nothing here reaches Discord (the runs' jobs are created, not run: see
test_schedule_runs.py for that).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone
from django_q.models import Schedule as QSchedule

from guilds.models import ChannelKind
from summaries.models import JobSource, JobStatus, Schedule, SummaryJob
from summaries.selectors import schedule_get, schedules_for_guild
from summaries.services.schedule_runs import schedule_job_finished, schedule_tick
from summaries.services.schedules import (
    schedule_create,
    schedule_delete,
    schedule_materialize,
    schedule_pause,
    schedule_resume,
    schedule_run_now,
    schedule_update,
    schedules_reconcile,
    twin_name,
)
from summaries.tasks import run_schedule, run_schedule_now
from summarybot.errors import InvalidInput, NotFound
from tests.factories import ChannelFactory, GuildFactory

pytestmark = pytest.mark.django_db

MAY_2 = datetime(2024, 5, 2, 12, 0, tzinfo=UTC)


def twins() -> list[QSchedule]:
    return list(QSchedule.objects.filter(name__startswith="summarybot-schedule-"))


def daily(guild, channels, **overrides) -> Schedule:  # type: ignore[no-untyped-def]
    fields = {"name": "standup digest", "frequency": "daily", "time_of_day": "09:00", "timezone": "UTC"}
    fields.update(overrides)
    if not any(k in fields for k in ("category_id", "whole_guild")):
        fields.setdefault("channel_ids", [c.id for c in channels])
    return schedule_create(guild_id=guild.id, **fields)


def jobs_of(schedule: Schedule) -> list[SummaryJob]:
    return list(SummaryJob.objects.filter(schedule=schedule).order_by("channel_id"))


@pytest.fixture
def guild():  # type: ignore[no-untyped-def]
    return GuildFactory(timezone="Europe/Berlin", max_concurrent_jobs=1)


# --- Definitions and their twins ----------------------------------------------------------------------


@time_machine.travel(MAY_2, tick=False)
def test_a_new_schedule_is_armed_in_its_time_zone_with_one_django_q_twin(guild):
    general = ChannelFactory(guild=guild)
    schedule = schedule_create(guild_id=guild.id, name="daily", frequency="daily", time_of_day="09:00",
                               channel_ids=[str(general.id)])

    assert schedule.timezone == "Europe/Berlin"  # the guild's
    assert schedule.channel_ids == [general.id]
    assert schedule.next_run_at == datetime(2024, 5, 3, 7, 0, tzinfo=UTC)  # 09:00 CEST tomorrow
    [twin] = twins()
    assert (twin.name, twin.func, twin.schedule_type, twin.repeats) == (
        twin_name(schedule.pk), "summaries.tasks.run_schedule", QSchedule.ONCE, 1,
    )
    assert twin.next_run == schedule.next_run_at and twin.intended_date_kwarg == "slot"


@time_machine.travel(MAY_2, tick=False)
def test_saving_again_never_duplicates_the_twin_and_keeps_an_unchanged_timetable(guild):
    general, dev = ChannelFactory(guild=guild), ChannelFactory(guild=guild)
    schedule = daily(guild, [general])
    first_slot = schedule.next_run_at

    schedule_update(guild_id=guild.id, schedule_id=schedule.pk, name="renamed", channel_ids=[general.id, dev.id])
    schedule_update(guild_id=guild.id, schedule_id=schedule.pk, min_messages=10)
    schedule_materialize(schedule=Schedule.objects.get(pk=schedule.pk))

    schedule.refresh_from_db()
    assert (schedule.name, schedule.channel_ids, schedule.min_messages) == ("renamed", [general.id, dev.id], 10)
    assert schedule.next_run_at == first_slot
    assert [t.next_run for t in twins()] == [first_slot]

    schedule_update(guild_id=guild.id, schedule_id=schedule.pk, frequency="weekly", weekdays=[4], time_of_day="17:30")
    schedule.refresh_from_db()
    assert schedule.next_run_at == datetime(2024, 5, 3, 17, 30, tzinfo=UTC)  # Friday, UTC as created
    assert [t.next_run for t in twins()] == [schedule.next_run_at]


@time_machine.travel(MAY_2, tick=False)
def test_pause_removes_the_twin_and_resume_rearms_from_now_forgiving_failures(guild):
    schedule = daily(guild, [ChannelFactory(guild=guild)])
    Schedule.objects.filter(pk=schedule.pk).update(consecutive_failures=2)

    paused = schedule_pause(guild_id=guild.id, schedule_id=schedule.pk, reason="holidays")
    assert (paused.enabled, paused.paused_reason, paused.next_run_at, twins()) == (False, "holidays", None, [])

    with time_machine.travel(MAY_2 + timedelta(days=3), tick=False):
        resumed = schedule_resume(guild_id=guild.id, schedule_id=schedule.pk)
    assert (resumed.enabled, resumed.paused_reason, resumed.consecutive_failures) == (True, "", 0)
    assert resumed.next_run_at == datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
    assert [t.next_run for t in twins()] == [resumed.next_run_at]

    schedule_update(guild_id=guild.id, schedule_id=schedule.pk, enabled=False)
    assert twins() == [] and Schedule.objects.get(pk=schedule.pk).paused_reason == "Paused by an admin."


def test_delete_removes_the_schedule_and_its_twin_but_keeps_its_summaries(guild):
    channel = ChannelFactory(guild=guild)
    schedule = daily(guild, [channel])
    with time_machine.travel(schedule.next_run_at, tick=False):
        schedule_tick(schedule_id=schedule.pk, slot=schedule.next_run_at)
    schedule_delete(guild_id=guild.id, schedule_id=schedule.pk)
    assert not Schedule.objects.exists() and twins() == []
    assert SummaryJob.objects.get().schedule is None


def test_another_guilds_schedule_is_not_found(guild):
    schedule = daily(guild, [ChannelFactory(guild=guild)])
    other = GuildFactory()
    daily(other, [ChannelFactory(guild=other)], name="theirs")
    with pytest.raises(NotFound):
        schedule_get(guild_id=other.id, schedule_id=schedule.pk)
    with pytest.raises(NotFound):
        schedule_pause(guild_id=other.id, schedule_id=schedule.pk)
    with pytest.raises(NotFound):
        schedule_get(guild_id=guild.id, schedule_id="not-a-number")
    assert [s.name for s in schedules_for_guild(guild_id=guild.id)] == ["standup digest"]


@pytest.mark.parametrize(
    ("overrides", "error", "words"),
    [
        ({"whole_guild": True, "category_id": 5}, InvalidInput, "Choose one scope"),
        ({"channel_ids": []}, InvalidInput, "Choose one scope"),
        ({"mode": "combined"}, InvalidInput, "needs a channel to post in"),
        ({"frequency": "weekly", "weekdays": []}, InvalidInput, "at least one weekday"),
        ({"frequency": "cron", "cron": "0 9 * *"}, InvalidInput, "five fields"),
        ({"timezone": "Europe/Atlantis"}, InvalidInput, "IANA"),
        ({"time_of_day": "9 o'clock"}, InvalidInput, "HH:MM"),
        ({"lookback_hours": 745}, InvalidInput, "between 1 and 744"),
        ({"min_messages": 0}, InvalidInput, "min_messages"),
        ({"format": "haiku"}, InvalidInput, "format must be one of"),
        ({"channel_ids": [123]}, NotFound, "channel 123"),
        ({"discord_channel_id": 456}, NotFound, "channel to post in 456"),
        ({"destination_ids": [789]}, NotFound, "destination 789"),
    ],
)
def test_a_bad_definition_is_refused_with_a_reason_and_writes_nothing(guild, overrides, error, words):
    with pytest.raises(error) as excinfo:
        daily(guild, [ChannelFactory(guild=guild)], **overrides)
    assert words in excinfo.value.message
    assert not Schedule.objects.exists() and twins() == []


def test_a_channel_of_another_guild_is_refused_like_an_unknown_one(guild):
    with pytest.raises(NotFound, match="I don't know the channel"):
        daily(guild, [ChannelFactory()])
    with pytest.raises(InvalidInput, match="can't be changed"):
        schedule_update(guild_id=guild.id, schedule_id=daily(guild, [ChannelFactory(guild=guild)]).pk,
                        consecutive_failures=0)


def test_reconcile_rearms_a_lost_twin_and_drops_orphans(guild):
    schedule = daily(guild, [ChannelFactory(guild=guild)])
    QSchedule.objects.all().delete()
    QSchedule.objects.create(name=twin_name(999_999), func="summaries.tasks.run_schedule", schedule_type="O")
    assert schedules_reconcile() == 2
    assert [(t.name, t.next_run) for t in twins()] == [(twin_name(schedule.pk), schedule.next_run_at)]
    assert schedules_reconcile() == 0

    # django-q2 fired the twin (repeats 0) but the run's task was lost: after a while it is armed again.
    QSchedule.objects.update(repeats=0)
    with time_machine.travel(schedule.next_run_at + timedelta(minutes=10), tick=False):
        assert schedules_reconcile() == 1
    assert twins()[0].repeats == 1


# --- Ticks: claiming slots ------------------------------------------------------------------------------


def test_a_tick_on_time_makes_one_job_per_channel_and_rearms_for_the_next_slot(guild):
    general, dev = ChannelFactory(guild=guild, name="general"), ChannelFactory(guild=guild, name="dev")
    post_to = ChannelFactory(guild=guild, name="digests")
    schedule = daily(guild, [general, dev], discord_channel_id=post_to.id, format="brief")
    slot = schedule.next_run_at

    with time_machine.travel(slot + timedelta(seconds=20), tick=False):
        assert run_schedule(schedule.pk, slot.isoformat()) == "queued 2 jobs"

    schedule.refresh_from_db()
    assert (schedule.last_run_at, schedule.next_run_at) == (slot, slot + timedelta(days=1))
    assert [t.next_run for t in twins()] == [schedule.next_run_at] and twins()[0].repeats == 1
    jobs = jobs_of(schedule)
    assert {j.channel_id for j in jobs} == {general.id, dev.id}
    for job in jobs:
        # A normal job: a public window ending at the slot, no member, no concurrency refusal (limit 1 here).
        assert (job.source, job.status, job.visibility, job.window_kind, job.format) == (
            JobSource.SCHEDULE, JobStatus.QUEUED, "public", "range", "brief",
        )
        assert (job.since, job.until, job.requested_by_user_id) == (slot - timedelta(days=1), slot, None)
        assert job.idempotency_key.startswith(f"schedule:{schedule.pk}:{slot:%Y%m%dT%H%M%SZ}:")


def test_two_ticks_of_one_slot_make_one_run(guild):
    schedule = daily(guild, [ChannelFactory(guild=guild)])
    slot = schedule.next_run_at
    with time_machine.travel(slot + timedelta(seconds=5), tick=False):
        first = schedule_tick(schedule_id=schedule.pk, slot=slot)
        # A redelivered task, or a twin fired again before the re-arm was seen: the slot is taken.
        second = schedule_tick(schedule_id=schedule.pk, slot=slot)
        third = schedule_tick(schedule_id=schedule.pk)  # no slot: the current one, not yet due
    assert first == "queued 1 job"
    assert second.startswith("skipped: slot already run") and third == "skipped: not due yet"
    assert len(jobs_of(schedule)) == 1


def test_a_slot_missed_within_the_grace_window_runs_once(guild, settings):
    settings.SCHEDULE_MISSED_GRACE_SECONDS = 3600
    schedule = daily(guild, [ChannelFactory(guild=guild)])
    slot = schedule.next_run_at
    with time_machine.travel(slot + timedelta(minutes=40), tick=False):
        assert schedule_tick(schedule_id=schedule.pk, slot=slot) == "queued 1 job"
    [job] = jobs_of(schedule)
    assert job.until == slot  # the window it was due for, not one ending at the late start
    assert Schedule.objects.get(pk=schedule.pk).next_run_at == slot + timedelta(days=1)


def test_after_a_long_downtime_only_the_latest_missed_slot_runs_and_only_within_grace(guild, settings):
    settings.SCHEDULE_MISSED_GRACE_SECONDS = 3600
    channel = ChannelFactory(guild=guild)
    schedule = daily(guild, [channel], frequency="hourly", time_of_day="00:00")
    slot = schedule.next_run_at  # 13:00 UTC on May 2
    # Down for five and a half hours: five slots missed, the latest (18:00) 30 minutes ago.
    with time_machine.travel(slot + timedelta(hours=5, minutes=30), tick=False):
        assert schedule_tick(schedule_id=schedule.pk, slot=slot) == "queued 1 job"
    [job] = jobs_of(schedule)
    assert job.until == slot + timedelta(hours=5) and job.since == slot + timedelta(hours=4)
    schedule.refresh_from_db()
    assert schedule.next_run_at == slot + timedelta(hours=6)

    # Down again past the grace window: nothing runs, the next slot is the first after now.
    settings.SCHEDULE_MISSED_GRACE_SECONDS = 600
    due = schedule.next_run_at
    with time_machine.travel(due + timedelta(days=2, minutes=30), tick=False):
        outcome = schedule_tick(schedule_id=schedule.pk, slot=due)
    assert outcome.startswith("skipped: missed slot")
    schedule.refresh_from_db()
    assert schedule.next_run_at == due + timedelta(days=2, hours=1)
    assert schedule.last_run_at == slot + timedelta(hours=5)
    assert len(jobs_of(schedule)) == 1
    assert [t.next_run for t in twins()] == [schedule.next_run_at]


def test_a_paused_or_deleted_schedules_tick_does_nothing(guild):
    schedule = daily(guild, [ChannelFactory(guild=guild)])
    slot = schedule.next_run_at
    schedule_pause(guild_id=guild.id, schedule_id=schedule.pk)
    with time_machine.travel(slot, tick=False):
        assert schedule_tick(schedule_id=schedule.pk, slot=slot) == "skipped: deleted or paused"
        assert schedule_tick(schedule_id=424242, slot=slot) == "skipped: deleted or paused"
    assert not SummaryJob.objects.exists()


def test_run_now_leaves_the_timetable_alone_and_a_repeated_task_makes_no_second_job(
    guild, django_capture_on_commit_callbacks
):
    schedule = daily(guild, [ChannelFactory(guild=guild)])
    with time_machine.travel(MAY_2 + timedelta(hours=3), tick=False):
        with django_capture_on_commit_callbacks() as callbacks:
            slot = schedule_run_now(guild_id=guild.id, schedule_id=schedule.pk)
        assert len(callbacks) == 1  # the task is enqueued once the caller's transaction commits
        assert run_schedule_now(schedule.pk, slot.isoformat()) == "queued 1 job"
        assert run_schedule_now(schedule.pk, slot.isoformat()) == "queued 1 job"  # found, not made again
    [job] = jobs_of(schedule)
    assert (job.until, job.until - job.since) == (slot, timedelta(days=1))
    assert Schedule.objects.get(pk=schedule.pk).next_run_at == schedule.next_run_at


# --- Scopes ---------------------------------------------------------------------------------------------


def test_a_whole_guild_digest_skips_excluded_disabled_private_deleted_and_non_text_channels(guild):
    general = ChannelFactory(guild=guild, name="general")
    news = ChannelFactory(guild=guild, name="news", kind=ChannelKind.ANNOUNCEMENT)
    excluded = ChannelFactory(guild=guild, name="memes")
    ChannelFactory(guild=guild, name="off", enabled=False)
    ChannelFactory(guild=guild, name="staff", is_locked=True)
    ChannelFactory(guild=guild, name="gone", deleted_at=timezone.now())
    ChannelFactory(guild=guild, name="voice", kind=ChannelKind.VOICE)
    ChannelFactory(guild=guild, name="a-thread", kind=ChannelKind.PUBLIC_THREAD, parent_id=general.id)
    mods = ChannelFactory(guild=guild, name="mods", is_locked=True, allow_when_locked=True)
    schedule = daily(guild, [], whole_guild=True, excluded_channel_ids=[excluded.id])

    with time_machine.travel(schedule.next_run_at, tick=False):
        assert schedule_tick(schedule_id=schedule.pk, slot=schedule.next_run_at) == "queued 3 jobs"
    # Each posted in itself, so a private channel an admin allowed is summarized for its own readers.
    assert {j.channel_id for j in jobs_of(schedule)} == {general.id, news.id, mods.id}


def test_a_digest_posted_elsewhere_leaves_out_private_channels(guild):
    general = ChannelFactory(guild=guild, name="general")
    ChannelFactory(guild=guild, name="mods", is_locked=True, allow_when_locked=True)
    digests = ChannelFactory(guild=guild, name="digests")
    schedule = daily(guild, [], whole_guild=True, discord_channel_id=digests.id)
    with time_machine.travel(schedule.next_run_at, tick=False):
        schedule_tick(schedule_id=schedule.pk, slot=schedule.next_run_at)
    assert {j.channel_id for j in jobs_of(schedule)} == {general.id, digests.id}


def test_a_category_digest_takes_the_categorys_channels(guild):
    category = ChannelFactory(guild=guild, name="Engineering", kind=ChannelKind.CATEGORY)
    backend = ChannelFactory(guild=guild, name="backend", parent_id=category.id)
    frontend = ChannelFactory(guild=guild, name="frontend", parent_id=category.id)
    ChannelFactory(guild=guild, name="random")
    schedule = daily(guild, [], category_id=category.id, excluded_channel_ids=[frontend.id])
    with time_machine.travel(schedule.next_run_at, tick=False):
        schedule_tick(schedule_id=schedule.pk, slot=schedule.next_run_at)
    assert [j.channel_id for j in jobs_of(schedule)] == [backend.id]
    with pytest.raises(InvalidInput, match="not a category"):
        schedule_update(guild_id=guild.id, schedule_id=schedule.pk, category_id=backend.id)


def test_listed_channels_the_rules_refuse_are_skipped_and_a_run_with_none_left_counts_as_failed(guild):
    general = ChannelFactory(guild=guild, name="general")
    off = ChannelFactory(guild=guild, name="off")
    schedule = daily(guild, [general, off])
    off.enabled = False
    off.save()
    with time_machine.travel(schedule.next_run_at, tick=False):
        assert schedule_tick(schedule_id=schedule.pk, slot=schedule.next_run_at) == "queued 1 job, skipped 1"
    assert [j.channel_id for j in jobs_of(schedule)] == [general.id]

    general.enabled = False
    general.save()
    schedule.refresh_from_db()
    with time_machine.travel(schedule.next_run_at, tick=False):
        outcome = schedule_tick(schedule_id=schedule.pk, slot=schedule.next_run_at)
    assert outcome.startswith("failed:") and "turned off in #general" in outcome
    assert Schedule.objects.get(pk=schedule.pk).consecutive_failures == 1


# --- Counting runs --------------------------------------------------------------------------------------


def finish(job: SummaryJob, status: str) -> None:
    SummaryJob.objects.filter(pk=job.pk).update(status=status, error_code="boom" if status == "failed" else "")
    job.refresh_from_db()
    schedule_job_finished(job=job)


def test_a_run_counts_once_when_its_last_job_ends_and_three_failed_runs_pause_the_schedule(guild):
    one, two = ChannelFactory(guild=guild), ChannelFactory(guild=guild)
    schedule = daily(guild, [one, two])

    for run in range(3):
        schedule.refresh_from_db()
        with time_machine.travel(schedule.next_run_at, tick=False):
            schedule_tick(schedule_id=schedule.pk, slot=schedule.next_run_at)
        first, second = SummaryJob.objects.filter(schedule=schedule, status=JobStatus.QUEUED).order_by("channel_id")
        finish(first, JobStatus.FAILED)
        assert Schedule.objects.get(pk=schedule.pk).consecutive_failures == run  # not until the run ends
        finish(second, JobStatus.DONE)
        schedule_job_finished(job=second)  # counted once, whoever asks again
        assert Schedule.objects.get(pk=schedule.pk).consecutive_failures == run + 1

    schedule.refresh_from_db()
    assert (schedule.enabled, schedule.next_run_at, twins()) == (False, None, [])
    assert schedule.paused_reason.startswith("Paused after 3 failed runs in a row. Last: <#")


def test_a_run_whose_jobs_all_succeed_resets_the_count(guild):
    schedule = daily(guild, [ChannelFactory(guild=guild)])
    Schedule.objects.filter(pk=schedule.pk).update(consecutive_failures=2)
    with time_machine.travel(schedule.next_run_at, tick=False):
        schedule_tick(schedule_id=schedule.pk, slot=schedule.next_run_at)
    finish(SummaryJob.objects.get(schedule=schedule), JobStatus.DONE)
    assert Schedule.objects.get(pk=schedule.pk).consecutive_failures == 0


def test_a_time_of_day_is_stored_as_a_local_time(guild):
    schedule = daily(guild, [ChannelFactory(guild=guild)], time_of_day=time(7, 45, 12))
    assert schedule.time_of_day == time(7, 45)
