"""summarize() end to end: the offline path, and the LLM path through the real OpenAI provider talking to
the fake OpenAI server over a socket (tests/fakes/openai_server.py)."""

from __future__ import annotations

import json

import pytest

from summaries.engine import InMemoryChunkCache, SummaryOptions, summarize
from summaries.engine.estimate import estimate
from summaries.engine.synthetic import make_message, message_id, synthetic_conversation
from summaries.llm.errors import LLMBadOutput
from summarybot.errors import BudgetExceeded, InvalidInput
from tests.fakes import openai_server as fake


def progress_log() -> tuple[list[tuple[str, int, int]], object]:
    seen: list[tuple[str, int, int]] = []
    return seen, lambda stage, done, total: seen.append((stage, done, total))


# --- offline ---------------------------------------------------------------------------------------


async def test_offline_run_reports_progress_and_needs_no_provider() -> None:
    seen, on_progress = progress_log()
    result = await summarize(synthetic_conversation(50), SummaryOptions(), provider=None, on_progress=on_progress)
    assert [stage for stage, _, _ in seen] == ["preparing", "preparing", "summarizing", "summarizing"]
    assert seen[-1] == ("summarizing", 1, 1)
    assert result.items and result.usage.llm_calls == 0 and result.usage.cost_usd == 0


async def test_nothing_left_to_summarize_is_invalid_input() -> None:
    messages = [make_message(0, "!nosummary hi"), make_message(1, "beep", bot=True)]
    with pytest.raises(InvalidInput, match="No messages left") as caught:
        await summarize(messages, SummaryOptions(), provider=None)
    assert caught.value.details["dropped"] == {"opt_out_marker": 1, "bot": 1}


def test_unknown_format_is_refused() -> None:
    with pytest.raises(InvalidInput, match="Unknown summary format"):
        SummaryOptions(format="poem")


# --- through the OpenAI provider and the fake server -------------------------------------------------

pytestmark_llm = pytest.mark.django_db(transaction=True)
OPTIONS = SummaryOptions(format="structured", max_output_tokens=400, prices={"gpt-4o-mini": (0.15, 0.60)})


@pytestmark_llm
async def test_a_short_conversation_is_one_call_citing_real_messages(fake_openai, make_provider) -> None:
    messages = synthetic_conversation(120, seed=4)
    result = await summarize(messages, OPTIONS, provider=make_provider())
    (request,) = fake_openai.chat_requests
    assert request.response_format["type"] == "json_schema"
    assert request.response_format["json_schema"]["name"] == "summary_structured"
    assert (result.chunk_count, result.reduce_levels, result.usage.llm_calls) == (1, 0, 1)
    assert result.usage.prompt_tokens == request.prompt_tokens
    expected_cost = (result.usage.prompt_tokens * 0.15 + result.usage.completion_tokens * 0.60) / 1_000_000
    assert result.usage.cost_usd == pytest.approx(expected_cost)
    assert (result.provider, result.language) == ("openai", "en")
    ids = {m.id for m in messages}
    assert all(item.message_ids and set(item.message_ids) <= ids for item in result.items)
    assert result.section("links")  # extracted locally, not asked of the model


@pytestmark_llm
async def test_the_budget_cap_stops_the_request_before_any_call(fake_openai, make_provider) -> None:
    messages = synthetic_conversation(3_000)
    options = SummaryOptions(max_prompt_tokens=20_000, max_output_tokens=400)
    planned = estimate(messages, options, context_tokens=128_000)
    assert planned.prompt_tokens > 20_000
    with pytest.raises(BudgetExceeded, match="per-request cap of 20,000"):
        await summarize(messages, options, provider=make_provider())
    assert fake_openai.chat_requests == []


@pytestmark_llm
async def test_map_reduce_reports_progress_and_caches_chunk_summaries(fake_openai, make_provider) -> None:
    messages = synthetic_conversation(800, seed=9)
    cache = InMemoryChunkCache()
    seen, on_progress = progress_log()
    provider = make_provider(context_tokens=6_000)

    first = await summarize(messages, OPTIONS, provider=provider, cache=cache, on_progress=on_progress)

    assert first.chunk_count > 1 and first.reduce_levels >= 1
    assert {stage for stage, _, _ in seen} == {"preparing", "summarizing", "reducing"}
    assert ("summarizing", first.chunk_count, first.chunk_count) in seen
    assert len(cache) == first.chunk_count
    calls_before = len(fake_openai.chat_requests)

    second = await summarize(messages, OPTIONS, provider=provider, cache=cache)

    # Every chunk came from the cache: only the reduce calls were made again.
    assert second.usage.cached_chunks == first.chunk_count
    assert second.usage.llm_calls == first.usage.llm_calls - first.chunk_count
    assert len(fake_openai.chat_requests) == calls_before + second.usage.llm_calls
    assert {i for item in second.items for i in item.message_ids} <= {m.id for m in messages}


