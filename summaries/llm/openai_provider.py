"""ChatProvider for OpenAI and any OpenAI-compatible endpoint, through the official AsyncOpenAI SDK.

The SDK's own retries are off (max_retries=0): it would retry insufficient_quota and hide the
classification; ours is one loop over one error hierarchy. Per model, each attempt passes the shared
circuit breaker and rate limiter; retryable failures back off exponentially with full jitter, within a
bound on attempts and on total wait. When a model stays unavailable, or the endpoint does not serve it,
the next model of the fallback chain is tried.

Structured output asks for strict json_schema; a server that rejects it (many compatible servers) is
remembered in the shared cache and from then on gets JSON mode with the schema in the system prompt.
The engine validates the reply either way, so malformed content is passed through as it came.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import openai
from asgiref.sync import sync_to_async
from django.core.cache import BaseCache
from openai.types.chat import ChatCompletion

from summaries.llm.base import ChatRequest, ChatResponse
from summaries.llm.breaker import CircuitBreaker
from summaries.llm.errors import (
    LLMBadOutput,
    LLMError,
    LLMModelNotFound,
    LLMRateLimited,
    LLMUnavailable,
)
from summaries.llm.openai_errors import classify, is_schema_unsupported
from summaries.llm.ratelimit import SharedRateLimiter, scope_key
from summarybot.counters import shared_cache

logger = logging.getLogger(__name__)

JSON_SCHEMA, JSON_OBJECT = "json_schema", "json_object"
_MODE_MEMORY_SECONDS = 7 * 24 * 3600
# Reasoning models take max_completion_tokens and only the default temperature.
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    # Total seconds of back-off one model may spend before we give up (or fall back).
    max_total_wait: float = 60.0


def estimate_tokens(text: str) -> int:
    # UTF-8 bytes / 2.4 bounds chat-log tokenization from above (len/4 undercounts chat by half).
    return int(len(text.encode("utf-8")) / 2.4) + 1


def prompt_estimate(request: ChatRequest) -> int:
    return request.estimated_prompt_tokens or sum(estimate_tokens(m.get("content", "")) + 3 for m in request.messages)


def is_strict_compatible(schema: Any) -> bool:
    """Strict Structured Outputs need every property required and additionalProperties false everywhere."""
    if isinstance(schema, list):
        return all(is_strict_compatible(item) for item in schema)
    if not isinstance(schema, dict):
        return True
    if "properties" in schema:
        if schema.get("additionalProperties", True) is not False:
            return False
        if set(schema.get("required", [])) != set(schema["properties"]):
            return False
    return all(is_strict_compatible(value) for value in schema.values() if isinstance(value, (dict, list)))


def schema_instruction(schema: dict[str, Any]) -> str:
    return "Reply with one JSON object, and nothing else, that validates against this JSON Schema:\n" + json.dumps(
        schema, separators=(",", ":")
    )


class OpenAIProvider:
    name = "openai"

    def __init__(
        self,
        *,
        model: str,
        api_key: str,
        base_url: str,
        timeout: float,
        context_tokens: int,
        fallback_models: Sequence[str] = (),
        retry: RetryPolicy = RetryPolicy(),
        rpm_limit: int | None = None,
        tpm_limit: int | None = None,
        rate_window_seconds: float = 60.0,
        breaker_threshold: int = 5,
        breaker_cooldown_seconds: float = 30.0,
        cache: BaseCache | None = None,
        rng: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.model = model
        self.context_tokens = context_tokens
        self.base_url = base_url.rstrip("/")
        self.fallback_models = [m for m in dict.fromkeys(fallback_models) if m != model]
        self.retry = retry
        self._rpm, self._tpm, self._window = rpm_limit, tpm_limit, rate_window_seconds
        self._breaker_threshold, self._breaker_cooldown = breaker_threshold, breaker_cooldown_seconds
        self._cache_override = cache
        self._rng = rng
        self._host = urlsplit(self.base_url).netloc
        # OpenAI's own API wants max_completion_tokens; compatible servers mostly know only max_tokens.
        self._openai_hosted = self._host.endswith("openai.com")
        self._mode_key = f"llm:json_object_only:{scope_key(self.base_url)}"
        self._json_object_only: bool | None = None  # read once from the shared cache
        self._limiters: dict[str, SharedRateLimiter] = {}
        self._breakers: dict[str, CircuitBreaker] = {}
        self._client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=self.base_url,
            timeout=openai.Timeout(timeout, connect=min(timeout, 5.0)),
            max_retries=0,
        )

    # -- ChatProvider --

    async def chat(self, request: ChatRequest) -> ChatResponse:
        models = [self.model, *self.fallback_models]
        for model, fallback in itertools.pairwise(models):
            try:
                return await self._chat_with_retries(model, request)
            except (LLMUnavailable, LLMModelNotFound) as exc:
                logger.warning(
                    "LLM model failed, falling back",
                    extra={"model": model, "fallback": fallback, "error": exc.code, "host": self._host},
                )
        return await self._chat_with_retries(models[-1], request)

    async def aclose(self) -> None:
        await self._client.close()

    # -- for the Batch API wrapper (summaries/llm/batch.py): the same client, bodies and replies --

    @property
    def client(self) -> openai.AsyncOpenAI:
        return self._client

    @property
    def host(self) -> str:
        return self._host

    async def request_body(self, request: ChatRequest) -> dict[str, Any]:
        """The body an ordinary call to the primary model would POST to /chat/completions."""
        mode: str | None = None
        if request.json_schema is not None:
            mode = JSON_OBJECT if await self._uses_json_object() else JSON_SCHEMA
        return self._arguments(self.model, request, mode)

    # -- one model, with retries --

    def _limiter(self, model: str) -> SharedRateLimiter | None:
        if self._rpm is None or self._tpm is None:
            return None
        if model not in self._limiters:
            self._limiters[model] = SharedRateLimiter(
                scope=f"{self.base_url}|{model}",
                rpm=self._rpm,
                tpm=self._tpm,
                window_seconds=self._window,
                cache=self._cache_override,
            )
        return self._limiters[model]

    def _breaker(self, model: str) -> CircuitBreaker:
        # Per endpoint *and* model: one overloaded model must not shut the door on its fallbacks.
        if model not in self._breakers:
            self._breakers[model] = CircuitBreaker(
                scope=f"{self.base_url}|{model}",
                failure_threshold=self._breaker_threshold,
                cooldown_seconds=self._breaker_cooldown,
                label=f"{self._host} {model}",
                cache=self._cache_override,
            )
        return self._breakers[model]

    def _backoff(self, error: LLMError, attempt: int) -> float:
        if error.retry_after is not None:  # the server said when (429, or a 503 with retry-after)
            return error.retry_after
        ceiling = min(self.retry.max_delay, self.retry.base_delay * 2 ** (attempt - 1))
        return self._rng(0.0, ceiling)  # full jitter: callers that failed together retry apart

    async def _chat_with_retries(self, model: str, request: ChatRequest) -> ChatResponse:
        breaker, limiter = self._breaker(model), self._limiter(model)
        prompt_tokens = prompt_estimate(request)
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            await breaker.before_call()
            if limiter is not None:
                # OpenAI counts max_tokens against the tokens-per-minute budget, so do we.
                await limiter.acquire(prompt_tokens + request.max_output_tokens)
            try:
                response = await self._call(model, request, limiter)
            except (LLMUnavailable, LLMRateLimited) as exc:
                if isinstance(exc, LLMUnavailable):
                    await breaker.record_failure()
                else:  # a 429 is an endpoint alive and answering: it closes a half-open circuit
                    await breaker.record_success()
                delay = self._backoff(exc, attempt)
                if attempt >= self.retry.max_attempts or waited + delay > self.retry.max_total_wait:
                    logger.warning(
                        "LLM call failed, no retries left",
                        extra={"model": model, "host": self._host, "error": exc.code, "attempts": attempt},
                    )
                    raise
                logger.info(
                    "LLM call failed, retrying",
                    extra={
                        "model": model,
                        "host": self._host,
                        "error": exc.code,
                        "attempt": attempt,
                        "delay_s": round(delay, 3),
                    },
                )
                await asyncio.sleep(delay)
                waited += delay
                continue
            except LLMError:
                await breaker.record_success()  # the endpoint answered; the request itself was wrong
                raise
            await breaker.record_success()
            return response

    # -- one HTTP call --

    def _shared_cache(self) -> BaseCache:
        return shared_cache(self._cache_override)

    async def _uses_json_object(self) -> bool:
        if self._json_object_only is None:
            self._json_object_only = bool(await sync_to_async(self._shared_cache().get)(self._mode_key, False))
        return self._json_object_only

    async def _remember_json_object(self) -> None:
        self._json_object_only = True
        await sync_to_async(self._shared_cache().set)(self._mode_key, True, _MODE_MEMORY_SECONDS)
        logger.info("endpoint rejects json_schema, using JSON mode", extra={"host": self._host})

    def _arguments(self, model: str, request: ChatRequest, mode: str | None) -> dict[str, Any]:
        messages: list[dict[str, str]] = [dict(m) for m in request.messages]
        arguments: dict[str, Any] = {"model": model}
        reasoning = model.startswith(_REASONING_PREFIXES)
        if not reasoning:
            arguments["temperature"] = request.temperature
        token_parameter = "max_completion_tokens" if (self._openai_hosted or reasoning) else "max_tokens"
        arguments[token_parameter] = request.max_output_tokens
        if request.json_schema is not None:
            schema = request.json_schema["schema"]
            if mode == JSON_SCHEMA:
                arguments["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": request.json_schema.get("name", "reply"),
                        "schema": schema,
                        "strict": is_strict_compatible(schema),
                    },
                }
            else:
                arguments["response_format"] = {"type": "json_object"}
                instruction = schema_instruction(schema)
                if messages and messages[0].get("role") == "system":
                    messages[0]["content"] = f"{messages[0]['content']}\n\n{instruction}"
                else:
                    messages.insert(0, {"role": "system", "content": instruction})
        arguments["messages"] = messages
        return arguments

    async def _call(self, model: str, request: ChatRequest, limiter: SharedRateLimiter | None) -> ChatResponse:
        mode: str | None = None
        if request.json_schema is not None:
            mode = JSON_OBJECT if await self._uses_json_object() else JSON_SCHEMA
        while True:
            try:
                raw = await self._client.chat.completions.with_raw_response.create(
                    **self._arguments(model, request, mode)
                )
            except openai.APIError as exc:
                if mode == JSON_SCHEMA and is_schema_unsupported(exc):
                    await self._remember_json_object()
                    mode = JSON_OBJECT
                    continue
                if isinstance(exc, openai.APIStatusError) and limiter is not None:
                    await limiter.observe(exc.response.headers)
                raise classify(exc) from exc
            break
        if limiter is not None:
            await limiter.observe(raw.headers)
        try:
            completion = raw.parse()
        except (openai.APIError, ValueError) as exc:
            raise LLMUnavailable("unreadable reply from the LLM endpoint", details={"model": model}) from exc
        logger.debug(
            "LLM call done",
            extra={
                "model": model,
                "host": self._host,
                "request_id": raw.headers.get("x-request-id"),
                "purpose": request.purpose,
            },
        )
        return chat_response(completion, model=model, request=request)


def chat_response(completion: ChatCompletion, *, model: str, request: ChatRequest) -> ChatResponse:
    """Our ChatResponse from a completion, the same whether it came over HTTP or from a batch's output file."""
    if not completion.choices:
        raise LLMBadOutput("the LLM endpoint returned no choices", details={"model": model})
    choice = completion.choices[0]
    content = choice.message.content
    if content is None:
        reason = "refused" if getattr(choice.message, "refusal", None) else "returned no content"
        raise LLMBadOutput(f"the model {reason}", details={"model": model, "finish_reason": choice.finish_reason})
    usage = completion.usage
    return ChatResponse(
        content=content,
        model=completion.model or model,
        prompt_tokens=usage.prompt_tokens if usage else prompt_estimate(request),
        completion_tokens=usage.completion_tokens if usage else estimate_tokens(content),
        finish_reason=choice.finish_reason or "stop",
    )
