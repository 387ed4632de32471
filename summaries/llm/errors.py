"""LLM failures, classified once here so the engine and jobs can decide: wait, re-plan, or stop.

Codes carry the `llm_` prefix, as Discord's carry `discord_`: both land in SummaryJob.error_code.
"""

from __future__ import annotations

from summarybot.errors import ExternalServiceError


class LLMError(ExternalServiceError):
    code = "llm_error"


class LLMRateLimited(LLMError):
    code = "llm_rate_limited"


class LLMQuotaExceeded(LLMError):
    """insufficient_quota: the account is out of credit; retrying cannot help, the admin must act."""

    code = "llm_quota_exceeded"
    permanent = True


class LLMInvalidRequest(LLMError):
    code = "llm_invalid_request"
    permanent = True


class LLMContextLengthExceeded(LLMInvalidRequest):
    """The prompt did not fit: the engine re-plans with smaller chunks."""

    code = "llm_context_length"


class LLMUnavailable(LLMError):
    """Timeouts, connection errors, 5xx, or an open circuit breaker."""

    code = "llm_unavailable"


class LLMAuthError(LLMError):
    code = "llm_auth_failed"
    permanent = True


class LLMBadOutput(LLMError):
    """The reply was not the JSON we asked for, even after a repair attempt."""

    code = "llm_bad_output"


class LLMModelNotFound(LLMInvalidRequest):
    """The endpoint does not serve this model (404 model_not_found): the next fallback model may."""

    code = "llm_model_not_found"