@pytestmark_llm
async def test_a_point_citing_only_invented_refs_is_kept_and_flagged(fake_openai, make_provider) -> None:
    reply = {
        "language": "en",
        "overview": [{"text": "A talk about the release.", "refs": [0, 1]}],
        "key_points": [{"text": "Something nobody said", "refs": [987654]}],
        "decisions": [],
        "action_items": [],
        "open_questions": [],
    }
    fake_openai.enqueue(fake.content(json.dumps(reply)))
    messages = synthetic_conversation(30)
    result = await summarize(messages, OPTIONS, provider=make_provider())
    (point,) = result.section("key_points")
    assert point.unverified and point.message_ids == []
    assert result.section("overview")[0].message_ids == [messages[0].id, messages[1].id]


@pytestmark_llm
async def test_a_second_invalid_reply_is_bad_output(fake_openai, make_provider) -> None:
    fake_openai.enqueue(fake.content("not json"), fake.content('{"overview": "still wrong"}'))
    with pytest.raises(LLMBadOutput, match="even after a repair attempt"):
        await summarize(synthetic_conversation(30), OPTIONS, provider=make_provider())
    assert len(fake_openai.chat_requests) == 2


@pytestmark_llm
async def test_an_explicit_language_is_asked_for_and_reported(fake_openai, make_provider) -> None:
    result = await summarize(
        synthetic_conversation(30), SummaryOptions(language="Spanish", max_output_tokens=400), provider=make_provider()
    )
    system = fake_openai.chat_requests[0].messages[0]["content"]
    assert "Write in Spanish" in system
    assert result.language == "Spanish"


@pytestmark_llm
async def test_preflight_gets_the_plans_estimate_before_the_first_call(fake_openai, make_provider) -> None:
    messages = synthetic_conversation(800, seed=9)
    seen: list[tuple[object, int]] = []

    async def preflight(planned) -> None:  # type: ignore[no-untyped-def]
        seen.append((planned, len(fake_openai.chat_requests)))

    result = await summarize(messages, OPTIONS, provider=make_provider(context_tokens=6_000), preflight=preflight)

    ((planned, requests_before),) = seen  # awaited exactly once
    assert planned == estimate(messages, OPTIONS, context_tokens=6_000)
    assert requests_before == 0
    # An upper bound of what then ran (replies shorter than their ceiling may pack into fewer reduces).
    assert 1 < len(fake_openai.chat_requests) == result.usage.llm_calls <= planned.llm_calls
    assert result.usage.prompt_tokens <= planned.prompt_tokens


@pytestmark_llm
async def test_a_failing_preflight_aborts_the_summary_with_no_call_made(fake_openai, make_provider) -> None:
    async def over_budget(planned) -> None:  # type: ignore[no-untyped-def]
        raise BudgetExceeded(f"needs {planned.prompt_tokens} tokens")

    with pytest.raises(BudgetExceeded, match="needs"):
        await summarize(synthetic_conversation(120, seed=4), OPTIONS, provider=make_provider(), preflight=over_budget)
    assert fake_openai.chat_requests == []


async def test_the_offline_engine_runs_no_preflight() -> None:
    async def preflight(planned) -> None:  # type: ignore[no-untyped-def]
        raise AssertionError("the offline engine costs nothing and has no plan to check")

    result = await summarize(synthetic_conversation(50), SummaryOptions(), provider=None, preflight=preflight)
    assert result.usage.llm_calls == 0


# --- a member's catch-up: "For you" ------------------------------------------------------------------


async def test_for_you_lists_mentions_and_replies_to_the_member_redacted_and_without_opted_out_authors() -> None:
    member, other, opted_out = 7, 8, 9
    messages = [
        make_message(0, "my own note", author_id=member, author_name="mia"),
        make_message(1, "<@7> please mail bob@example.com", author_id=other, author_name="olaf", user_mentions={member: "mia"}),
        make_message(2, "unrelated chatter about lunch", author_id=other, author_name="olaf"),
        make_message(3, "agreed with you", author_id=other, author_name="olaf", reply_to=message_id(0)),
        make_message(4, "<@7> psst", author_id=opted_out, author_name="quinn", user_mentions={member: "mia"}),
    ]
    options = SummaryOptions(for_member_id=member, opted_out_user_ids=frozenset({opted_out}))

    result = await summarize(messages, options, provider=None)

    for_you = result.section("for_you")
    assert [item.message_ids for item in for_you] == [[message_id(1)], [message_id(3)]]
    assert all(item.owner == "olaf" for item in for_you)
    assert "bob@example.com" not in for_you[0].text
    assert result.items[0].section == "for_you"
    plain = await summarize(messages, SummaryOptions(opted_out_user_ids=frozenset({opted_out})), provider=None)
    assert plain.section("for_you") == []
