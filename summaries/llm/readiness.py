"""Readiness of the configured LLM provider: the endpoint answers GET /models, takes our key, lists our model.

The model list is cached 5 minutes in the shared cache, so /ready polled by a load balancer costs one
request to the provider per 5 minutes, not one per probe. A failure is remembered only 15 seconds: long
enough that probes of a hanging endpoint answer at once instead of each waiting for the timeout, short
enough that a restored endpoint shows up soon. A new key is a new cache entry, so a fixed key shows at once.
"""

from __future__ import annotations

import logging

import openai
from django.conf import settings
from django.core.cache import cache

from summaries.llm import errors
from summaries.llm.errors import LLMAuthError, LLMError, LLMModelNotFound
from summaries.llm.factory import provider_choice
from summaries.llm.openai_errors import classify
from summaries.llm.ratelimit import scope_key

logger = logging.getLogger(__name__)

MODELS_CACHE_SECONDS = 300
FAILURE_CACHE_SECONDS = 15
# /ready must answer quickly even when the endpoint hangs.
PROBE_TIMEOUT_SECONDS = 5.0


def _listed_models(base_url: str, api_key: str) -> list[str]:
    # The key is part of the cache key (hashed): a rotated key is checked afresh.
    key = f"llm:models:{scope_key(base_url, api_key)}"
    cached = cache.get(key)
    if cached is not None:
        return list(cached)
    failure = cache.get(f"{key}:failure")
    if failure is not None:
        error_class, message = failure
        raise getattr(errors, error_class, LLMError)(message)
    client = openai.OpenAI(
        api_key=api_key,
        base_url=base_url,
        timeout=min(settings.OPENAI_TIMEOUT_SECONDS, PROBE_TIMEOUT_SECONDS),
        max_retries=0,
    )
    try:
        models = [item.id for item in client.models.list().data]
    except openai.APIError as exc:
        error = classify(exc)
        cache.set(f"{key}:failure", (type(error).__name__, error.message), FAILURE_CACHE_SECONDS)
        raise error from exc
    finally:
        client.close()
    cache.set(key, models, MODELS_CACHE_SECONDS)
    return models


def llm_readiness() -> str:
    """A short description when the LLM is usable; raises an LLMError saying what is wrong otherwise."""
    # The same decision as build_provider's: /ready must not probe an endpoint the worker would not use.
    choice = provider_choice()
    if choice is None:
        return "offline engine"
    base_url = choice.base_url
    model = settings.SUMMARY_MODEL
    try:
        listed = set(_listed_models(base_url, choice.api_key))
    except LLMAuthError as exc:
        raise LLMAuthError(f"{base_url} refused OPENAI_API_KEY: {exc.message}") from exc
    except LLMError as exc:
        raise type(exc)(f"{base_url} is not usable: {exc.message}") from exc
    if model not in listed:
        raise LLMModelNotFound(f"SUMMARY_MODEL {model} is not listed by {base_url}/models")
    missing = [m for m in settings.SUMMARY_FALLBACK_MODELS if m not in listed]
    if missing:
        return f"model {model} ok; fallback not listed: {', '.join(missing)}"
    return f"model {model} ok"


def log_llm_readiness() -> bool:
    """For the worker's start-up: log a warning (not crash) when the LLM is not usable. True when ready."""
    try:
        detail = llm_readiness()
    except LLMError as exc:
        logger.warning("LLM not ready: %s", exc.message, extra={"error": exc.code})
        return False
    logger.info("LLM ready: %s", detail)
    return True
