"""The openai SDK's exceptions mapped once onto our LLMError hierarchy.

The SDK retries 429 insufficient_quota like any rate limit; here it is permanent (the account is out of
credit, only the admin can fix it). Context-length and other 400s are permanent too: the engine re-plans.
Messages keep the server's wording (it names the model and limit) but never the key or the prompt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import openai

from summaries.llm.errors import (
    LLMAuthError,
    LLMContextLengthExceeded,
    LLMError,
    LLMInvalidRequest,
    LLMModelNotFound,
    LLMQuotaExceeded,
    LLMRateLimited,
    LLMUnavailable,
)
from summaries.llm.headers import retry_after_seconds

_CONTEXT_WORDS = re.compile(
    r"context length|context window|maximum context|too many tokens|prompt is too long", re.IGNORECASE
)
_SCHEMA_UNSUPPORTED_WORDS = re.compile(
    r"not supported|unsupported|unknown|unrecognized|invalid|not allowed", re.IGNORECASE
)
# Keys may be echoed by servers ("Incorrect API key provided: sk-abc***"): keep them out of our messages.
_KEY_LIKE = re.compile(r"\b(sk|key)-[A-Za-z0-9_*\-]{3,}")


def _server_message(exc: openai.APIError) -> str:
    return _KEY_LIKE.sub("[redacted]", exc.message or type(exc).__name__)[:500]


def _details(exc: openai.APIError) -> dict[str, Any]:
    details: dict[str, Any] = {"sdk_error": type(exc).__name__}
    if isinstance(exc, openai.APIStatusError):
        details["status"] = exc.status_code
        if exc.request_id:
            details["request_id"] = exc.request_id
    if exc.code:
        details["server_code"] = exc.code
    return details


def is_schema_unsupported(exc: openai.APIError) -> bool:
    """A 400 (or 422) saying the server does not take response_format json_schema."""
    if not isinstance(exc, (openai.BadRequestError, openai.UnprocessableEntityError)):
        return False
    text = f"{exc.message} {exc.param or ''}"
    names_feature = "response_format" in text or "json_schema" in text
    return names_feature and bool(_SCHEMA_UNSUPPORTED_WORDS.search(text)) and not is_context_length(exc)


def is_context_length(exc: openai.APIError) -> bool:
    return exc.code == "context_length_exceeded" or bool(_CONTEXT_WORDS.search(exc.message or ""))


def classify(exc: openai.APIError) -> LLMError:
    message = _server_message(exc)
    details = _details(exc)
    if isinstance(exc, openai.APITimeoutError):
        return LLMUnavailable("the LLM endpoint timed out", details=details)
    if isinstance(exc, openai.APIConnectionError):
        return LLMUnavailable("could not connect to the LLM endpoint", details=details)
    if not isinstance(exc, openai.APIStatusError):
        # The SDK could not read a 2xx body: the server is misbehaving, which another try may not repeat.
        return LLMUnavailable(f"unreadable reply from the LLM endpoint: {message}", details=details)
    return _classify_status(
        exc.status_code,
        code=exc.code,
        type_=exc.type,
        message=message,
        headers=exc.response.headers,
        context_length=is_context_length(exc),
        details=details,
    )


def classify_batch_line(status: int, error: Mapping[str, Any] | None) -> LLMError:
    """A Batch API request that failed (a line of the error file): the class the same failure of an
    ordinary call gets. `error` is the line's `{"message", "type", "param", "code"}`, when it has one."""
    error = error or {}
    raw = str(error.get("message") or f"HTTP {status}")
    message = _KEY_LIKE.sub("[redacted]", raw)[:500]
    code = error.get("code")
    details: dict[str, Any] = {"status": status, "batch": True}
    if code:
        details["server_code"] = code
    return _classify_status(
        status,
        code=code,
        type_=error.get("type"),
        message=message,
        headers={},
        context_length=code == "context_length_exceeded" or bool(_CONTEXT_WORDS.search(raw)),
        details=details,
    )


def _classify_status(
    status: int,
    *,
    code: Any,
    type_: Any,
    message: str,
    headers: Mapping[str, str],
    context_length: bool,
    details: dict[str, Any],
) -> LLMError:
    if status == 429:
        if code == "insufficient_quota" or type_ == "insufficient_quota":
            return LLMQuotaExceeded(f"the LLM account is out of quota: {message}", details=details)
        return LLMRateLimited(
            f"rate limited by the LLM endpoint: {message}",
            retry_after=retry_after_seconds(headers),
            details=details,
        )
    if status in (401, 403):
        return LLMAuthError(f"the LLM endpoint refused the credentials ({status}): {message}", details=details)
    if status == 404:
        # Compatible servers say "model not found" without OpenAI's code; any 404 on chat means the model.
        return LLMModelNotFound(f"model not available: {message}", details=details)
    if status in (408, 409) or status >= 500:
        return LLMUnavailable(
            f"the LLM endpoint failed ({status})",
            retry_after=retry_after_seconds(headers),
            details=details,
        )
    if context_length:
        return LLMContextLengthExceeded(message, details=details)
    return LLMInvalidRequest(f"the LLM endpoint rejected the request ({status}): {message}", details=details)
