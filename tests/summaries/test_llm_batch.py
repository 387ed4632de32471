"""The Batch API provider through the unmodified SDK against the fake server's files and batches endpoints:
gathering, per-line results and errors, the deadline fallback, and what batched calls cost."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from summaries.engine import SummaryOptions, summarize
from summaries.engine.costs import BATCH_PRICE_FACTOR, cost_usd
from summaries.engine.synthetic import synthetic_conversation
from summaries.llm import errors
from summaries.llm.base import ChatRequest
from summaries.llm.batch import BatchingProvider, BatchTiming
from tests.fakes import openai_server as fake

from .test_llm_provider import request

pytestmark = pytest.mark.django_db(transaction=True)

# Polls every few milliseconds: a test batch takes three polls (in_progress, finalizing, completed).
QUICK = BatchTiming(deadline_seconds=10.0, gather_seconds=0.05, gather_max_seconds=0.5, poll_max_seconds=0.02)


@pytest.fixture
async def make_batching(make_provider: Callable[..., Any]) -> AsyncIterator[Callable[..., BatchingProvider]]:
    built: list[BatchingProvider] = []

    def build(timing: BatchTiming = QUICK, **overrides: Any) -> BatchingProvider:
        provider = BatchingProvider(make_provider(**overrides), timing=timing, price_factor=BATCH_PRICE_FACTOR)
        built.append(provider)
        return provider

    yield build
    for provider in built:
        await provider.aclose()


def numbered(n: int) -> ChatRequest:
    return request(messages=[{"role": "system", "content": "Summarize."}, {"role": "user", "content": f"0 a: n{n}"}])


async def test_calls_made_together_go_in_one_batch_and_cost_half(fake_openai, make_batching):
    provider = make_batching()

    responses = await asyncio.gather(*(provider.chat(numbered(n)) for n in range(3)))

    assert fake_openai.chat_requests == []  # nothing went the ordinary way
    (batch,) = fake_openai.batches.values()
    assert batch.status == "completed" and batch.endpoint == "/v1/chat/completions"
    lines = fake_openai.batch_input(batch.id)
    assert [line["url"] for line in lines] == ["/v1/chat/completions"] * 3
    assert len({line["custom_id"] for line in lines}) == 3
    # The same body an ordinary call sends: strict json_schema, the model, the token limit.
    body = lines[0]["body"]
    assert body["model"] == "gpt-4o-mini" and body["max_tokens"] == 256
    assert body["response_format"]["type"] == "json_schema" and body["response_format"]["json_schema"]["strict"]
    # Each call got the answer to its own request, at the batch price.
    for n, response in enumerate(responses):
        assert response.price_factor == BATCH_PRICE_FACTOR
        assert json.loads(response.content)["key_points"]
        assert response.prompt_tokens == fake_openai.batch_lines[n].prompt_tokens > 0
    upload = fake_openai.requests_to("POST", r"^/v1/files$")[0]
    assert upload.body["purpose"] == "batch" and upload.body["filename"].endswith(".jsonl")
    assert fake_openai.requests_to("POST", r"^/v1/batches$")[0].body["completion_window"] == "24h"


async def test_error_lines_fail_their_call_like_an_ordinary_call_and_leave_the_others(fake_openai, make_batching):
    provider = make_batching()
    # Scripted replies apply to batch lines in line order: the second request is refused as too long.
    fake_openai.enqueue(fake.content('{"language": "en", "key_points": []}'), fake.context_length_exceeded())

    first, second, third = await asyncio.gather(
        *(provider.chat(numbered(n)) for n in range(3)), return_exceptions=True
    )

    assert isinstance(second, errors.LLMContextLengthExceeded)  # the engine re-plans on exactly this
    assert not isinstance(first, BaseException) and not isinstance(third, BaseException)
    (batch,) = fake_openai.batches.values()
    assert batch.error_file_id is not None and batch.counts == {"total": 3, "completed": 2, "failed": 1}
    assert fake_openai.chat_requests == []


@pytest.mark.parametrize(
    ("scripted", "expected"),
    [(fake.insufficient_quota(), errors.LLMQuotaExceeded), (fake.unauthorized(), errors.LLMAuthError)],
    ids=["quota", "auth"],
)
async def test_account_errors_in_a_line_are_permanent(fake_openai, make_batching, scripted, expected):
    provider = make_batching()
    fake_openai.enqueue(scripted)

    with pytest.raises(expected) as caught:
        await provider.chat(numbered(0))

    assert caught.value.permanent and fake_openai.chat_requests == []


async def test_a_server_error_line_is_made_again_as_an_ordinary_call_at_full_price(fake_openai, make_batching):
    provider = make_batching()
    fake_openai.enqueue(fake.server_error(500))

    first, second = await asyncio.gather(provider.chat(numbered(0)), provider.chat(numbered(1)))

    (ordinary,) = fake_openai.chat_requests
    assert ordinary.messages[1]["content"] == "0 a: n0"
    assert (first.price_factor, second.price_factor) == (1.0, BATCH_PRICE_FACTOR)


async def test_a_batch_that_never_finishes_is_cancelled_at_the_deadline_and_calls_are_made_ordinarily(
    fake_openai, make_batching
):
    fake_openai.batch_outcome = "never"
    provider = make_batching(BatchTiming(deadline_seconds=0.5, gather_seconds=0.02, poll_max_seconds=0.05))

    responses = await asyncio.gather(*(provider.chat(numbered(n)) for n in range(3)))

    (batch,) = fake_openai.batches.values()
    assert fake_openai.requests_to("POST", rf"^/v1/batches/{batch.id}/cancel$")
    assert batch.status in ("cancelling", "cancelled")
    assert len(fake_openai.chat_requests) == 3 and all(r.status == 200 for r in fake_openai.chat_requests)
    assert [r.price_factor for r in responses] == [1.0, 1.0, 1.0]
    # Past the deadline nothing is batched any more: the next call goes straight out.
    await provider.chat(numbered(9))
    assert len(fake_openai.batches) == 1 and len(fake_openai.chat_requests) == 4


async def test_polls_stay_within_the_cap_while_waiting(fake_openai, make_batching):
    fake_openai.batch_outcome = "never"
    timing = BatchTiming(deadline_seconds=1.0, gather_seconds=0.02, poll_max_seconds=0.1)
    provider = make_batching(timing)

    await provider.chat(numbered(0))

    polls = [r.started for r in fake_openai.requests_to("GET", r"^/v1/batches/[^/]+$")]
    gaps = [b - a for a, b in zip(polls, polls[1:], strict=False)]
    assert len(polls) >= 5 and max(gaps) < timing.poll_cap + 0.2


@pytest.mark.parametrize("outcome", ["failed", "expired"])
async def test_a_failed_or_expired_batch_falls_back_for_what_it_did_not_answer(fake_openai, make_batching, outcome):
    fake_openai.batch_outcome = outcome
    fake_openai.batch_expire_after = 1  # an expiring batch answered its first request in time
    provider = make_batching()

    responses = await asyncio.gather(*(provider.chat(numbered(n)) for n in range(3)))

    batched = 1 if outcome == "expired" else 0
    assert [r.price_factor for r in responses].count(BATCH_PRICE_FACTOR) == batched
    assert len(fake_openai.chat_requests) == 3 - batched
    assert all(json.loads(r.content)["key_points"] for r in responses)


async def test_a_server_without_batches_gets_ordinary_calls(fake_openai, make_batching):
    fake_openai.batch_api = False  # an OpenAI-compatible server: chat, but no files or batches
    provider = make_batching()

    response = await provider.chat(numbered(0))

    assert response.price_factor == 1.0 and len(fake_openai.chat_requests) == 1
    assert fake_openai.requests_to("POST", r"^/v1/files$")[0].status == 404


async def test_map_reduce_goes_through_batches_level_by_level_at_half_price(fake_openai, make_batching):
    fake_openai.max_context_tokens = 6_000
    provider = make_batching(context_tokens=6_000)
    options = SummaryOptions(format="structured", language="en", max_output_tokens=400, map_concurrency=10_000)

    result = await summarize(synthetic_conversation(1_500), options, provider=provider)

    assert result.chunk_count > 2 and result.reduce_levels >= 1
    assert fake_openai.chat_requests == []
    batches = list(fake_openai.batches.values())
    # The whole map phase is one batch; each reduce level one more.
    assert len(fake_openai.batch_input(batches[0].id)) == result.chunk_count
    assert len(batches) == 1 + result.reduce_levels
    assert result.usage.llm_calls == len(fake_openai.batch_lines)
    full = cost_usd(result.usage.prompt_tokens, result.usage.completion_tokens, "gpt-4o-mini", options.prices)
    assert result.usage.cost_usd == pytest.approx(full * BATCH_PRICE_FACTOR)
    assert all(call.price_factor == BATCH_PRICE_FACTOR for call in result.usage.calls)


async def test_closing_while_a_batch_runs_cancels_it(fake_openai, make_batching):
    fake_openai.batch_outcome = "never"
    provider = make_batching()
    waiting = asyncio.ensure_future(provider.chat(numbered(0)))
    while not fake_openai.batches:
        await asyncio.sleep(0.01)

    waiting.cancel()
    await provider.aclose()

    (batch,) = fake_openai.batches.values()
    assert fake_openai.requests_to("POST", rf"^/v1/batches/{batch.id}/cancel$")
    assert fake_openai.chat_requests == []
