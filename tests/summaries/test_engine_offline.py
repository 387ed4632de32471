"""The offline extractive engine: every section of every format, with real citations, no network."""

from __future__ import annotations

import pytest

from summaries.engine.formats import FORMATS
from summaries.engine.options import SummaryOptions
from summaries.engine.pipeline import summarize
from summaries.engine.synthetic import make_message, message_id, synthetic_conversation
from summaries.engine.synthetic_planted import planted_conversation
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


# --- decisions, action items and questions across messages ----------------------------------------------

MAYA, TOM, LIN, SAM = (11, "Maya"), (12, "Tom"), (13, "Lin"), (14, "Sam")


def chat(*lines: tuple[tuple[int, str], str], start: int = 0, step: float = 2):
    """Messages two minutes apart, in order."""
    return [said(i, who, text, minutes=start + i * step) for i, (who, text) in enumerate(lines)]


@pytest.mark.parametrize(
    "wording",
    [
        "Decided: the beta ships on Friday.",
        "We'll go with Redis for the session store.",
        "OK, let's go with the smaller instance type.",
        "Agreed: retries stay at three.",
        "Final: the API keeps the v1 prefix.",
        "The checks are green, ship it.",
    ],
)
async def test_an_explicit_decision_marker_makes_a_decision(wording: str) -> None:
    messages = chat((TOM, "The staging numbers look fine to me."), (MAYA, wording), (LIN, "Lunch anyone?"))
    assert cited(await run(messages), "decisions") == [message_id(1)]


async def test_a_proposal_others_agree_to_is_a_decision_citing_the_agreements() -> None:
    messages = chat(
        (MAYA, "Proposal: we move the standup to 10:00 UTC from next week. Objections?"),
        (LIN, "No objection from me."),
        (TOM, "Works for me."),
        (SAM, "The dashboard is slow again today, anyone else seeing it?"),
    )
    decisions = (await run(messages)).section("decisions")
    assert [item.message_ids for item in decisions] == [[message_id(0), message_id(1), message_id(2)]]
    assert "standup to 10:00" in decisions[0].text and "agreed by Lin, Tom" in decisions[0].text


async def test_a_proposal_nobody_agreed_to_is_not_a_decision() -> None:
    messages = chat(
        (MAYA, "Let's move the standup to 10:00 UTC. Objections?"),
        (LIN, "No, that clashes with the customer call."),
        (TOM, "The dashboard is slow again today."),
    )
    assert cited(await run(messages), "decisions") == []


async def test_a_proposal_and_its_final_wording_are_one_decision() -> None:
    messages = chat(
        (MAYA, "Then let's decide: release 3.1 on Tuesday, code freeze Friday at noon. Objections?"),
        (LIN, "No objection."),
        (TOM, "Fine by me."),
        (MAYA, "Decided: 3.1 ships Tuesday, freeze Friday 12:00 UTC."),
    )
    decisions = (await run(messages)).section("decisions")
    assert len(decisions) == 1
    assert decisions[0].text.startswith("Maya: Decided: 3.1 ships Tuesday")
    assert decisions[0].message_ids == [message_id(i) for i in range(4)]


async def test_a_bare_agreed_opening_an_unrelated_statement_is_not_a_decision() -> None:
    messages = chat(
        (TOM, "The real bug is that the client never refreshes the token on a 401."),
        (SAM, "Agreed, I've seen the same 401 in the production logs this week."),
        (LIN, "Left two comments on the PR, mostly naming. Approved otherwise."),
    )
    assert cited(await run(messages), "decisions") == []


async def test_a_wrap_up_and_an_assignment_of_work_are_decisions() -> None:
    messages = chat(
        (TOM, "The login test fails when the session cookie expires mid-run."),
        (MAYA, "OK so the fix is in the API client, not the test."),
        (SAM, "I can own the database migration."),
        (MAYA, "Great. Sam owns the migration, Lin reviews the runbook. Target date?"),
        (SAM, "End of the month."),
    )
    decisions = (await run(messages)).section("decisions")
    assert [item.message_ids[0] for item in decisions] == [message_id(1), message_id(3)]
    assert decisions[1].text == "Maya: Sam owns the migration, Lin reviews the runbook."  # no filler, no question


