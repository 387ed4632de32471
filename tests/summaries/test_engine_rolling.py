"""Rolling digests: chunks planned on period boundaries, so a week reuses its days' chunk summaries.

The planner tests need no server; the last ones run the real engine through the real OpenAI provider
against the fake server, with the engine's in-memory chunk cache standing in for the Django one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from summaries.engine import SummaryOptions, summarize
from summaries.engine.cache import InMemoryChunkCache, chunk_fingerprint
from summaries.engine.estimate import Plan, build_plan
from summaries.engine.formats import get_format
from summaries.engine.normalize import prepare
from summaries.engine.prompts import reduce_system_prompt
from summaries.engine.synthetic import synthetic_days
from summaries.engine.types import ChatMessage
from summarybot.errors import InvalidInput
from tests.fakes.openai_server import FakeOpenAI

DAYS = 7
PER_DAY = 300
# A small context, so that a busy day takes several chunks and the week many.
BASE = SummaryOptions(format="structured", language="en", context_tokens=6_000, max_output_tokens=400)
START = datetime(2026, 3, 2, tzinfo=UTC)
DAY_STARTS = tuple(START + timedelta(days=d) for d in range(DAYS + 1))


def aligned(since: datetime, until: datetime) -> SummaryOptions:
    bounds = tuple(b for b in DAY_STARTS if since <= b <= until)
    return SummaryOptions(
        format=BASE.format,
        language=BASE.language,
        context_tokens=BASE.context_tokens,
        max_output_tokens=BASE.max_output_tokens,
        chunk_boundaries=bounds,
    )


def week() -> list[ChatMessage]:
    return synthetic_days(DAYS, PER_DAY, start=START)


def day_of(message_time: datetime) -> int:
    return (message_time - START) // timedelta(days=1)


def plan_of(messages: Sequence[ChatMessage], options: SummaryOptions) -> Plan:
    return build_plan(prepare(messages, options), options, context_tokens=None)


def chunk_keys(plan: Plan) -> list[tuple[str, int]]:
    """Each chunk as the cache sees it (its fingerprint) and as the planner sized it."""
    messages = plan.conversation.messages
    return [(chunk_fingerprint(messages[c.start : c.end], messages), c.tokens) for c in plan.chunks]


def test_aligned_chunks_never_straddle_a_day_boundary() -> None:
    plan = plan_of(week(), aligned(DAY_STARTS[0], DAY_STARTS[-1]))
    messages = plan.conversation.messages
    assert len(plan.chunks) >= 2 * DAYS
    for chunk in plan.chunks:
        assert day_of(messages[chunk.start].created_at) == day_of(messages[chunk.end - 1].created_at)


def test_the_default_planner_does_cut_across_days() -> None:
    # What the option changes: without boundaries the whole window is planned at once.
    plan = plan_of(week(), BASE)
    messages = plan.conversation.messages
    assert any(day_of(messages[c.start].created_at) != day_of(messages[c.end - 1].created_at) for c in plan.chunks)


def test_each_days_chunks_in_the_week_are_that_days_own_chunks() -> None:
    messages = week()
    weekly = chunk_keys(plan_of(messages, aligned(DAY_STARTS[0], DAY_STARTS[-1])))
    daily: list[tuple[str, int]] = []
    for day in range(DAYS):
        own = [m for m in messages if day_of(m.created_at) == day]
        daily += chunk_keys(plan_of(own, aligned(DAY_STARTS[day], DAY_STARTS[day + 1])))
    assert weekly == daily


def test_a_reply_to_the_day_before_is_detached_only_on_aligned_plans() -> None:
    messages = week()
    first_of_day_two = next(i for i, m in enumerate(messages) if day_of(m.created_at) == 1)
    replying = messages[first_of_day_two + 1]
    messages[first_of_day_two + 1] = dataclasses.replace(
        replying, kind="reply", reply_to=messages[first_of_day_two - 1].id
    )
    default = plan_of(messages, BASE).conversation.messages
    assert default[first_of_day_two + 1].reply_to_index == first_of_day_two - 1
    periods = plan_of(messages, aligned(DAY_STARTS[0], DAY_STARTS[-1])).conversation.messages
    assert periods[first_of_day_two + 1].reply_to_index is None


def test_boundaries_must_be_aware() -> None:
    with pytest.raises(InvalidInput):
        SummaryOptions(chunk_boundaries=(datetime(2026, 3, 2),))


# --- through the fake OpenAI server ----------------------------------------------------------------


def is_reduce(request: object) -> bool:
    system = request.messages[0]["content"]  # type: ignore[attr-defined]
    return system == reduce_system_prompt(get_format(BASE.format), BASE.language)


def with_a_quiet_day(messages: list[ChatMessage], quiet: int = 3) -> list[ChatMessage]:
    """A week where day `quiet` has a handful of messages: its daily run is one chunk, no reduce."""
    kept = 0
    result = []
    for message in messages:
        if day_of(message.created_at) == quiet:
            kept += 1
            if kept > 12:
                continue
        result.append(message)
    return result


@pytest.mark.django_db(transaction=True)
async def test_a_weekly_run_after_seven_daily_runs_makes_only_the_reduce_calls(fake_openai: FakeOpenAI, make_provider):
    messages = with_a_quiet_day(week())
    provider = make_provider(context_tokens=BASE.context_tokens)
    cache = InMemoryChunkCache()
    daily_chunks = 0
    for day in range(DAYS):
        own = [m for m in messages if day_of(m.created_at) == day]
        result = await summarize(own, aligned(DAY_STARTS[day], DAY_STARTS[day + 1]), provider=provider, cache=cache)
        daily_chunks += result.chunk_count
    assert daily_chunks > DAYS  # busy days took several chunks; the quiet one took one
    fake_openai.reset()

    weekly = await summarize(messages, aligned(DAY_STARTS[0], DAY_STARTS[-1]), provider=provider, cache=cache)

    requests = fake_openai.chat_requests
    assert requests and all(is_reduce(r) for r in requests)
    assert weekly.usage.cached_chunks == weekly.chunk_count == daily_chunks
    assert weekly.usage.llm_calls == len(requests)
    ids = {m.id for m in messages}
    assert {i for item in weekly.items for i in item.message_ids} <= ids


@pytest.mark.django_db(transaction=True)
async def test_aligned_map_prompts_name_no_position_and_default_ones_do(fake_openai: FakeOpenAI, make_provider):
    provider = make_provider(context_tokens=BASE.context_tokens)
    one_day = [m for m in week() if day_of(m.created_at) == 0]

    await summarize(one_day, BASE, provider=provider)
    default_maps = [r.messages[0]["content"] for r in fake_openai.chat_requests if not is_reduce(r)]
    fake_openai.reset()
    await summarize(one_day, aligned(DAY_STARTS[0], DAY_STARTS[1]), provider=provider)
    aligned_maps = [r.messages[0]["content"] for r in fake_openai.chat_requests if not is_reduce(r)]

    assert len(default_maps) > 1 and all("You summarize part " in p for p in default_maps)
    assert len(aligned_maps) > 1 and all("You summarize one part of" in p for p in aligned_maps)
    assert len(set(aligned_maps)) == 1
