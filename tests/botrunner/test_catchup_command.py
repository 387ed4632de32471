"""/catchup through the real bot, the worker and the fake Discord: what a member missed, privately."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from guilds.activity import member_active_channels
from guilds.models import Channel as ChannelRow
from guilds.models import ChannelActivity, Guild
from guilds.services import member_optout_create
from summaries.models import CatchUp, Digest, DigestStatus, Summary, SummaryJob, Visibility, WindowKind
from summaries.tasks import run_summary_job
from tests.botrunner.bot_support import BotWorld, db, eventually, run_task

pytest_plugins = ["tests.botrunner.conftest_bot"]

pytestmark = pytest.mark.django_db(transaction=True)

EPHEMERAL = 1 << 6


@pytest.fixture(autouse=True)
def offline_engine(settings):  # type: ignore[no-untyped-def]
    settings.SUMMARY_PROVIDER = "local"  # these tests are about the window and the Discord round trip


async def run_catchup(w: BotWorld, user: Any) -> tuple[SummaryJob, dict[str, Any]]:
    """/catchup channel:#general, as `user`, run through the worker."""
    option, resolved = w.channel_option("channel", w.channel, user=user)
    payload = w.slash("catchup", user=user, options=[option], resolved=resolved)
    await w.interact(payload)
    (job,) = await eventually(lambda: db(lambda: list(SummaryJob.objects.filter(interaction_id=int(payload["id"]))))())
    await run_task(run_summary_job, str(job.pk))
    return await db(SummaryJob.objects.get)(pk=job.pk), payload


async def summary_of(job: SummaryJob) -> Summary:
    return await db(Summary.objects.get)(job=job)


async def test_catchup_covers_what_came_after_the_members_last_message_mentions_first(bot_world: BotWorld) -> None:
    w = bot_world
    now = datetime.now(tz=UTC)
    w.fake.add_messages(w.channel, 10, authors=[w.admin, w.owner], content="old talk about the roadmap {i}",
                        start=now - timedelta(hours=5), interval=timedelta(minutes=1))
    mine = w.fake.add_message(w.channel, w.member, "I'm off until tomorrow", at=now - timedelta(hours=3))
    missed = [
        w.fake.add_message(w.channel, w.admin, "we decided to ship the release on friday", at=now - timedelta(hours=2)),
        w.fake.add_message(w.channel, w.owner, f"<@{w.member.id}> can you review the release notes?",
                           at=now - timedelta(minutes=90)),
        w.fake.add_message(w.channel, w.admin, "enjoy your day off!", reply_to=mine.id, at=now - timedelta(minutes=80)),
        w.fake.add_message(w.channel, w.owner, "the flaky login test is fixed", at=now - timedelta(minutes=70)),
    ]

    job, payload = await run_catchup(w, w.member)

    assert (job.window_kind, job.visibility, job.requested_by_user_id) == (WindowKind.CATCH_UP, Visibility.PRIVATE, w.member.id)
    assert job.status == "done", job.error_message
    summary = await summary_of(job)
    # Exactly what came after the member's own last message.
    assert (summary.first_message_id, summary.last_message_id, summary.message_count) == (missed[0].id, missed[-1].id, 4)
    for_you = [item for item in summary.items if item["section"] == "for_you"]
    assert [item["message_ids"] for item in for_you] == [[missed[1].id], [missed[2].id]]
    assert summary.items[0]["section"] == "for_you"  # mentions and replies come first
    edit = await w.fake.wait_for_request_async(
        lambda r: r.method == "PATCH" and payload["token"] in r.path and bool((r.json or {}).get("embeds"))
    )
    assert "For you" in str(edit.json["embeds"][0])
    (message,) = [m for m in w.fake.interaction_messages(payload) if m.embeds]
    assert message.flags & EPHEMERAL
    record = await db(CatchUp.objects.get)(channel_id=w.channel.id, user_id=w.member.id)
    assert record.last_message_id == missed[-1].id


