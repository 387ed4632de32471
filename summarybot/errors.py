"""The one error hierarchy. Front doors map it once each (API handler, bot handler, task wrapper).

`permanent` errors will fail again if retried as they are; the others are worth another attempt.
`code` is the stable machine-readable name the API and job rows expose.
"""

from __future__ import annotations

from typing import Any


class SummaryBotError(Exception):
    code: str = "error"
    http_status: int = 400
    permanent: bool = True

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    @property
    def retryable(self) -> bool:
        return not self.permanent


class InvalidInput(SummaryBotError):
    code = "invalid_input"


class NothingNew(InvalidInput):
    """The window holds nothing new for the member (a catch-up with nothing missed): not a failure to report."""

    code = "nothing_new"


class NotFound(SummaryBotError):
    code = "not_found"
    http_status = 404


class PermissionDenied(SummaryBotError):
    code = "permission_denied"
    http_status = 403


class Conflict(SummaryBotError):
    code = "conflict"
    http_status = 409


class IdempotencyKeyReused(Conflict):
    """An Idempotency-Key already used for a different request."""

    code = "idempotency_key_reused"
    http_status = 422


class LimitExceeded(SummaryBotError):
    """A quota, budget, cooldown or concurrency limit refused the request."""

    code = "limit_exceeded"
    http_status = 429

    def __init__(self, message: str, *, retry_after: float | None = None, details: dict[str, Any] | None = None):
        super().__init__(message, details=details)
        self.retry_after = retry_after


class BudgetExceeded(LimitExceeded):
    code = "budget_exceeded"
    http_status = 402


class ExternalServiceError(SummaryBotError):
    """An outside system (Discord, an LLM provider, a webhook receiver) failed."""

    code = "external_service_error"
    http_status = 502
    permanent = False

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        permanent: bool | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after
        if permanent is not None:
            self.permanent = permanent
