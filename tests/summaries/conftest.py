"""Fixtures for the LLM provider tests: the fake OpenAI-compatible server, one per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from django.core.cache import DEFAULT_CACHE_ALIAS, caches

from summaries.llm.openai_provider import OpenAIProvider, RetryPolicy
from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    # One server per test: a fresh script, request log and settings, on its own random port.
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def openai_settings(settings, fake_openai: FakeOpenAI):  # type: ignore[no-untyped-def]
    """Settings pointing the real provider code at the fake."""
    settings.SUMMARY_PROVIDER = "openai"
    settings.OPENAI_API_KEY = "sk-test-fake"
    settings.OPENAI_BASE_URL = fake_openai.base_url
    settings.OPENAI_TIMEOUT_SECONDS = 2.0
    settings.SUMMARY_MODEL = "gpt-4o-mini"
    settings.SUMMARY_FALLBACK_MODELS = []
    settings.SUMMARY_CONTEXT_TOKENS = None
    return settings


FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.005, max_total_wait=2.0)


@pytest.fixture
def empty_cache() -> None:
    """Start from an empty shared cache. The cache table is not flushed between tests, and limiter and
    breaker state from an earlier test must not leak into this one (DatabaseCache also culls at 300 rows)."""
    caches[DEFAULT_CACHE_ALIAS].clear()


@pytest.fixture
async def make_provider(fake_openai: FakeOpenAI, empty_cache: None) -> AsyncIterator[Callable[..., OpenAIProvider]]:
    """Build real providers aimed at the fake, with millisecond back-off; closed after the test."""
    built: list[OpenAIProvider] = []

    def build(**overrides: Any) -> OpenAIProvider:
        arguments: dict[str, Any] = {
            "model": "gpt-4o-mini",
            "api_key": "sk-test-fake",
            "base_url": fake_openai.base_url,
            "timeout": 2.0,
            "context_tokens": 128_000,
            "retry": FAST_RETRY,
            **overrides,
        }
        provider = OpenAIProvider(**arguments)
        built.append(provider)
        return provider

    yield build
    for provider in built:
        await provider.aclose()
