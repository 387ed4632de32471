"""The circuit breaker: opens after consecutive retryable failures, refuses without calling while open,
lets one probe through after the cool-down, and shares its state through the cache."""

from __future__ import annotations

import asyncio

import pytest

from summaries.llm import errors
from summaries.llm.base import ChatRequest
from summaries.llm.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from summaries.llm.openai_provider import RetryPolicy
from tests.fakes import openai_server as fake

pytestmark = pytest.mark.django_db(transaction=True)

REQUEST = ChatRequest(messages=[{"role": "user", "content": "0 a: hello"}], max_output_tokens=16)
ONE_ATTEMPT = RetryPolicy(max_attempts=1, base_delay=0.001, max_delay=0.001)


async def test_opens_after_threshold_refuses_without_calling_then_half_opens(fake_openai, make_provider):
    fake_openai.enqueue(*[fake.service_unavailable()] * 2)
    provider = make_provider(retry=ONE_ATTEMPT, breaker_threshold=2, breaker_cooldown_seconds=0.3)

    for _ in range(2):
        with pytest.raises(errors.LLMUnavailable):
            await provider.chat(REQUEST)
    with pytest.raises(errors.LLMUnavailable, match="circuit open") as caught:
        await provider.chat(REQUEST)

    assert len(fake_openai.chat_requests) == 2  # the open circuit did not call
    assert 0 < caught.value.retry_after <= 0.3

    await asyncio.sleep(0.35)
    response = await provider.chat(REQUEST)  # the half-open probe succeeds and closes the circuit

    assert response.content
    assert len(fake_openai.chat_requests) == 3
    assert await provider._breaker("gpt-4o-mini").state() == CLOSED


async def test_a_failed_probe_reopens_for_another_cool_down(fake_openai, make_provider):
    fake_openai.enqueue(*[fake.service_unavailable()] * 3)
    provider = make_provider(retry=ONE_ATTEMPT, breaker_threshold=2, breaker_cooldown_seconds=0.2)
    for _ in range(2):
        with pytest.raises(errors.LLMUnavailable):
            await provider.chat(REQUEST)
    await asyncio.sleep(0.25)

    with pytest.raises(errors.LLMUnavailable, match="failed"):
        await provider.chat(REQUEST)  # the probe: the fake answers 503 again
    with pytest.raises(errors.LLMUnavailable, match="circuit open"):
        await provider.chat(REQUEST)

    assert len(fake_openai.chat_requests) == 3


async def test_a_success_resets_the_consecutive_count(fake_openai, make_provider):
    fake_openai.enqueue(fake.service_unavailable(), fake.content("ok"), fake.service_unavailable())
    provider = make_provider(retry=ONE_ATTEMPT, breaker_threshold=2, breaker_cooldown_seconds=5)

    with pytest.raises(errors.LLMUnavailable):
        await provider.chat(REQUEST)
    await provider.chat(REQUEST)
    with pytest.raises(errors.LLMUnavailable):
        await provider.chat(REQUEST)

    assert await provider._breaker("gpt-4o-mini").state() == CLOSED


async def test_non_retryable_errors_do_not_open_the_circuit(fake_openai, make_provider):
    fake_openai.enqueue(*[fake.context_length_exceeded()] * 3)
    provider = make_provider(retry=ONE_ATTEMPT, breaker_threshold=2)

    for _ in range(3):
        with pytest.raises(errors.LLMContextLengthExceeded):
            await provider.chat(REQUEST)

    assert len(fake_openai.chat_requests) == 3


async def test_an_open_circuit_on_the_primary_sends_calls_to_the_fallback(fake_openai, make_provider):
    fake_openai.enqueue(*[fake.service_unavailable(model="gpt-4o")] * 2)
    provider = make_provider(
        model="gpt-4o",
        fallback_models=["gpt-4o-mini"],
        retry=ONE_ATTEMPT,
        breaker_threshold=2,
        breaker_cooldown_seconds=30,
    )
    await provider.chat(REQUEST)
    await provider.chat(REQUEST)  # second 503 on the primary opens its circuit

    fake_openai.reset()
    response = await provider.chat(REQUEST)

    assert response.model == "gpt-4o-mini"
    assert [r.model for r in fake_openai.chat_requests] == ["gpt-4o-mini"]


async def test_state_is_shared_between_breaker_instances_and_one_probe_at_a_time(empty_cache):
    first = CircuitBreaker(scope="http://shared.example/v1|m", failure_threshold=1, cooldown_seconds=0.1)
    second = CircuitBreaker(scope="http://shared.example/v1|m", failure_threshold=1, cooldown_seconds=0.1)

    await first.record_failure()
    assert await second.state() == OPEN
    with pytest.raises(errors.LLMUnavailable, match="circuit open"):
        await second.before_call()

    await asyncio.sleep(0.15)
    assert await second.state() == HALF_OPEN
    await first.before_call()  # takes the single probe ticket
    with pytest.raises(errors.LLMUnavailable, match="half-open"):
        await second.before_call()

    await first.record_success()
    assert await second.state() == CLOSED
    await second.before_call()
