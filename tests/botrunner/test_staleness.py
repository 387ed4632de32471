"""Edited and deleted messages make the summaries citing them stale; deleted ones lose their excerpts."""

from __future__ import annotations

from typing import Any

import pytest

from summaries.models import Summary, SummaryCitation
from summaries.services.staleness import REASON_DELETED, REASON_EDITED, REMOVED_TEXT, summaries_mark_stale
from tests.botrunner.bot_support import BotWorld, db, eventually
from tests.factories import GuildFactory, SummaryFactory

# The bot fixtures (bot_world) live in a module of their own; the shared conftest files stay untouched.
pytest_plugins = ["tests.botrunner.conftest_bot"]

CHANNEL = 555
SOLE, SHARED, OTHER = 9001, 9002, 9003


def _summary(
    guild_id: int | None = None, channel_id: int = CHANNEL, ids: tuple[int, int, int] = (SOLE, SHARED, OTHER)
) -> Summary:
    sole, shared, other = ids
    items: list[dict[str, Any]] = [
        {
            "section": "overview",
            "text": "The team planned the release.",
            "message_ids": [shared, other],
            "owner": None,
            "unverified": False,
        },
        {
            "section": "key_points",
            "text": "Alice's phone is 555-0100",
            "message_ids": [sole],
            "owner": "Alice",
            "unverified": False,
        },
        {
            "section": "key_points",
            "text": "Ship on Friday",
            "message_ids": [shared, other],
            "owner": None,
            "unverified": False,
        },
    ]
    kwargs = {"guild_id": guild_id} if guild_id else {"guild": GuildFactory()}
    summary = SummaryFactory(
        channel_id=channel_id, items=items, markdown="# Summary of #general\n\nAlice's phone is 555-0100\n", **kwargs
    )
    for message_id in ids:
        SummaryCitation.objects.create(summary=summary, message_id=message_id, channel_id=channel_id)
    return summary


@pytest.mark.django_db
def test_deleting_the_only_source_of_a_point_removes_its_text() -> None:
    summary = _summary()
    untouched = _summary(ids=(1, 2, 3))

    assert summaries_mark_stale(message_ids=[SOLE], deleted=True) == 1

    summary.refresh_from_db()
    assert (summary.stale, summary.stale_reason) == (True, REASON_DELETED)
    _overview, removed, kept = summary.items
    assert removed["text"] == REMOVED_TEXT and removed["removed"] is True
    assert removed["message_ids"] == [] and removed["owner"] is None
    assert kept["text"] == "Ship on Friday" and kept["message_ids"] == [SHARED, OTHER]
    assert "555-0100" not in summary.markdown  # the Markdown copy was rendered again without it
    assert summary.markdown.startswith("# Summary of #general")
    assert not SummaryCitation.objects.filter(summary=summary, message_id=SOLE).exists()
    untouched.refresh_from_db()
    assert not untouched.stale


@pytest.mark.django_db
def test_deleting_one_of_several_sources_keeps_the_point() -> None:
    summary = _summary()
    summaries_mark_stale(message_ids=[SHARED], deleted=True)
    summary.refresh_from_db()
    assert summary.stale
    assert [item["message_ids"] for item in summary.items] == [[OTHER], [SOLE], [OTHER]]
    assert REMOVED_TEXT not in [item["text"] for item in summary.items]


@pytest.mark.django_db
def test_an_edit_marks_stale_without_touching_the_points_and_never_downgrades_a_deletion() -> None:
    summary = _summary()
    before = list(summary.items)
    assert summaries_mark_stale(message_ids=[OTHER], deleted=False) == 1
    summary.refresh_from_db()
    assert (summary.stale, summary.stale_reason, summary.items) == (True, REASON_EDITED, before)

    summaries_mark_stale(message_ids=[SOLE], deleted=True)
    summaries_mark_stale(message_ids=[OTHER], deleted=False)
    summary.refresh_from_db()
    assert summary.stale_reason == REASON_DELETED


