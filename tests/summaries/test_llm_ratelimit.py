"""The shared rate limiter: one budget across provider instances (as across processes), waiting for the
next window when full, lowered by the server's x-ratelimit-remaining-* headers."""

from __future__ import annotations

import asyncio
import collections
import time

import pytest

from summaries.llm.base import ChatRequest
from summaries.llm.headers import parse_duration, retry_after_seconds
from summaries.llm.ratelimit import SharedRateLimiter

pytestmark = pytest.mark.django_db(transaction=True)

REQUEST = ChatRequest(
    messages=[{"role": "user", "content": "0 a: hi"}], max_output_tokens=10, estimated_prompt_tokens=10
)


async def _until(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def _start_of_window(window: float) -> None:
    # Start just after a boundary, so a batch admitted now cannot straddle two windows.
    await asyncio.sleep(window - (time.time() % window) + 0.02)


async def test_rpm_is_held_across_two_provider_instances(fake_openai, make_provider):
    # A one-hour window: nothing frees up during the test, so the count is exact.
    first = make_provider(rpm_limit=3, tpm_limit=1_000_000, rate_window_seconds=3600)
    second = make_provider(rpm_limit=3, tpm_limit=1_000_000, rate_window_seconds=3600)
    calls = [asyncio.create_task(p.chat(REQUEST)) for p in (first, second, first, second, first)]

    await _until(lambda: sum(t.done() for t in calls) == 3)
    await asyncio.sleep(0.2)

    assert len(fake_openai.chat_requests) == 3
    assert sum(not t.done() for t in calls) == 2  # waiting, not failed
    for task in calls:
        task.cancel()
    await asyncio.gather(*calls, return_exceptions=True)


async def test_waiting_requests_go_in_the_next_windows_never_more_than_the_limit(fake_openai, make_provider):
    window = 0.5
    providers = [make_provider(rpm_limit=3, tpm_limit=1_000_000, rate_window_seconds=window) for _ in range(2)]
    await _start_of_window(window)

    await asyncio.gather(*(providers[i % 2].chat(REQUEST) for i in range(7)))

    per_window = collections.Counter(int(r.started // window) for r in fake_openai.chat_requests)
    assert sorted(per_window.values(), reverse=True) == [3, 3, 1]


async def test_tpm_is_held_too(fake_openai, make_provider):
    # Each call books 10 prompt + 10 output tokens: a 50-token budget admits two per window.
    provider = make_provider(rpm_limit=100, tpm_limit=50, rate_window_seconds=3600)
    calls = [asyncio.create_task(provider.chat(REQUEST)) for _ in range(4)]

    await _until(lambda: sum(t.done() for t in calls) == 2)
    await asyncio.sleep(0.2)

    assert len(fake_openai.chat_requests) == 2
    for task in calls:
        task.cancel()
    await asyncio.gather(*calls, return_exceptions=True)


async def test_a_request_bigger_than_the_whole_token_budget_still_goes_alone(empty_cache):
    limiter = SharedRateLimiter(scope="http://big.example/v1|m", rpm=10, tpm=100, window_seconds=3600)

    assert await limiter.acquire(500) == 0.0


async def test_server_remaining_requests_lower_the_shared_budget(fake_openai, make_provider):
    fake_openai.ratelimit_headers = {"x-ratelimit-remaining-requests": "1", "x-ratelimit-reset-requests": "20s"}
    provider = make_provider(rpm_limit=100, tpm_limit=1_000_000, rate_window_seconds=3600)

    await provider.chat(REQUEST)  # the server says: one more request this minute
    calls = [asyncio.create_task(provider.chat(REQUEST)) for _ in range(3)]
    await _until(lambda: any(t.done() for t in calls))
    await asyncio.sleep(0.2)

    assert len(fake_openai.chat_requests) == 2
    for task in calls:
        task.cancel()
    await asyncio.gather(*calls, return_exceptions=True)


async def test_server_exhausted_holds_every_instance_until_its_reset(fake_openai, make_provider):
    fake_openai.ratelimit_headers = {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s"}
    first = make_provider(rpm_limit=100, tpm_limit=1_000_000)
    second = make_provider(rpm_limit=100, tpm_limit=1_000_000)

    await first.chat(REQUEST)
    held = asyncio.create_task(second.chat(REQUEST))
    await asyncio.sleep(0.3)

    assert not held.done()
    assert len(fake_openai.chat_requests) == 1
    held.cancel()
    await asyncio.gather(held, return_exceptions=True)


async def test_limits_are_per_model(fake_openai, make_provider):
    mini = make_provider(model="gpt-4o-mini", rpm_limit=1, tpm_limit=1_000_000, rate_window_seconds=3600)
    full = make_provider(model="gpt-4o", rpm_limit=1, tpm_limit=1_000_000, rate_window_seconds=3600)

    await asyncio.wait_for(asyncio.gather(mini.chat(REQUEST), full.chat(REQUEST)), timeout=5)

    assert sorted(r.model for r in fake_openai.chat_requests) == ["gpt-4o", "gpt-4o-mini"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("120ms", 0.12),
        ("1h2m3.5s", 3723.5),
        ("0.5", 0.5),
        ("20", 20.0),
        ("", None),
        ("soon", None),
        ("5 minutes", None),
        (None, None),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_retry_after_prefers_milliseconds_then_seconds_then_the_exhausted_reset():
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "3"}) == 0.25
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    exhausted = {
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "2s",
        "x-ratelimit-remaining-tokens": "500",
        "x-ratelimit-reset-tokens": "9s",
    }
    assert retry_after_seconds(exhausted) == 2.0
    assert retry_after_seconds({}) is None


def test_database_cache_counter_is_atomic_across_connections(empty_cache):
    # Threads with their own database connections stand in for processes sharing the database cache.
    import threading

    from django.core.cache import cache
    from django.db import connection

    from summarybot.counters import atomic_incr

    results: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            for _ in range(20):
                value = atomic_incr(cache, "test:atomic", 1, timeout=60)
                with lock:
                    results.append(value)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == list(range(1, 121))  # no two increments saw the same value
