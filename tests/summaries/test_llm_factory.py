"""Choosing the provider: offline engine or OpenAI(-compatible), bring-your-own endpoints, model table."""

from __future__ import annotations

import pytest

from summaries.llm import errors
from summaries.llm.base import ChatRequest
from summaries.llm.factory import NO_KEY, UNKNOWN_MODEL_CONTEXT_TOKENS, build_provider, context_tokens_for
from summaries.llm.openai_provider import OpenAIProvider

REQUEST = ChatRequest(messages=[{"role": "user", "content": "0 a: hi"}], max_output_tokens=8)


@pytest.mark.parametrize(("kind", "key"), [("local", "sk-present"), ("auto", "")])
def test_offline_engine_is_none(settings, kind, key):
    settings.SUMMARY_PROVIDER = kind
    settings.OPENAI_API_KEY = key
    assert build_provider() is None


def test_openai_without_a_key_is_a_configuration_error(settings):
    settings.SUMMARY_PROVIDER = "openai"
    settings.OPENAI_API_KEY = ""
    with pytest.raises(errors.LLMAuthError):
        build_provider()


def test_auto_with_a_key_builds_the_configured_provider(settings):
    settings.SUMMARY_PROVIDER = "auto"
    settings.OPENAI_API_KEY = "sk-ours"
    settings.SUMMARY_MODEL = "gpt-4.1-mini"
    settings.SUMMARY_FALLBACK_MODELS = ["gpt-4o-mini"]
    settings.SUMMARY_CONTEXT_TOKENS = None

    provider = build_provider()

    assert isinstance(provider, OpenAIProvider)
    assert provider.model == "gpt-4.1-mini"
    assert provider.fallback_models == ["gpt-4o-mini"]
    assert provider.context_tokens == 128_000  # the smallest window in the chain


@pytest.mark.django_db(transaction=True)
async def test_a_guilds_endpoint_gets_the_guilds_key_never_ours(openai_settings, fake_openai, empty_cache):
    openai_settings.OPENAI_BASE_URL = "https://api.openai.com/v1"
    openai_settings.SUMMARY_FALLBACK_MODELS = ["gpt-4o"]

    byo = build_provider(base_url=fake_openai.base_url, api_key="sk-guild", model="gpt-4.1-nano")
    keyless = build_provider(base_url=fake_openai.base_url, model="gpt-4o-mini")
    assert byo is not None and keyless is not None
    try:
        await byo.chat(REQUEST)
        await keyless.chat(REQUEST)
    finally:
        await byo.aclose()
        await keyless.aclose()

    assert [r.authorization for r in fake_openai.chat_requests] == ["Bearer sk-guild", f"Bearer {NO_KEY}"]
    assert [r.model for r in fake_openai.chat_requests] == ["gpt-4.1-nano", "gpt-4o-mini"]
    assert byo.fallback_models == []


def test_local_overrides_even_a_guild_endpoint(settings):
    assert build_provider(provider="local", base_url="http://127.0.0.1:1/v1", api_key="k") is None


@pytest.mark.parametrize(
    ("model", "tokens"),
    [
        ("gpt-4o", 128_000),
        ("gpt-4o-mini-2024-07-18", 128_000),
        ("gpt-4.1", 1_047_576),
        ("gpt-4.1-nano", 1_047_576),
        ("o3-mini", 200_000),
        ("o1-mini", 128_000),
        ("llama3.1:8b", UNKNOWN_MODEL_CONTEXT_TOKENS),
        ("gpt-4omni", UNKNOWN_MODEL_CONTEXT_TOKENS),  # sharing letters is not sharing a family
    ],
)
def test_context_window_per_model(settings, model, tokens):
    settings.SUMMARY_CONTEXT_TOKENS = None
    assert context_tokens_for(model) == tokens


def test_context_setting_overrides_the_table(settings):
    settings.SUMMARY_CONTEXT_TOKENS = 32_000
    assert context_tokens_for("gpt-4.1") == 32_000