async def test_the_person_asked_owns_the_item_and_their_reply_is_cited() -> None:
    messages = chat(
        (MAYA, "OK so the fix belongs in the API client. Tom, can you take that?"),
        (TOM, "Yes, I'll open a PR for the token refresh by Thursday."),
        (LIN, "Nice."),
    )
    items = (await run(messages)).section("action_items")
    assert [(item.owner, item.message_ids) for item in items] == [("Tom", [message_id(0), message_id(1)])]
    assert items[0].text == "I'll open a PR for the token refresh by Thursday."


async def test_a_request_to_someone_answered_by_a_volunteer_is_theirs() -> None:
    messages = chat(
        (SAM, "Could someone review the pg_upgrade runbook before Friday?"),
        (LIN, "I'll review the runbook this week."),
    )
    items = (await run(messages)).section("action_items")
    assert [(item.owner, item.message_ids) for item in items] == [("Lin", [message_id(0), message_id(1)])]


async def test_near_identical_action_items_are_merged_citing_every_message() -> None:
    messages = [
        *chat(
            (LIN, "I'll review the runbook this week."),
            (SAM, "I can own the migration to Postgres 16."),
            (MAYA, "Great. Sam owns the migration, Lin reviews the runbook."),
        ),
        said(3, TOM, "<@13> please also add the rollback steps to the wiki", minutes=6, user_mentions={13: "Lin"}),
    ]
    items = {(item.owner, tuple(item.message_ids)) for item in (await run(messages)).section("action_items")}
    assert items == {
        ("Lin", (message_id(0), message_id(2))),
        ("Sam", (message_id(1), message_id(2))),
        ("Lin", (message_id(3),)),
    }


async def test_a_question_answered_a_few_messages_later_on_its_words_is_not_open() -> None:
    messages = [
        said(0, TOM, "Do we need a maintenance window for the database upgrade, or can we use logical replication?"),
        said(1, LIN, "Has anyone seen the new dashboard colours?", minutes=1),
        said(2, MAYA, "Are the new dashboard colours final?", minutes=2),
        said(3, SAM, "Logical replication avoids the maintenance window but doubles the disk for a week.", minutes=3),
        said(4, SAM, "Who writes the release notes for 3.1?", minutes=60),
    ]
    open_ = cited(await run(messages), "open_questions")
    assert message_id(0) not in open_  # answered by Sam three messages later, on the same words
    assert message_id(4) in open_  # nobody answered
    assert message_id(1) in open_  # the next message was another question, the answer was not about it


async def test_social_formulas_are_not_open_questions() -> None:
    messages = [
        said(0, MAYA, "Morning! How are you all doing?"),
        said(1, TOM, "The export job is green again after the restart.", minutes=30),
        said(2, MAYA, "Excellent. Anything else before we wrap up?", minutes=60),
        said(3, SAM, "Who writes the release notes for 3.1?", minutes=90),
    ]
    assert cited(await run(messages), "open_questions") == [message_id(3)]


async def test_key_points_leave_out_what_other_sections_say_and_prefer_topics_and_outcomes() -> None:
    messages = chat(
        (MAYA, "Agenda for today: the 3.1 release date and the flaky login test."),
        (TOM, "lol same"),
        (LIN, "brb coffee"),
        (MAYA, "Decided: 3.1 ships Tuesday."),
        (TOM, "Merged. The flaky test passed 200 runs in a row on CI."),
        (SAM, "ok"),
    )
    result = await run(messages, format="structured")
    key = cited(result, "key_points")
    assert message_id(0) in key and message_id(4) in key
    assert message_id(3) not in key  # already a decision
    assert message_id(3) in cited(await run(messages, format="brief"), "key_points")  # the brief has no such section


async def test_technical_format_cites_the_problem_each_solution_solves() -> None:
    messages = chat(
        (TOM, "The login test fails when the session cookie expires mid-run."),
        (LIN, "Can we just bump the cookie lifetime?"),
        (TOM, "That hides it. The real bug is that the client never refreshes the token on a 401."),
        (MAYA, "OK so the fix is in the API client: refresh the token on a 401 and retry once."),
    )
    result = await run(messages, format="technical")
    assert message_id(2) in cited(result, "problems")
    solutions = result.section("solutions")
    assert [item.message_ids for item in solutions] == [[message_id(3), message_id(2)]]
    assert message_id(3) in cited(result, "code_decisions")


