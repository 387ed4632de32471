"""The offline extractive engine: every section of every format, with real citations, no network."""

from __future__ import annotations

import pytest

from summaries.engine.formats import FORMATS
from summaries.engine.options import SummaryOptions
from summaries.engine.pipeline import summarize
from summaries.engine.synthetic import make_message, message_id, synthetic_conversation
from summaries.engine.types import SummaryResult

ALICE, BOB, CAROL, DAVE = (1, "Alice"), (2, "Bob"), (3, "Carol"), (4, "Dave")


def said(index: int, who: tuple[int, str], content: str, **extra: object):
    return make_message(index, content, author_id=who[0], author_name=who[1].lower(), display_name=who[1], **extra)


def team_chat():
    return [
        said(0, ALICE, "Should we move the job queue to Postgres? sqlite keeps locking under load", reactions=4),
        said(
            1,
            BOB,
            "Yes, let's go with Postgres for the queue, it handles the concurrency",
            reply_to=message_id(0),
            kind="reply",
        ),
        said(2, CAROL, "Agreed. I'll write the migration tonight"),
        said(3, ALICE, "<@2> can you update the deploy docs after that?", user_mentions={2: "Bob"}),
        said(4, DAVE, "Who is on call this weekend?", minutes=4),
        said(5, BOB, "Docs are here: https://docs.example.com/deploy.", minutes=300),
        said(6, ALICE, "TODO rotate the staging keys before Friday", minutes=301),
        said(7, CAROL, "The build fails with a timeout error on CI since this morning", minutes=302),
        said(
            8,
            DAVE,
            "Fixed it, turns out the problem was the cache size in the runner",
            minutes=303,
            reply_to=message_id(7),
            kind="reply",
        ),
        said(9, BOB, "ok", minutes=304),
    ]


async def run(messages, **options: object) -> SummaryResult:
    return await summarize(messages, SummaryOptions(**options), provider=None)


def cited(result: SummaryResult, section: str) -> list[int]:
    return [i for item in result.section(section) for i in item.message_ids]


async def test_structured_summary_has_every_section_with_citations() -> None:
    result = await run(team_chat(), format="structured")
    assert (result.model, result.provider, result.usage.llm_calls) == ("local-extractive", "local", 0)
    assert (result.message_count, result.participant_count) == (10, 4)
    assert [
        s
        for s in ("overview", "key_points", "decisions", "action_items", "open_questions", "links")
        if result.section(s)
    ] == ["overview", "key_points", "decisions", "action_items", "open_questions", "links"]
    ids = {message_id(i) for i in range(10)}
    assert all(item.message_ids and set(item.message_ids) <= ids for item in result.items)
    assert not any(item.unverified for item in result.items)


async def test_overview_states_the_size_span_and_most_active_people() -> None:
    overview = (await run(team_chat())).section("overview")[0].text
    assert overview.startswith("10 messages from 4 participants on 2026-03-02 between 09:00 and 14:04 UTC")
    assert "Most active: Alice (3), Bob (3)" in overview


async def test_decisions_are_found_by_their_wording() -> None:
    assert cited(await run(team_chat()), "decisions") == [message_id(1), message_id(2)]


async def test_action_items_have_owners() -> None:
    items = {item.message_ids[0]: item.owner for item in (await run(team_chat())).section("action_items")}
    assert items[message_id(2)] == "Carol"  # "I'll write..." is the author's own commitment
    assert items[message_id(3)] == "Bob"  # "@Bob can you..." is asked of the person mentioned
    assert items[message_id(6)] == "Alice"  # a TODO with nobody named is the author's


async def test_only_unanswered_questions_are_open() -> None:
    # Message 0 got a reply; message 4 was followed by five hours of silence.
    assert cited(await run(team_chat()), "open_questions") == [message_id(4)]


async def test_links_shared_are_listed_without_trailing_punctuation() -> None:
    links = (await run(team_chat())).section("links")
    assert [(item.text, item.message_ids) for item in links] == [("https://docs.example.com/deploy", [message_id(5)])]


async def test_key_points_prefer_engaging_messages_over_noise() -> None:
    key = cited(await run(team_chat(), format="brief"), "key_points")
    assert message_id(0) in key  # reactions and a reply
    assert message_id(9) not in key  # "ok"


async def test_technical_format_pairs_problems_and_solutions() -> None:
    result = await run(team_chat(), format="technical")
    assert message_id(7) in cited(result, "problems")
    assert message_id(8) in cited(result, "solutions")
    assert message_id(1) in cited(result, "code_decisions")


async def test_detailed_format_walks_the_conversation_stretch_by_stretch() -> None:
    discussion = (await run(team_chat(), format="detailed")).section("discussion")
    assert len(discussion) == 2  # split by the five-hour silence
    assert discussion[0].text.startswith("2026-03-02 09:00–09:04 (5 messages; Alice, Bob, Carol, Dave)")


@pytest.mark.parametrize("format_name", sorted(FORMATS))
async def test_every_format_works_on_a_large_conversation(format_name: str) -> None:
    messages = synthetic_conversation(3_000, seed=2)
    result = await run(messages, format=format_name)
    sections = {item.section for item in result.items}
    assert {"overview"} <= sections <= {s.name for s in FORMATS[format_name].sections}
    assert len(sections) >= 2
    ids = {m.id for m in messages}
    assert all(set(item.message_ids) <= ids for item in result.items)


async def test_other_languages_get_structural_results_and_a_language_guess() -> None:
    messages = [
        said(0, ALICE, "Est-ce que quelqu'un a testé la nouvelle version du serveur ?"),
        said(1, BOB, "Oui, on a décidé de passer à Postgres, c'est plus stable", reply_to=message_id(0), kind="reply"),
        said(2, CAROL, "Je vais écrire la migration ce soir", reactions=3),
        said(3, DAVE, "Qui est d'astreinte ce week-end ?", minutes=10),
        said(4, ALICE, "Le lien : https://exemple.fr/doc", minutes=200),
    ]
    result = await run(messages, format="structured")
    assert result.language == "fr"
    assert cited(result, "decisions") == [message_id(1)]
    assert [item.owner for item in result.section("action_items")] == ["Carol"]
    assert cited(result, "open_questions") == [message_id(3)]
    assert result.section("links")[0].text == "https://exemple.fr/doc"


async def test_a_given_language_is_reported_as_is() -> None:
    assert (await run(team_chat(), language="de")).language == "de"