@pytest.mark.django_db
def test_repeated_and_unknown_events_change_nothing_more() -> None:
    summary = _summary()
    summaries_mark_stale(message_ids=[SOLE], deleted=True)
    summary.refresh_from_db()
    snapshot = (summary.items, summary.markdown)
    assert summaries_mark_stale(message_ids=[SOLE], deleted=True) == 0  # its citation is gone
    assert summaries_mark_stale(message_ids=[123456], deleted=True) == 0
    assert summaries_mark_stale(message_ids=[], deleted=True) == 0
    summary.refresh_from_db()
    assert (summary.items, summary.markdown) == snapshot


# ---------------------------------------------------------------------------------- through the gateway
@pytest.mark.django_db(transaction=True)
async def test_message_delete_event_scrubs_the_summary(bot_world: BotWorld) -> None:
    w = bot_world
    sole = w.fake.add_message(w.channel, w.member, "my phone is 555-0100")
    shared = w.fake.add_message(w.channel, w.admin, "ship friday?")
    other = w.fake.add_message(w.channel, w.member, "yes friday")
    summary = await db(_summary)(w.guild.id, w.channel.id, (sole.id, shared.id, other.id))

    event, data = w.fake.delete_messages_payload(w.channel, [sole.id])
    await w.fake.dispatch_async(event, data)

    row = await eventually(lambda: db(Summary.objects.filter(pk=summary.pk, stale=True).first)())
    assert row.items[1]["text"] == REMOVED_TEXT
    assert row.items[0]["text"] == "The team planned the release."


@pytest.mark.django_db(transaction=True)
async def test_bulk_delete_and_edit_events(bot_world: BotWorld) -> None:
    w = bot_world
    messages = [w.fake.add_message(w.channel, w.member, f"m{i}") for i in range(3)]
    ids = tuple(m.id for m in messages)
    edited = await db(_summary)(w.guild.id, w.channel.id, ids)

    await w.fake.dispatch_async("MESSAGE_UPDATE", w.fake.edit_message_payload(messages[2], "m2 (edited)"))
    row = await eventually(lambda: db(Summary.objects.filter(pk=edited.pk, stale=True).first)())
    assert row.stale_reason == REASON_EDITED

    event, data = w.fake.delete_messages_payload(w.channel, [ids[0], ids[1]])
    assert event == "MESSAGE_DELETE_BULK"
    await w.fake.dispatch_async(event, data)
    row = await eventually(lambda: db(Summary.objects.filter(pk=edited.pk, stale_reason=REASON_DELETED).first)())
    assert [item["message_ids"] for item in row.items] == [[ids[2]], [], [ids[2]]]
    assert row.items[1]["text"] == REMOVED_TEXT


@pytest.mark.django_db(transaction=True)
async def test_updates_that_are_not_edits_leave_summaries_alone(bot_world: BotWorld) -> None:
    w = bot_world
    previewed = [w.fake.add_message(w.channel, w.member, f"see https://example.com/{i}") for i in range(3)]
    edited = [w.fake.add_message(w.channel, w.member, f"e{i}") for i in range(3)]
    untouched = await db(_summary)(w.guild.id, w.channel.id, tuple(m.id for m in previewed))
    barrier = await db(_summary)(w.guild.id, w.channel.id, tuple(m.id for m in edited))

    # A link preview arriving: MESSAGE_UPDATE without edited_timestamp. Then a real edit elsewhere.
    await w.fake.dispatch_async("MESSAGE_UPDATE", w.fake.message_payload(previewed[0]))
    await w.fake.dispatch_async("MESSAGE_UPDATE", w.fake.edit_message_payload(edited[0], "e0 (edited)"))

    await eventually(lambda: db(Summary.objects.filter(pk=barrier.pk, stale=True).exists)())
    assert not (await db(Summary.objects.get)(pk=untouched.pk)).stale
