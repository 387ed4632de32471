"""Log records as operators read them: text at a terminal, one JSON object a line for a collector.

Every record carries the ids of the work it belongs to (`request_id`, `job_id`, `guild_id`), set once per
request by summarybot.middleware and once per job by the runner through `log_context`, so no call site has
to repeat them. Nothing here logs message content: that is every call site's rule (ids in `extra`, never
text). As a last line of defence both formatters replace the configured secrets (Django's secret key, the
Fernet keys, the Discord token, the OpenAI key, the metrics token) wherever they would appear.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

CONTEXT_FIELDS = ("request_id", "job_id", "guild_id")
_context: dict[str, contextvars.ContextVar[str | None]] = {
    name: contextvars.ContextVar(f"log_{name}", default=None) for name in CONTEXT_FIELDS
}

# What every LogRecord has; anything else on a record came from `extra` and is logged as a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
# Objects some libraries pass in `extra` (Django: the request) whose repr would only add noise or data.
_NOT_FIELDS = frozenset({"request", "server_time", "args"})
REDACTED = "[redacted]"
# Shorter values (a "1", an empty pepper) would redact ordinary words and numbers.
_MIN_SECRET_LENGTH = 8


@contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    """Attach ids (request_id, job_id, guild_id) to every record logged inside, in this thread or task."""
    tokens = [(_context[name], _context[name].set(None if value is None else str(value))) for name, value in ids.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def current_ids() -> dict[str, str]:
    return {name: value for name, var in _context.items() if (value := var.get()) is not None}


class ContextFilter(logging.Filter):
    """Copies the current ids onto the record (an id passed in `extra` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in current_ids().items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        # Django logs a request's outcome ("Not Found: …") after the middleware has returned, with the request.
        if getattr(record, "request_id", None) is None:
            request_id = getattr(getattr(record, "request", None), "request_id", None)
            if request_id is not None:
                record.request_id = request_id
        return True


def _configured_secrets() -> list[str]:
    try:
        from django.conf import settings

        candidates = [
            settings.SECRET_KEY, settings.API_KEY_PEPPER, settings.DISCORD_TOKEN, settings.OPENAI_API_KEY,
            settings.METRICS_TOKEN, *settings.FIELD_ENCRYPTION_KEYS,
        ]
    except Exception:  # noqa: BLE001  settings not loaded (a bare script): nothing configured to hide
        return []
    # Longest first, so a secret that contains another is replaced whole.
    return sorted({c for c in candidates if isinstance(c, str) and len(c) >= _MIN_SECRET_LENGTH}, key=len, reverse=True)


class _Scrubbing(logging.Formatter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._secrets: list[str] | None = None

    def scrub(self, text: str) -> str:
        if self._secrets is None:
            self._secrets = _configured_secrets()
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


class TextFormatter(_Scrubbing):
    """`time level logger message [job_id=… guild_id=…]`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = " ".join(f"{name}={value}" for name in CONTEXT_FIELDS if (value := getattr(record, name, None)) is not None)
        if ids:
            first, sep, rest = text.partition("\n")
            text = f"{first} [{ids}]{sep}{rest}"
        return self.scrub(text)


class JsonFormatter(_Scrubbing):
    """One JSON object a line: time, level, logger, message, the context ids and every `extra` field."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in _NOT_FIELDS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return self.scrub(json.dumps(entry, default=str, ensure_ascii=False))
