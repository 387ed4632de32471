"""LLM failures, classified once here so the engine and jobs can decide: wait, re-plan, or stop."""

from __future__ import annotations

from summarybot.errors import ExternalServiceError


class LLMError(ExternalServiceError):
    code = "llm_error"


class LLMRateLimited(LLMError):
    code = "rate_limited"


class LLMQuotaExceeded(LLMError):
    """insufficient_quota: the account is out of credit; retrying cannot help, the admin must act."""

    code = "quota_exceeded"
    permanent = True


class LLMInvalidRequest(LLMError):
    code = "invalid_request"
    permanent = True


class LLMContextLengthExceeded(LLMInvalidRequest):
    """The prompt did not fit: the engine re-plans with smaller chunks."""

    code = "context_length"


class LLMUnavailable(LLMError):
    """Timeouts, connection errors, 5xx, or an open circuit breaker."""

    code = "unavailable"


class LLMAuthError(LLMError):
    code = "auth_failed"
    permanent = True


class LLMBadOutput(LLMError):
    """The reply was not the JSON we asked for, even after a repair attempt."""

    code = "bad_output"


class LLMModelNotFound(LLMInvalidRequest):
    """The endpoint does not serve this model (404 model_not_found): the next fallback model may."""

    code = "model_not_found"
