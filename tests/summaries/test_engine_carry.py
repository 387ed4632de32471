"""Open items carried forward, the pure rules (summaries/engine/carry.py): what resolves an earlier action
item or open question, and how the survivors join a new result as "Still open"."""

from __future__ import annotations

import pytest

from summaries.engine.carry import OpenItem, items_raised, resolve, says_done, with_still_open
from summaries.engine.render import render_discord, render_markdown
from summaries.engine.render.discord_limits import violations
from summaries.engine.synthetic import CHANNEL_ID, GUILD_ID, make_message, message_id
from summaries.engine.types import SummaryItem, SummaryResult

ALICE, BOB, CAROL = 1, 2, 3


def alice(index: int, content: str, **extra: object):  # type: ignore[no-untyped-def]
    return make_message(index, content, author_id=ALICE, author_name="alice", display_name="Alice", **extra)


def bob(index: int, content: str, **extra: object):  # type: ignore[no-untyped-def]
    return make_message(index, content, author_id=BOB, author_name="bob", display_name="Bob", **extra)


def carol(index: int, content: str, **extra: object):  # type: ignore[no-untyped-def]
    return make_message(index, content, author_id=CAROL, author_name="carol", display_name="Carol", **extra)


NOTES = OpenItem(section="action_items", text="Write the release notes by Thursday", message_id=message_id(1),
                 channel_id=CHANNEL_ID, owner="Alice", owner_id=ALICE, raised_by_id=ALICE, key=11)
QUESTION = OpenItem(section="open_questions", text="Which Postgres version do we target?", message_id=message_id(2),
                    channel_id=CHANNEL_ID, raised_by_id=BOB, key=12)


def still_open(items, messages) -> list[int | None]:  # type: ignore[no-untyped-def]
    return [item.key for item in resolve(items, messages).still_open]


def test_an_answer_in_reply_resolves_a_question() -> None:
    carry = resolve([NOTES, QUESTION], [carol(10, "Postgres 16, it is what prod runs", reply_to=message_id(2))])
    assert [item.key for item in carry.still_open] == [11]
    [resolution] = carry.resolved
    assert (resolution.item.key, resolution.message_id, resolution.how) == (12, message_id(10), "answer")


def test_the_askers_own_reply_does_not_answer_their_question() -> None:
    assert still_open([QUESTION], [bob(10, "also, do we need 15 for the extension?", reply_to=message_id(2))]) == [12]


def test_a_reply_without_done_does_not_resolve_an_action_item() -> None:
    assert still_open([NOTES], [alice(10, "I'll get to it after lunch", reply_to=message_id(1))]) == [11]


def test_the_owner_saying_done_resolves_their_item() -> None:
    carry = resolve([NOTES, QUESTION], [alice(10, "Done, they're in the wiki")])
    assert [item.key for item in carry.still_open] == [12]
    assert [(r.item.key, r.message_id, r.how) for r in carry.resolved] == [(11, message_id(10), "done")]


@pytest.mark.parametrize("text", ["fixed", "Merged!", "shipped it", "RESOLVED", "erledigt", "c'est terminé", "готово"])
def test_done_words_count_in_any_case_and_a_few_languages(text: str) -> None:
    assert still_open([NOTES], [alice(10, text)]) == []


@pytest.mark.parametrize("text", [
    "not done yet", "almost fixed", "I'll be done tomorrow", "once it's merged I'll tell you", "is it merged?",
    "undone", "the fixedness of it", "it isn't resolved",
])
def test_a_negated_asked_or_partial_word_is_not_done(text: str) -> None:
    assert not says_done(text)
    assert still_open([NOTES], [alice(10, text)]) == [11]


def test_another_persons_done_does_not_resolve_an_owned_item() -> None:
    messages = [bob(10, "done"), bob(11, "done", reply_to=message_id(1))]
    assert still_open([NOTES], messages) == [11]


def test_the_owner_is_known_by_name_when_their_id_is_not() -> None:
    by_name = OpenItem(section="action_items", text="Update the docs", message_id=message_id(1), channel_id=CHANNEL_ID,
                       owner="Alice", key=21)
    assert still_open([by_name], [bob(10, "done")]) == [21]
    assert still_open([by_name], [alice(10, "done")]) == []


def test_an_unrelated_message_resolves_nothing() -> None:
    messages = [carol(10, "lunch anyone?"), alice(11, "the build is green again"), bob(12, "thanks")]
    assert still_open([NOTES, QUESTION], messages) == [11, 12]


def test_a_message_before_the_item_cannot_resolve_it() -> None:
    assert still_open([NOTES], [alice(0, "done")]) == [11]


