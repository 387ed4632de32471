"""Which provider serves a summary, and what its model holds.

`provider_choice` decides between the offline engine and an OpenAI-compatible endpoint (with which key),
for `build_provider` and for the readiness probe alike: None for "use the offline engine", that is
SUMMARY_PROVIDER=local, or auto with no key. A guild that brings its own endpoint passes
base_url/api_key/model; our OPENAI_API_KEY is never sent to an endpoint other than OPENAI_BASE_URL.
What a model costs is the engine's lookup (summaries/engine/costs.py) in SUMMARY_PRICES.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from summaries.llm.base import ChatProvider
from summaries.llm.batch import BatchingProvider, BatchTiming
from summaries.llm.errors import LLMAuthError
from summaries.llm.model_table import model_key
from summaries.llm.openai_provider import OpenAIProvider

# Context windows (tokens) of known models, matched by longest prefix so dated snapshots
# ("gpt-4o-mini-2024-07-18") inherit their family's size.
MODEL_CONTEXT_TOKENS: dict[str, int] = {
    "gpt-4.1": 1_047_576,
    "gpt-4.1-mini": 1_047_576,
    "gpt-4.1-nano": 1_047_576,
    "gpt-4o": 128_000,
    "gpt-4o-mini": 128_000,
    "gpt-4-turbo": 128_000,
    "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385,
    "gpt-5": 400_000,
    "o1": 200_000,
    "o1-mini": 128_000,
    "o3": 200_000,
    "o3-mini": 200_000,
    "o4-mini": 200_000,
}
# Unknown models behind compatible endpoints (vLLM, Ollama, LM Studio...) often run with small windows.
UNKNOWN_MODEL_CONTEXT_TOKENS = 16_384
# A key that never leaves our machine: compatible local servers often need no key, the SDK needs one.
NO_KEY = "sk-no-key-configured"


@dataclass(frozen=True, slots=True)
class ProviderChoice:
    base_url: str
    api_key: str
    own_endpoint: bool  # OPENAI_BASE_URL rather than a guild's endpoint


def provider_choice(
    *, provider: str | None = None, base_url: str | None = None, api_key: str | None = None
) -> ProviderChoice | None:
    """Where summaries go: None for the offline engine, else the endpoint and the key to send it.

    `provider` overrides SUMMARY_PROVIDER (local, auto, openai). Raises LLMAuthError for openai without a key.
    """
    kind = (provider or settings.SUMMARY_PROVIDER).lower()
    if kind == "local":
        return None
    if base_url is not None and base_url.rstrip("/") != settings.OPENAI_BASE_URL.rstrip("/"):
        return ProviderChoice(base_url=base_url, api_key=api_key or NO_KEY, own_endpoint=False)
    key = api_key or settings.OPENAI_API_KEY
    if not key:
        if kind == "auto":
            return None
        raise LLMAuthError("SUMMARY_PROVIDER is openai but OPENAI_API_KEY is not set")
    return ProviderChoice(base_url=settings.OPENAI_BASE_URL, api_key=key, own_endpoint=True)


def context_tokens_for(model: str) -> int:
    """SUMMARY_CONTEXT_TOKENS when set, else the model's known window, else 16k."""
    if settings.SUMMARY_CONTEXT_TOKENS:
        return int(settings.SUMMARY_CONTEXT_TOKENS)
    name = model_key(model, MODEL_CONTEXT_TOKENS)
    return MODEL_CONTEXT_TOKENS[name] if name else UNKNOWN_MODEL_CONTEXT_TOKENS


def build_provider(
    *,
    provider: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    model: str | None = None,
) -> ChatProvider | None:
    choice = provider_choice(provider=provider, base_url=base_url, api_key=api_key)
    if choice is None:
        return None
    chosen = model or settings.SUMMARY_MODEL
    # A guild's own endpoint will not serve our fallback models.
    fallbacks = list(settings.SUMMARY_FALLBACK_MODELS) if choice.own_endpoint else []
    # Plan for the smallest window in the chain, so a fallback never receives a prompt it cannot hold.
    context = min(context_tokens_for(m) for m in [chosen, *fallbacks])
    return OpenAIProvider(
        model=chosen,
        api_key=choice.api_key,
        base_url=choice.base_url,
        timeout=settings.OPENAI_TIMEOUT_SECONDS,
        context_tokens=context,
        fallback_models=fallbacks,
        rpm_limit=settings.LLM_RPM_LIMIT,
        tpm_limit=settings.LLM_TPM_LIMIT,
    )


def batches_supported(base_url: str) -> bool:
    """Whether an endpoint has OpenAI's Batch API: OpenAI's own does, compatible servers (Ollama, vLLM, a
    guild's gateway) do not. The operator's OPENAI_BASE_URL counts as OpenAI (a proxy in front of it, or a
    test server): turning SUMMARY_BATCH_SCHEDULES on is the operator saying so."""
    if urlsplit(base_url).hostname == "api.openai.com":
        return True
    return base_url.rstrip("/") == settings.OPENAI_BASE_URL.rstrip("/")


def batching_provider(provider: ChatProvider | None, *, price_factor: float) -> BatchingProvider | None:
    """`provider` wrapped to go through the Batch API, when SUMMARY_BATCH_SCHEDULES is on and its endpoint
    has one; None otherwise (the offline engine, a compatible server). The caller decides which jobs may wait."""
    if not settings.SUMMARY_BATCH_SCHEDULES or not isinstance(provider, OpenAIProvider):
        return None
    if not batches_supported(provider.base_url):
        return None
    return BatchingProvider(
        provider,
        timing=BatchTiming(deadline_seconds=settings.SUMMARY_BATCH_DEADLINE_SECONDS),
        price_factor=price_factor,
        ordinary_concurrency=settings.SUMMARY_MAP_CONCURRENCY,
    )