async def test_fifty_thousand_messages_summarize_offline_with_bounded_sections() -> None:
    messages = synthetic_conversation(50_000, seed=5)
    result = await run(messages, format="structured")
    assert result.message_count == 50_000
    ids = {m.id for m in messages}
    for name in ("key_points", "decisions", "action_items", "open_questions"):
        items = result.section(name)
        assert 1 <= len(items) <= 12
        assert all(item.message_ids and set(item.message_ids) <= ids for item in items)
    assert all(item.owner for item in result.section("action_items"))


# --- what real chat files wrongly: jokes, vague intentions, questions nobody is asked (issue 15) --------


@pytest.mark.parametrize(
    "joke",
    [
        "God bless whoever decided to put spaces between words",
        "whoever decided this font was readable owes me new glasses lol",
        "we decided to never sleep again haha",
        "Dieu bénisse celui qui a décidé de mettre des espaces entre les mots",
        "Gott segne den, der entschieden hat, Leerzeichen zwischen Wörter zu setzen",
        "Bendito sea quien decidió poner espacios entre las palabras",
        "Decided: pizza is a vegetable 😂",
    ],
)
async def test_a_joke_with_a_decision_word_is_not_a_decision(joke: str) -> None:
    messages = chat((TOM, "The staging numbers look fine to me."), (MAYA, joke), (LIN, "The build is green again."))
    assert cited(await run(messages), "decisions") == []


@pytest.mark.parametrize(
    "vague",
    [
        "I'll try to watch that when I get the time",
        "Maybe I'll look into the flaky test at some point",
        "I'll probably read the RFC eventually",
        "I'll see if I can find the old config",
        "Je vais peut-être regarder ça quand j'aurai le temps",
        "Ich werde vielleicht irgendwann die Doku lesen",
        "Voy a intentar verlo cuando tenga tiempo",
    ],
)
async def test_a_vague_intention_is_not_an_action_item(vague: str) -> None:
    messages = chat((TOM, "The new talk on async Rust is online."), (MAYA, vague), (LIN, "The build is green again."))
    assert cited(await run(messages), "action_items") == []


async def test_a_concrete_commitment_is_still_an_action_item_with_its_owner() -> None:
    messages = chat((TOM, "The login test is flaky again."), (MAYA, "I'll fix the login test tomorrow morning."))
    items = (await run(messages)).section("action_items")
    assert [(item.owner, item.message_ids) for item in items] == [("Maya", [message_id(1)])]


async def test_a_request_nobody_took_has_no_owner_and_is_not_an_action_item() -> None:
    messages = chat(
        (TOM, "Can someone update the runbook for the new deploy?"),
        (LIN, "The dashboard is slow again today."),
        (SAM, "Lunch at noon, as usual."),
    )
    assert cited(await run(messages), "action_items") == []


@pytest.mark.parametrize(
    "not_asked",
    [
        "Why did I ever agree to write this in Perl?",
        "Who cares about IE11 anymore?",
        "What could possibly go wrong?",
        "Am I the only one who reads the changelog?",
        "is this a bug or a feature lol?",
        "> does anyone know the staging password?\nfound it in the vault, never mind",
        "Pourquoi j'ai accepté de faire ça?",
        "Warum habe ich das nur gemacht?",
    ],
)
async def test_a_question_not_asked_of_the_channel_is_not_open(not_asked: str) -> None:
    messages = chat((TOM, "Deploy finished."), (MAYA, not_asked), step=120)
    assert cited(await run(messages), "open_questions") == []


async def test_a_real_question_nobody_answered_is_still_open() -> None:
    messages = chat((TOM, "Deploy finished."), (MAYA, "Does anyone know who owns the billing cron job?"), step=120)
    assert cited(await run(messages), "open_questions") == [message_id(1)]


@pytest.mark.parametrize("language", ["en", "fr", "de"])
async def test_planted_items_are_found_and_look_alikes_are_not(language: str) -> None:
    planted = planted_conversation(300, language, seed=11)
    result = await run(planted.messages, format="structured")
    for section, groups in planted.sections.items():
        items = result.section(section)
        right = [item for item in items if any(set(item.message_ids) & group for group in groups)]
        assert len(right) >= 0.9 * len(items), section
    cited_decisions = {i for item in result.section("decisions") for i in item.message_ids}
    assert sum(1 for group in planted.sections["decisions"] if group & cited_decisions) >= 9