async def test_a_second_catchup_starts_after_the_first_and_nothing_new_says_so(bot_world: BotWorld) -> None:
    w = bot_world
    await db(lambda: Guild.objects.filter(pk=w.guild.id).update(member_cooldown_seconds=0))()
    now = datetime.now(tz=UTC)
    first = [w.fake.add_message(w.channel, w.admin, f"first batch {n}", at=now - timedelta(minutes=30 - n))
             for n in range(5)]
    job, _ = await run_catchup(w, w.member)
    assert (await summary_of(job)).last_message_id == first[-1].id

    later = [w.fake.add_message(w.channel, w.owner, f"second batch about the deploy {n}") for n in range(3)]
    job, _ = await run_catchup(w, w.member)
    summary = await summary_of(job)
    assert (job.after_message_id, summary.first_message_id, summary.message_count) == (first[-1].id, later[0].id, 3)

    job, payload = await run_catchup(w, w.member)
    assert job.status == "failed" and "all caught up" in job.error_message
    await w.fake.wait_for_request_async(
        lambda r: r.method == "PATCH" and payload["token"] in r.path and "all caught up" in str((r.json or {}).get("content"))
    )


async def test_catchup_reaches_back_no_further_than_the_maximum(bot_world: BotWorld, settings) -> None:  # type: ignore[no-untyped-def]
    settings.CATCHUP_MAX_HOURS = 24
    w = bot_world
    now = datetime.now(tz=UTC)
    w.fake.add_messages(w.channel, 5, authors=[w.admin], content="last week's news {i}", start=now - timedelta(days=3))
    recent = [w.fake.add_message(w.channel, w.owner, f"today's news {n}", at=now - timedelta(hours=2 - n))
              for n in range(2)]

    job, _ = await run_catchup(w, w.member)

    assert job.hours == 24
    summary = await summary_of(job)
    assert (summary.first_message_id, summary.message_count) == (recent[0].id, 2)


async def test_catchup_of_another_channel_follows_the_channel_rules(bot_world: BotWorld) -> None:
    w = bot_world
    secret = w.fake.add_channel(w.guild, "staff")
    w.fake.lock_channel(secret)
    option, resolved = w.channel_option("channel", secret, user=w.member)
    payload = w.slash("catchup", user=w.member, options=[option], resolved=resolved)
    await w.interact(payload)
    assert "You can't read" in await w.answer_text(payload)
    assert not await db(SummaryJob.objects.exists)()


async def test_the_bot_counts_who_writes_where_but_not_bots_or_opted_out_members(bot_world: BotWorld) -> None:
    w = bot_world
    thread = w.fake.add_thread(w.channel, "release-thread")
    await db(member_optout_create)(user_id=w.owner.id, guild_id=w.guild.id)
    for _ in range(3):
        await w.fake.post_message_async(w.channel, w.member, "hello")
    await w.fake.post_message_async(thread, w.member, "in the thread")
    await w.fake.post_message_async(w.channel, w.owner, "opted out")
    await w.fake.post_message_async(w.channel, w.fake.bot_user, "beep")

    cog = w.bot.get_cog("ActivityCog")
    await eventually(lambda: _pending(cog, 2, messages=4))
    await cog.write()

    rows = await db(lambda: sorted(ChannelActivity.objects.values_list("channel_id", "user_id", "messages")))()
    assert rows == sorted([(w.channel.id, w.member.id, 3), (thread.id, w.member.id, 1)])
    assert await db(member_active_channels)(guild_id=w.guild.id, user_id=w.member.id, limit=5) == [w.channel.id, thread.id]


async def _pending(cog: Any, keys: int, *, messages: int = 0) -> bool:
    """The bot has counted this many (channel, member) pairs and messages, not yet written."""
    return len(cog.pending) >= keys and sum(cog.pending.values()) >= messages


# --- /catchup without a channel: one digest of the member's most active channels --------------------


async def digest_of(payload: dict[str, Any]) -> Digest:
    return await eventually(lambda: db(lambda: Digest.objects.filter(interaction_id=int(payload["id"])).first())())