def test_a_bare_done_from_an_owner_of_several_items_resolves_none_but_shared_words_pick_one() -> None:
    deploy = OpenItem(section="action_items", text="Deploy the staging server", message_id=message_id(3),
                      channel_id=CHANNEL_ID, owner="Alice", owner_id=ALICE, key=13)
    assert still_open([NOTES, deploy], [alice(10, "done")]) == [11, 13]
    assert still_open([NOTES, deploy], [alice(10, "release notes are done")]) == [13]
    assert still_open([NOTES, deploy], [alice(10, "done", reply_to=message_id(3))]) == [11]


def test_an_unowned_item_is_resolved_by_anyones_done_in_reply() -> None:
    chore = OpenItem(section="action_items", text="Someone should rotate the API keys", message_id=message_id(1),
                     channel_id=CHANNEL_ID, raised_by_id=BOB, key=31)
    assert still_open([chore], [carol(10, "done")]) == [31]
    assert still_open([chore], [carol(10, "done, rotated all three", reply_to=message_id(1))]) == []


@pytest.mark.parametrize("emoji", ["✅", "✔️", "☑️", "👍", "👍🏽"])
def test_a_resolving_reaction_on_the_raising_message_resolves_it(emoji: str) -> None:
    raised = alice(1, "I'll write the release notes by Thursday", reaction_emojis={emoji: 1}, reactions=1)
    carry = resolve([NOTES], [raised])
    assert carry.still_open == [] and [(r.message_id, r.how) for r in carry.resolved] == [(message_id(1), "reaction")]


def test_other_reactions_do_not_resolve() -> None:
    raised = alice(1, "I'll write the release notes by Thursday", reaction_emojis={"🎉": 3, "👀": 1}, reactions=4)
    assert still_open([NOTES], [raised]) == [11]


def test_a_bots_done_resolves_nothing() -> None:
    assert still_open([NOTES], [make_message(10, "done", author_id=ALICE, author_name="alice", bot=True)]) == [11]


def result_with(items: list[SummaryItem], format: str = "structured") -> SummaryResult:
    return SummaryResult(format=format, language="en", model="extractive", provider="local", items=items,
                         message_count=3, participant_count=2, guild_id=GUILD_ID, channel_id=CHANNEL_ID)


def test_items_raised_cite_their_first_message_and_find_the_owners_id() -> None:
    messages = [bob(1, "Alice, can you write the release notes?"), alice(2, "sure"), bob(3, "which version?")]
    result = result_with([
        SummaryItem("overview", "Release talk", [message_id(1)]),
        SummaryItem("action_items", "Write the release notes", [message_id(2), message_id(1)], owner="Alice"),
        SummaryItem("open_questions", "Which version?", [message_id(3)]),
        SummaryItem("action_items", "Invented", [999]),  # a citation the model made up: nothing to watch
    ])
    notes, question = items_raised(result, messages)
    assert (notes.message_id, notes.owner, notes.owner_id, notes.raised_by_id) == (message_id(1), "Alice", ALICE, BOB)
    assert (question.section, question.owner_id, question.raised_by_id) == ("open_questions", None, BOB)
    assert notes.raised_at == messages[0].created_at and notes.channel_id == CHANNEL_ID


def test_still_open_joins_the_result_before_the_links_and_skips_what_it_lists_itself() -> None:
    thread_id = CHANNEL_ID + 1
    in_thread = OpenItem(section="open_questions", text="Who reviews the migration?", message_id=message_id(7),
                         channel_id=thread_id)
    result = result_with([
        SummaryItem("overview", "Release talk", [message_id(20)]),
        SummaryItem("action_items", "Release notes, again", [message_id(1)], owner="Alice"),  # NOTES restated
        SummaryItem("links", "https://example.com", [message_id(21)]),
    ])
    carried = with_still_open(result, [NOTES, QUESTION, in_thread])
    assert [item.section for item in carried.items] == ["overview", "action_items", "still_open", "still_open", "links"]
    assert [item.message_ids for item in carried.section("still_open")] == [[message_id(2)], [message_id(7)]]
    assert carried.channel_of(message_id(7)) == thread_id and carried.channel_of(message_id(2)) == CHANNEL_ID
    assert with_still_open(result, []) is result


def test_still_open_renders_in_markdown_and_discord_with_jump_links_to_where_it_was_raised() -> None:
    result = with_still_open(result_with([SummaryItem("overview", "Release talk", [message_id(20)])], format="brief"),
                             [NOTES])
    link = f"https://discord.com/channels/{GUILD_ID}/{CHANNEL_ID}/{message_id(1)}"
    markdown = render_markdown(result)
    assert "## Still open" in markdown and f"- **Alice**: Write the release notes by Thursday ([1]({link}))" in markdown
    [[embed]] = render_discord(result).pages
    [field] = embed["fields"]
    assert field["name"] == "Still open" and link in field["value"] and not violations([embed])
