"""Combined schedule digests: one post with a section per channel, assembled once the channels' jobs end.

The real job runner against the fake Discord, offline engine; slots are recent instants, as in
tests/summaries/test_schedule_runs.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from guilds.models import Channel, Guild
from summaries.models import Digest, DigestStatus, JobStatus, Schedule, SummaryJob
from summaries.schedule_times import previous_fire
from summaries.selectors import schedule_timing
from summaries.services.digests import digests_sweep
from summaries.services.schedules import schedule_create, schedule_materialize
from summaries.tasks import run_schedule, run_summary_job
from tests.fakes.discord import FakeDiscord, Overwrite, Permission
from tests.summaries.test_schedule_runs import posts

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(discord_settings: FakeDiscord, settings):  # type: ignore[no-untyped-def]
    settings.OPENAI_API_KEY = ""
    settings.SUMMARY_PROVIDER = "local"
    fake = discord_settings
    guild = fake.add_guild("Guild")
    people = (fake.add_member(guild, username="alice"), fake.add_member(guild, username="bob"))
    channels = {name: fake.add_channel(guild, name) for name in ("dev", "design", "random", "digests")}
    Guild.objects.create(id=guild.id, name="Guild", bot_present=True)
    for channel in channels.values():
        Channel.objects.create(id=channel.id, guild_id=guild.id, name=channel.name)
    return fake, guild, channels, people


def combined_due(guild, channels, post_to) -> tuple[Schedule, object]:  # type: ignore[no-untyped-def]
    schedule = schedule_create(
        guild_id=guild.id, name="daily digest", frequency="hourly", time_of_day="00:00", timezone="UTC",
        channel_ids=[c.id for c in channels], mode="combined", discord_channel_id=post_to.id, min_messages=3,
    )
    slot = previous_fire(schedule_timing(schedule), before=timezone.now())
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=slot)
    schedule.refresh_from_db()
    schedule_materialize(schedule=schedule)
    return schedule, slot


def test_a_combined_run_posts_one_digest_with_a_section_per_busy_channel(world):
    fake, guild, channels, people = world
    dev, design, random_, digests = (channels[n] for n in ("dev", "design", "random", "digests"))
    schedule, slot = combined_due(guild, [dev, design, random_], digests)
    fake.add_messages(dev, 30, authors=people, content="we decided to ship the api on friday {i}",
                      start=slot - timedelta(minutes=40), interval=timedelta(seconds=30))
    fake.add_messages(design, 12, authors=people, content="the new logo needs more contrast {i}",
                      start=slot - timedelta(minutes=30), interval=timedelta(minutes=1))
    fake.add_messages(random_, 2, authors=people, start=slot - timedelta(minutes=20))  # quiet: skipped

    assert run_schedule(schedule.pk, slot.isoformat()) == "queued 3 jobs"
    digest = Digest.objects.get(schedule=schedule)
    assert digest.channel_ids == [dev.id, design.id, random_.id] and digest.status == DigestStatus.COLLECTING
    for job in SummaryJob.objects.filter(digest=digest).order_by("created_at"):
        run_summary_job(str(job.pk))
        assert posts(fake, dev) == [] and posts(fake, design) == []  # the jobs post nothing themselves

    digest.refresh_from_db()
    assert digest.status == DigestStatus.DELIVERED, digest.error_message
    [post] = posts(fake, digests)
    titles = [embed["title"] for embed in post.json["embeds"]]
    assert titles == ["#dev", "#design"]  # the quiet channel is left out
    assert f"https://discord.com/channels/{guild.id}/{dev.id}/" in post.json["embeds"][0]["description"]
    assert "## #dev" in digest.markdown and "## #design" in digest.markdown
    schedule.refresh_from_db()
    assert (schedule.consecutive_failures, schedule.last_outcome_at) == (0, slot)

    # A worker that died after posting: the sweeper re-posts, and Discord's nonce makes it the same message.
    Digest.objects.filter(pk=digest.pk).update(status=DigestStatus.DELIVERING,
                                               delivery_started_at=timezone.now() - timedelta(hours=1))
    assert digests_sweep() == 1
    assert len(posts(fake, digests)) == 2 and len(fake.channel_messages(digests)) == 1


def test_a_combined_run_where_every_channel_is_quiet_posts_nothing(world):
    fake, guild, channels, people = world
    schedule, slot = combined_due(guild, [channels["dev"], channels["design"]], channels["digests"])
    fake.add_messages(channels["dev"], 1, authors=people, start=slot - timedelta(minutes=10))

    run_schedule(schedule.pk, slot.isoformat())
    for job in SummaryJob.objects.filter(schedule=schedule):
        run_summary_job(str(job.pk))

    assert Digest.objects.get(schedule=schedule).status == DigestStatus.EMPTY
    assert posts(fake, channels["digests"]) == []
    assert Schedule.objects.get(pk=schedule.pk).consecutive_failures == 0


def test_a_digest_names_a_channel_that_failed(world):
    fake, guild, channels, people = world
    dev, design = channels["dev"], channels["design"]
    schedule, slot = combined_due(guild, [dev, design], channels["digests"])
    fake.add_messages(dev, 10, authors=people, content="release notes are done {i}", start=slot - timedelta(minutes=20))
    # The bot may not read #design's history: its job fails at the fetch.
    design.overwrites.append(Overwrite(id=fake.bot_role(guild).id, deny=Permission.READ_MESSAGE_HISTORY))

    run_schedule(schedule.pk, slot.isoformat())
    for job in SummaryJob.objects.filter(schedule=schedule):
        run_summary_job(str(job.pk))

    assert SummaryJob.objects.get(channel_id=design.id).status == JobStatus.FAILED
    [post] = posts(fake, channels["digests"])
    assert f"<#{design.id}> was left out" in post.json["embeds"][-1]["description"]


def test_a_combined_schedule_needs_a_channel_to_post_in(world):
    _, guild, channels, _ = world
    with pytest.raises(Exception, match="needs a channel to post in"):
        schedule_create(guild_id=guild.id, name="x", frequency="daily", time_of_day="09:00",
                        channel_ids=[channels["dev"].id], mode="combined")
