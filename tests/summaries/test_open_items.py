"""Open items carried forward through a schedule's runs: the real job runner against the fake Discord,
offline engine. Three daily runs ending at recent instants (the fake Discord stamps messages with the times
given), as "run now" makes them: day 1 raises an action item, day 2 carries it under "Still open", day 3
sees its owner say done and drops it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from guilds.models import Channel, Guild
from summaries.models import Digest, DigestStatus, OpenItem, OpenItemResolution, Schedule, Summary, SummaryJob
from summaries.services.schedules import schedule_create
from summaries.tasks import run_schedule_now, run_summary_job
from tests.fakes.discord import FakeDiscord

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(discord_settings: FakeDiscord, settings):  # type: ignore[no-untyped-def]
    settings.OPENAI_API_KEY = ""  # the offline engine
    settings.SUMMARY_PROVIDER = "local"
    fake = discord_settings
    guild = fake.add_guild("Guild")
    alice = fake.add_member(guild, username="alice", global_name="Alice")
    bob = fake.add_member(guild, username="bob", global_name="Bob")
    general = fake.add_channel(guild, "general")
    Guild.objects.create(id=guild.id, name="Guild", bot_present=True)
    Channel.objects.create(id=general.id, guild_id=guild.id, name=general.name)
    schedule = schedule_create(guild_id=guild.id, name="daily dev", frequency="daily", time_of_day="09:00",
                               timezone="UTC", channel_ids=[general.id], lookback_hours=24, min_messages=3)
    now = timezone.now().replace(microsecond=0) - timedelta(seconds=5)
    days = [now - timedelta(days=2), now - timedelta(days=1), now]
    return fake, guild, general, alice, bob, schedule, days


def chat(fake, channel, end, lines):  # type: ignore[no-untyped-def]
    """(author, text[, reply_to]) lines, one a minute, the last an hour before `end`; the stored messages."""
    start = end - timedelta(hours=1, minutes=len(lines))
    return [fake.add_message(channel, line[0], line[1], reply_to=line[2] if len(line) > 2 else None,
                             at=start + timedelta(minutes=n)) for n, line in enumerate(lines)]


def posts(fake, channel_id):  # type: ignore[no-untyped-def]
    return [r for r in fake.requests_matching("POST", rf"^/channels/{channel_id}/messages$") if r.status == 200]


def run(fake, schedule, slot):  # type: ignore[no-untyped-def]
    """One run ending at `slot`, through the worker: its stored summary and the embeds it posted."""
    assert run_schedule_now(schedule.pk, slot.isoformat()) == "queued 1 job"
    job = SummaryJob.objects.get(schedule=schedule, until=slot)
    before = len(posts(fake, job.channel_id))
    assert run_summary_job(str(job.pk)) == "done"
    embeds = [embed for post in posts(fake, job.channel_id)[before:] for embed in post.json["embeds"]]
    assert embeds
    return Summary.objects.get(job=job), embeds


def still_open(summary: Summary) -> list[dict]:
    return [item for item in summary.items if item["section"] == "still_open"]


def day_one(fake, general, alice, bob, slot):  # type: ignore[no-untyped-def]
    return chat(fake, general, slot, [
        (bob, "morning! the 2.4 release is almost ready"),
        (alice, "I'll write the release notes by Thursday"),
        (bob, "great, the changelog is in the PR description"),
        (alice, "the CI pipeline is green on main"),
        (bob, "nice, the migration tests passed too"),
    ])


def test_an_action_item_stays_open_with_a_link_to_where_it_was_raised_until_its_owner_says_done(world):
    fake, guild, general, alice, bob, schedule, (day1, day2, day3) = world
    raised = day_one(fake, general, alice, bob, day1)[1]
    summary, _ = run(fake, schedule, day1)
    [action] = [item for item in summary.items if item["section"] == "action_items"]
    assert action["owner"] == "Alice" and action["message_ids"] == [raised.id]
    assert still_open(summary) == []  # nothing earlier to carry
    item = OpenItem.objects.get(schedule=schedule)
    assert (item.message_id, item.owner, item.owner_id, item.resolved_at) == (raised.id, "Alice", alice.id, None)

    chat(fake, general, day2, [
        (bob, "the beta testers liked the new dashboard"),
        (alice, "the docs site rebuilt fine overnight"),
        (bob, "done with lunch, back to the dashboard"),  # Bob's "done" is not Alice's
        (alice, "the staging database was upgraded"),
    ])
    summary, embeds = run(fake, schedule, day2)
    link = f"https://discord.com/channels/{guild.id}/{general.id}/{raised.id}"
    [carried] = still_open(summary)
    assert carried["message_ids"] == [raised.id] and carried["owner"] == "Alice"
    assert "## Still open" in summary.markdown
    assert f"- **Alice**: I'll write the release notes by Thursday ([1]({link}))" in summary.markdown
    fields = {field["name"]: field["value"] for embed in embeds for field in embed.get("fields", ())}
    assert link in fields["Still open"]
    assert OpenItem.objects.get(schedule=schedule).resolved_at is None

    done = chat(fake, general, day3, [
        (alice, "done, the release notes are in the wiki"),
        (bob, "thanks! the download page links them now"),
        (bob, "the beta testers liked the new dashboard"),
        (alice, "the docs site rebuilt fine overnight"),
    ])[0]
    summary, embeds = run(fake, schedule, day3)
    assert still_open(summary) == [] and "Still open" not in summary.markdown
    assert all(field["name"] != "Still open" for embed in embeds for field in embed.get("fields", ()))
    item = OpenItem.objects.get(schedule=schedule)
    assert item.resolution == OpenItemResolution.DONE and item.resolved_by_message_id == done.id
    assert item.resolved_at == done.created_at


def test_an_item_listed_again_is_neither_repeated_under_still_open_nor_recorded_twice(world):
    fake, guild, general, alice, bob, schedule, (day1, day2, _) = world
    raised = day_one(fake, general, alice, bob, day1)[1]
    run(fake, schedule, day1)
    chat(fake, general, day2, [
        (bob, "the beta testers liked the new dashboard"),
        (alice, "the docs site rebuilt fine overnight"),
        (bob, "the staging database was upgraded"),
    ])
    # Two days back: this run's own action items list the day-1 commitment again.
    Schedule.objects.filter(pk=schedule.pk).update(lookback_hours=48)
    summary, _ = run(fake, schedule, day2)
    assert [item["message_ids"] for item in summary.items if item["section"] == "action_items"] == [[raised.id]]
    assert still_open(summary) == []
    assert OpenItem.objects.filter(schedule=schedule).count() == 1


def test_an_answer_in_reply_resolves_a_question_and_items_past_the_horizon_are_dropped(world, settings):
    fake, guild, general, alice, bob, schedule, (day1, day2, day3) = world
    messages = day_one(fake, general, alice, bob, day1)
    asked = chat(fake, general, day1 - timedelta(minutes=30), [
        (bob, "which installer should we publish for Windows, msi or the zip?"),
    ])[0]
    run(fake, schedule, day1)
    assert {item.section for item in OpenItem.objects.filter(schedule=schedule)} == {"action_items", "open_questions"}

    answer = chat(fake, general, day2, [
        (alice, "the msi, the zip confuses people", asked.id),
        (bob, "the beta testers liked the new dashboard"),
        (alice, "the docs site rebuilt fine overnight"),
    ])[0]
    summary, _ = run(fake, schedule, day2)
    assert [item["message_ids"] for item in still_open(summary)] == [[messages[1].id]]  # the question is answered
    question = OpenItem.objects.get(schedule=schedule, section="open_questions")
    assert question.resolution == OpenItemResolution.ANSWER and question.resolved_by_message_id == answer.id

    settings.SCHEDULE_OPEN_ITEMS_DAYS = 1  # the day-1 action item is now too old to show
    chat(fake, general, day3, [
        (bob, "the staging database was upgraded"), (alice, "the CI pipeline is green on main"),
        (bob, "nice, the migration tests passed too"),
    ])
    summary, _ = run(fake, schedule, day3)
    assert still_open(summary) == []
    assert OpenItem.objects.get(schedule=schedule, section="action_items").resolved_at is None  # dropped, not resolved


def test_a_done_said_on_a_quiet_day_still_resolves_the_item(world):
    fake, guild, general, alice, bob, schedule, (day1, day2, day3) = world
    day_one(fake, general, alice, bob, day1)
    run(fake, schedule, day1)
    done = chat(fake, general, day2, [(alice, "release notes: done"), (bob, "thanks")])[0]  # below min_messages

    assert run_schedule_now(schedule.pk, day2.isoformat()) == "queued 1 job"
    assert run_summary_job(str(SummaryJob.objects.get(schedule=schedule, until=day2).pk)) == "done: skipped, quiet"
    item = OpenItem.objects.get(schedule=schedule)
    assert item.resolution == OpenItemResolution.DONE and item.resolved_by_message_id == done.id

    chat(fake, general, day3, [
        (bob, "the staging database was upgraded"), (alice, "the CI pipeline is green on main"),
        (bob, "nice, the migration tests passed too"),
    ])
    summary, _ = run(fake, schedule, day3)
    assert still_open(summary) == []


def test_a_combined_digest_shows_a_channels_still_open_items_in_its_section(world):
    fake, guild, general, alice, bob, _, (day1, day2, _) = world
    digests = fake.add_channel(guild, "digests")
    Channel.objects.create(id=digests.id, guild_id=guild.id, name=digests.name)
    schedule = schedule_create(guild_id=guild.id, name="combined", frequency="daily", time_of_day="09:00",
                               timezone="UTC", channel_ids=[general.id], lookback_hours=24, min_messages=3,
                               mode="combined", discord_channel_id=digests.id)
    raised = day_one(fake, general, alice, bob, day1)[1]
    chat(fake, general, day2, [
        (bob, "the beta testers liked the new dashboard"), (alice, "the docs site rebuilt fine overnight"),
        (bob, "the staging database was upgraded"),
    ])
    for slot in (day1, day2):
        assert run_schedule_now(schedule.pk, slot.isoformat()) == "queued 1 job"
        assert run_summary_job(str(SummaryJob.objects.get(schedule=schedule, until=slot).pk)) == "done"

    digest = Digest.objects.get(schedule=schedule, slot=day2)
    link = f"https://discord.com/channels/{guild.id}/{general.id}/{raised.id}"
    assert digest.status == DigestStatus.DELIVERED and "### Still open" in digest.markdown and link in digest.markdown
    last = posts(fake, digests.id)[-1]
    [section] = last.json["embeds"]
    assert "**Still open**" in section["description"] and link in section["description"]


def test_a_message_left_out_of_summaries_resolves_nothing(world):
    fake, guild, general, alice, bob, schedule, (day1, day2, _) = world
    day_one(fake, general, alice, bob, day1)
    run(fake, schedule, day1)
    chat(fake, general, day2, [
        (alice, "!nosummary done, the release notes are in the wiki"),  # the opt-out marker: not for summaries
        (bob, "the beta testers liked the new dashboard"), (alice, "the docs site rebuilt fine overnight"),
        (bob, "the staging database was upgraded"),
    ])
    summary, _ = run(fake, schedule, day2)
    assert len(still_open(summary)) == 1 and OpenItem.objects.get(schedule=schedule).resolved_at is None
