"""Planning: every call within the budget, every message in some call, cuts at silences."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from summaries.engine.estimate import build_plan, estimate, estimate_plan
from summaries.engine.formats import get_format
from summaries.engine.normalize import prepare
from summaries.engine.options import SummaryOptions
from summaries.engine.planner import Budget, Chunk, group_for_reduce, plan_chunks, split_chunk
from summaries.engine.prompts import chunk_system_prompt
from summaries.engine.schema import json_schema
from summaries.engine.synthetic import make_message, synthetic_conversation
from summaries.engine.tokens import TokenCounter
from summaries.engine.transcript import render_chunk
from summarybot.errors import InvalidInput


@pytest.fixture(scope="module")
def big_plan():
    options = SummaryOptions(format="structured", context_tokens=16_000, max_output_tokens=1_000)
    conversation = prepare(synthetic_conversation(50_000, seed=5), options)
    return options, build_plan(conversation, options, context_tokens=None)


def test_a_50k_message_plan_never_exceeds_the_budget_and_covers_every_message(big_plan) -> None:
    options, plan = big_plan
    messages = plan.conversation.messages
    counter = TokenCounter(options.model)
    fmt = get_format(options.format)
    schema_tokens = counter.count(json.dumps(json_schema(fmt.name)["schema"]))
    assert len(plan.chunks) > 20
    # Contiguous and complete: chunk i ends where chunk i+1 starts, from the first message to the last.
    assert plan.chunks[0].start == 0 and plan.chunks[-1].end == len(messages)
    assert all(a.end == b.start for a, b in zip(plan.chunks, plan.chunks[1:], strict=False))
    assert all(chunk.size > 0 for chunk in plan.chunks)
    gap_seconds = options.notable_gap_minutes * 60
    for part, chunk in enumerate(plan.chunks, 1):
        system = chunk_system_prompt(fmt, options.language, part=part, parts=len(plan.chunks))
        transcript = render_chunk(messages[chunk.start : chunk.end], gap_seconds)
        prompt = counter.count_chat([{"content": system}, {"content": transcript}]) + schema_tokens
        assert prompt + options.max_output_tokens <= 16_000
        assert counter.count(transcript) <= chunk.tokens


def test_chunks_are_well_filled(big_plan) -> None:
    _, plan = big_plan
    full = [c for c in plan.chunks[:-1] if c.tokens >= 0.6 * plan.budget.input_tokens]
    assert len(full) == len(plan.chunks) - 1


def test_the_estimate_counts_map_and_reduce_calls(big_plan) -> None:
    options, plan = big_plan
    planned = estimate_plan(plan, options)
    assert planned.chunk_count == len(plan.chunks)
    assert planned.reduce_levels >= 2
    assert planned.llm_calls > planned.chunk_count
    assert planned.prompt_tokens > sum(c.tokens for c in plan.chunks)
    assert planned.max_completion_tokens == planned.llm_calls * options.max_output_tokens


def test_a_small_conversation_is_one_call() -> None:
    planned = estimate(synthetic_conversation(200), SummaryOptions(context_tokens=128_000))
    assert (planned.chunk_count, planned.llm_calls, planned.reduce_levels) == (1, 1, 0)


def test_estimate_prices_the_plan() -> None:
    options = SummaryOptions(model="gpt-4o-mini", prices={"gpt-4o-mini": (0.15, 0.60)})
    planned = estimate(synthetic_conversation(200), options)
    expected = (planned.prompt_tokens * 0.15 + planned.max_completion_tokens * 0.60) / 1_000_000
    assert planned.cost_usd == pytest.approx(expected)


def test_chunks_are_cut_at_the_longest_silence_near_the_end() -> None:
    messages = [make_message(i, "word " * 40, author_id=1 + i % 2, minutes=i) for i in range(40)]
    # A long silence before message 25: the cut should land there rather than where the budget runs out.
    messages = [
        m if i < 25 else make_message(i, m.content, author_id=m.author.id, minutes=i + 300)
        for i, m in enumerate(messages)
    ]
    options = SummaryOptions()
    conversation = prepare(messages, options)
    for m in conversation.messages:
        m.tokens = 45
    costs = [50] * 40
    chunks = plan_chunks(conversation.messages, costs, {}, budget=50 * 30, gap_seconds=20 * 60)
    assert chunks[0] == Chunk(0, 25, 25 * 50)
    assert chunks[1].start == 25 and chunks[-1].end == 40


def test_without_a_silence_chunks_are_cut_where_the_budget_runs_out() -> None:
    conversation = prepare([make_message(i, "x", minutes=i) for i in range(10)], SummaryOptions())
    chunks = plan_chunks(conversation.messages, [10] * 10, {1: 5}, budget=45, gap_seconds=1200)
    assert [(c.start, c.end) for c in chunks] == [(0, 4), (4, 8), (8, 10)]
    assert all(c.tokens <= 45 for c in chunks)


def test_an_overlong_message_is_truncated_to_fit_in_the_transcript_only() -> None:
    options = SummaryOptions(context_tokens=8_000, max_output_tokens=500, max_message_tokens=300)
    long_text = "lorem ipsum " * 3000 + "https://example.com/at-the-end"
    messages = [make_message(0, long_text), make_message(1, "short")]
    plan = build_plan(prepare(messages, options), options, context_tokens=None)
    message = plan.conversation.messages[0]
    assert message.tokens <= 300
    assert message.shown.endswith("…[truncated]")
    # The text itself stays whole: the links section still finds the URL the transcript cut off.
    assert message.text == long_text.strip()


def test_split_chunk_prefers_a_silence_in_the_middle_half() -> None:
    base = [make_message(i, "x", minutes=i) for i in range(12)]
    base[7] = make_message(7, "x", minutes=200)
    base = base[:8] + [make_message(i, "x", minutes=200 + i) for i in range(8, 12)]
    conversation = prepare(base, SummaryOptions())
    first, second = split_chunk(Chunk(0, 12, 120), conversation.messages, [10] * 12)
    assert (first.start, first.end, second.start, second.end) == (0, 7, 7, 12)
    with pytest.raises(ValueError):
        split_chunk(Chunk(3, 4, 10), conversation.messages, [10] * 12)


def test_reduce_groups_fit_the_budget_and_hold_at_least_two() -> None:
    groups = group_for_reduce([400] * 9, budget=1_000)
    # The ninth fits with no neighbour: it goes up a level as it is, without a call of its own.
    assert [len(g) for g in groups] == [2, 2, 2, 2, 1]
    # A lone trailing summary joins the previous group when that still fits.
    assert group_for_reduce([400] * 5, budget=1_200) == [range(3), range(3, 5)]
    assert group_for_reduce([300] * 5, budget=1_000) == [range(3), range(3, 5)]
    assert group_for_reduce([100] * 5, budget=1_000) == [range(5)]


def test_a_context_too_small_for_two_summaries_is_refused() -> None:
    with pytest.raises(InvalidInput, match="too small"):
        Budget(context_tokens=3_000, overhead_tokens=900, output_tokens=1_000, max_chunk_tokens=60_000).check()


def test_estimate_of_nothing_is_zero() -> None:
    planned = estimate([make_message(0, "!nosummary")], SummaryOptions())
    assert planned.llm_calls == 0 and planned.prompt_tokens == 0


def test_messages_spread_over_days_still_form_valid_chunks() -> None:
    messages = [make_message(i, "hello there " * 20, author_id=i % 7, minutes=i * 600) for i in range(500)]
    options = SummaryOptions(context_tokens=8_000, max_output_tokens=500)
    plan = build_plan(prepare(messages, options), options, context_tokens=None)
    assert sum(c.size for c in plan.chunks) == 500
    assert all(c.tokens <= plan.budget.input_tokens for c in plan.chunks)
    assert plan.conversation.messages[-1].created_at - plan.conversation.messages[0].created_at > timedelta(days=200)
