"""A schedule's runs in the worker: the real job runner against the fake Discord, offline engine.

Slots are real recent instants (the fake Discord stamps messages with real time); each test arms its
schedule for a slot that has just passed, as django-q2 would find it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from guilds.models import Channel, Guild
from summaries.models import JobStatus, Schedule, Summary, SummaryJob
from summaries.schedule_times import previous_fire
from summaries.selectors import schedule_timing
from summaries.services.schedules import schedule_create, schedule_materialize
from summaries.tasks import run_schedule, run_schedule_now, run_summary_job
from tests.fakes.discord import FakeDiscord, Overwrite, Permission
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(discord_settings: FakeDiscord, settings):  # type: ignore[no-untyped-def]
    settings.OPENAI_API_KEY = ""  # the offline engine: these tests are about schedules, not the LLM
    fake = discord_settings
    guild = fake.add_guild("Guild")
    alice = fake.add_member(guild, username="alice", global_name="Alice")
    bob = fake.add_member(guild, username="bob", global_name="Bob")
    general = fake.add_channel(guild, "general")
    digests = fake.add_channel(guild, "digests")
    log = fake.add_channel(guild, "bot-log")
    Guild.objects.create(id=guild.id, name="Guild", bot_present=True, log_channel_id=log.id)
    for channel in (general, digests, log):
        Channel.objects.create(id=channel.id, guild_id=guild.id, name=channel.name)
    return fake, guild, general, digests, log, (alice, bob)


def due_hourly(guild, channels, **fields) -> tuple[Schedule, object]:  # type: ignore[no-untyped-def]
    """An hourly schedule armed for the slot that has just passed (as after a tick missed by seconds)."""
    schedule = schedule_create(guild_id=guild.id, name="hourly digest", frequency="hourly", time_of_day="00:00",
                               timezone="UTC", channel_ids=[c.id for c in channels], **fields)
    slot = previous_fire(schedule_timing(schedule), before=timezone.now())
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=slot)
    schedule.refresh_from_db()
    schedule_materialize(schedule=schedule)
    return schedule, slot


def posts(fake: FakeDiscord, channel) -> list:  # type: ignore[no-untyped-def]
    return [r for r in fake.requests_matching("POST", rf"^/channels/{channel.id}/messages$") if r.status == 200]


def test_a_scheduled_run_summarizes_its_window_and_posts_once(world):
    fake, guild, general, digests, _, people = world
    schedule, slot = due_hourly(guild, [general])
    fake.add_messages(general, 40, authors=people, content="shall we ship the release on friday? {i}",
                      start=slot - timedelta(minutes=50), interval=timedelta(minutes=1))
    fake.add_messages(general, 5, authors=people, content="said after the slot {i}", start=slot + timedelta(seconds=1),
                      interval=timedelta(milliseconds=10))

    assert run_schedule(schedule.pk, slot.isoformat()) == "queued 1 job"
    job = SummaryJob.objects.get(schedule=schedule)
    assert run_summary_job(str(job.pk)) == "done"
    assert run_summary_job(str(job.pk)).startswith("skipped")  # a redelivered task posts nothing more

    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.delivered_at is not None
    assert Summary.objects.get(job=job).message_count == 40  # the hour before the slot, nothing after it
    [post] = posts(fake, general)
    assert post.json["embeds"] and "general" in post.json["embeds"][0]["title"]
    assert Schedule.objects.get(pk=schedule.pk).consecutive_failures == 0


def test_a_run_posts_in_the_schedules_channel_when_it_has_one(world):
    fake, guild, general, digests, _, people = world
    schedule, slot = due_hourly(guild, [general], discord_channel_id=digests.id)
    fake.add_messages(general, 12, authors=people, start=slot - timedelta(minutes=30), interval=timedelta(minutes=1))

    run_schedule(schedule.pk, slot.isoformat())
    assert run_summary_job(str(SummaryJob.objects.get(schedule=schedule).pk)) == "done"
    assert len(posts(fake, digests)) == 1 and posts(fake, general) == []


def test_a_quiet_channel_is_skipped_without_a_summary_or_a_post(world):
    fake, guild, general, _, _, people = world
    schedule, slot = due_hourly(guild, [general], min_messages=5)
    fake.add_messages(general, 4, authors=people, start=slot - timedelta(minutes=30), interval=timedelta(minutes=1))
    # The bot's own earlier digest does not make the channel busy.
    fake.add_message(general, fake.bot_user, "previous digest", at=slot - timedelta(minutes=5))

    run_schedule(schedule.pk, slot.isoformat())
    job = SummaryJob.objects.get(schedule=schedule)
    assert run_summary_job(str(job.pk)) == "done: skipped, quiet"

    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.progress_detail.startswith("Skipped: 4 messages in the window")
    assert not Summary.objects.exists() and posts(fake, general) == []
    assert Schedule.objects.get(pk=schedule.pk).consecutive_failures == 0  # quiet is not a failure


def test_three_failed_runs_pause_the_schedule_and_tell_the_guilds_log_channel_once(world):
    fake, guild, general, _, log, people = world
    schedule, slot = due_hourly(guild, [general])
    fake.add_messages(general, 20, authors=people, start=slot - timedelta(minutes=30), interval=timedelta(minutes=1))
    # The bot may not read the channel's history: every run fails at the fetch.
    general.overwrites.append(Overwrite(id=fake.bot_role(guild).id, deny=Permission.READ_MESSAGE_HISTORY))

    now = timezone.now().replace(microsecond=0)
    for n, at in enumerate([now - timedelta(seconds=3), now - timedelta(seconds=2), now - timedelta(seconds=1)]):
        assert run_schedule_now(schedule.pk, at.isoformat()) == "queued 1 job"
        job = SummaryJob.objects.get(schedule=schedule, until=at)
        assert run_summary_job(str(job.pk)) == "failed: discord_missing_access"
        assert Schedule.objects.get(pk=schedule.pk).consecutive_failures == n + 1

    schedule.refresh_from_db()
    assert not schedule.enabled and schedule.next_run_at is None
    assert "3 failed runs" in schedule.paused_reason and "read_message_history" in schedule.paused_reason
    [notice] = posts(fake, log)
    assert "hourly digest" in notice.json["content"] and "paused" in notice.json["content"]
    assert "/schedule resume" in notice.json["content"]
    # Paused: the timetable's own tick does nothing any more.
    assert run_schedule(schedule.pk, slot.isoformat()) == "skipped: deleted or paused"
    assert posts(fake, general) == []


def test_a_scheduled_job_plans_its_chunks_on_the_schedules_run_slots(world, settings):
    # Two hours of an hourly schedule (a 2 h lookback): each hour is planned as that hour's own run would be,
    # one chunk each, merged by a reduce, where a whole-window plan would have made one call.
    fake, guild, general, _, _, people = world
    schedule, slot = due_hourly(guild, [general], lookback_hours=2)
    fake.add_messages(general, 30, authors=people, content="first hour: shall we ship on friday? {i}",
                      start=slot - timedelta(minutes=110), interval=timedelta(minutes=1))
    fake.add_messages(general, 30, authors=people, content="second hour: the release notes are done {i}",
                      start=slot - timedelta(minutes=45), interval=timedelta(minutes=1))
    with FakeOpenAI() as llm:
        settings.SUMMARY_PROVIDER = "openai"
        settings.OPENAI_API_KEY = "sk-test"
        settings.OPENAI_BASE_URL = llm.base_url
        assert run_schedule(schedule.pk, slot.isoformat()) == "queued 1 job"
        assert run_summary_job(str(SummaryJob.objects.get(schedule=schedule).pk)) == "done"
        calls = llm.chat_requests

    maps = [c.messages[1]["content"] for c in calls if c.messages[0]["content"].startswith("You summarize one part")]
    assert len(calls) == 3 and len(maps) == 2
    assert [("first hour" in m, "second hour" in m) for m in maps] in ([(True, False), (False, True)],
                                                                        [(False, True), (True, False)])
