"""A due schedule through the production path: django-q2's own scheduler fires its twin onto the ORM
broker, a real `manage.py qcluster` runs the tick and then the summary job against the fake Discord and
the fake OpenAI server, and the digest is posted in its channel exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ
from django_q.models import Schedule as QSchedule
from django_q.scheduler import scheduler

from guilds.models import Channel, Guild
from summaries.models import JobStatus, Schedule, Summary, SummaryJob
from summaries.schedule_times import previous_fire
from summaries.selectors import schedule_timing
from summaries.services.schedules import schedule_create, schedule_materialize, twin_name
from tests.fakes.discord import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI
from tests.processes import run_qcluster_until, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_qcluster_runs_a_due_schedule_and_posts_its_digest_once(discord_settings):
    fake: FakeDiscord = discord_settings
    guild = fake.add_guild("Guild")
    alice = fake.add_member(guild, username="alice", global_name="Alice")
    general = fake.add_channel(guild, "general")
    Guild.objects.create(id=guild.id, name="Guild", bot_present=True)
    Channel.objects.create(id=general.id, guild_id=guild.id, name="general")

    schedule = schedule_create(guild_id=guild.id, name="hourly", frequency="hourly", time_of_day="00:00",
                               timezone="UTC", channel_ids=[general.id])
    slot = previous_fire(schedule_timing(schedule), before=timezone.now())
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=slot)
    schedule.refresh_from_db()
    schedule_materialize(schedule=schedule)
    fake.add_messages(general, 30, authors=[alice], content="shall we ship the release on friday? {i}",
                      start=slot - timedelta(minutes=45), interval=timedelta(minutes=1))

    # django-q2's scheduler (what every qcluster runs twice a minute) finds the twin due and enqueues the tick.
    scheduler()
    queued = OrmQ.objects.count()
    assert QSchedule.objects.get(name=twin_name(schedule.pk)).repeats == 0  # fired, spent until re-armed
    scheduler()  # a second pass before any worker ran: the spent twin does not fire again
    assert OrmQ.objects.count() == queued

    with FakeOpenAI() as llm:
        env = worker_env(fake, llm)

        def finished() -> bool:
            job = SummaryJob.objects.filter(schedule_id=schedule.pk).first()
            return job is not None and job.is_finished

        errors = run_qcluster_until(finished, env)
        chat_calls = len(llm.chat_requests)

    job = SummaryJob.objects.get(schedule_id=schedule.pk)
    assert job.status == JobStatus.DONE, (job.status, job.error_code, job.error_message, errors[-2000:])
    assert Summary.objects.get(job=job).message_count == 30 and chat_calls >= 1
    posted = [r for r in fake.requests_matching("POST", rf"^/channels/{general.id}/messages$") if r.status == 200]
    assert len(posted) == 1

    # The tick re-armed the twin for the next slot, so the scheduler has nothing more to fire now.
    schedule.refresh_from_db()
    assert schedule.last_run_at == slot and schedule.next_run_at == slot + timedelta(hours=1)
    twin = QSchedule.objects.get(name=twin_name(schedule.pk))
    assert (twin.next_run, twin.repeats) == (schedule.next_run_at, 1)
    scheduler()
    assert SummaryJob.objects.filter(schedule_id=schedule.pk).count() == 1