async def test_catchup_without_a_channel_digests_the_members_active_readable_channels(bot_world: BotWorld) -> None:
    w = bot_world
    design = w.fake.add_channel(w.guild, "design")
    staff = w.fake.add_channel(w.guild, "staff")
    quiet = w.fake.add_channel(w.guild, "quiet")
    for channel in (design, staff, quiet):
        await w.fake.dispatch_async("CHANNEL_CREATE", w.fake.channel_payload(channel))
    await eventually(lambda: db(lambda: ChannelRow.objects.filter(pk__in=[design.id, staff.id, quiet.id]).count() == 3)())
    # Where the member wrote lately (counted by the bot as messages arrive).
    for channel in (w.channel, w.channel, design, staff, quiet):
        await w.fake.post_message_async(channel, w.member, "my message")
    cog = w.bot.get_cog("ActivityCog")
    await eventually(lambda: _pending(cog, 4))
    await cog.write()
    # Since then: talk in #general and #design (mentioning the member there); #quiet has nothing new.
    for n in range(6):
        w.fake.add_message(w.channel, w.admin, f"general: we shipped build {n}")
    w.fake.add_message(design, w.owner, f"<@{w.member.id}> which logo do you prefer?")
    w.fake.add_message(design, w.admin, "the dark one looks better")
    # The member lost access to #staff: it is not theirs to catch up on.
    w.fake.lock_channel(staff)
    await w.fake.dispatch_async("CHANNEL_UPDATE", w.fake.channel_payload(staff))

    payload = w.slash("catchup", user=w.member)
    await w.interact(payload)
    digest = await digest_of(payload)
    jobs = await db(lambda: list(SummaryJob.objects.filter(digest=digest).order_by("created_at")))()
    assert sorted(job.channel_id for job in jobs) == sorted([w.channel.id, design.id, quiet.id])
    assert all(job.window_kind == WindowKind.CATCH_UP and job.visibility == Visibility.PRIVATE for job in jobs)
    for job in jobs:
        await run_task(run_summary_job, str(job.pk))

    digest = await db(Digest.objects.get)(pk=digest.pk)
    assert digest.status == DigestStatus.DELIVERED
    edit = await w.fake.wait_for_request_async(
        lambda r: r.method == "PATCH" and payload["token"] in r.path and bool((r.json or {}).get("embeds"))
    )
    titles = [embed["title"] for embed in edit.json["embeds"]]
    assert titles == ["#design", "#general"]  # what mentions the member first; nothing new in #quiet
    assert "For you" in edit.json["embeds"][0]["description"]
    (message,) = [m for m in w.fake.interaction_messages(payload) if m.embeds]
    assert message.flags & EPHEMERAL
    assert not [r for r in w.fake.requests_matching("POST", r"^/channels/\d+/messages$") if r.status == 200]


async def test_catchup_without_activity_explains_how_to_pick_a_channel(bot_world: BotWorld) -> None:
    w = bot_world
    payload = w.slash("catchup", user=w.member)
    await w.interact(payload)
    assert "Pick one with /catchup channel" in await w.answer_text(payload)
    assert not await db(Digest.objects.exists)()


async def test_a_catchup_digest_with_nothing_new_says_you_are_all_caught_up(bot_world: BotWorld) -> None:
    w = bot_world
    await w.fake.post_message_async(w.channel, w.member, "last word")
    cog = w.bot.get_cog("ActivityCog")
    await eventually(lambda: _pending(cog, 1))
    await cog.write()

    payload = w.slash("catchup", user=w.member)
    await w.interact(payload)
    digest = await digest_of(payload)
    (job,) = await db(lambda: list(SummaryJob.objects.filter(digest=digest)))()
    await run_task(run_summary_job, str(job.pk))

    assert (await db(Digest.objects.get)(pk=digest.pk)).status == DigestStatus.EMPTY
    await w.fake.wait_for_request_async(
        lambda r: r.method == "PATCH" and payload["token"] in r.path and "all caught up" in str((r.json or {}).get("content"))
    )
