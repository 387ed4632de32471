"""Reading OpenAI's rate-limit headers: retry-after(-ms) and x-ratelimit-* (durations like "6m0s")."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str | None) -> float | None:
    """Seconds in "1s", "6m0s", "120ms", "1h2m3.5s" or a bare number of seconds; None if unreadable."""
    if value is None:
        return None
    text = value.strip().lower()
    if not text:
        return None
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    # Every character must belong to a part, else "5 minutes" would read as 5 minutes' "m".
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def _int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw))
    except ValueError:
        return None


def remaining_and_reset(headers: Mapping[str, str], kind: str) -> tuple[int | None, float | None]:
    """(x-ratelimit-remaining-<kind>, x-ratelimit-reset-<kind> in seconds) for kind requests|tokens."""
    return _int(headers, f"x-ratelimit-remaining-{kind}"), parse_duration(headers.get(f"x-ratelimit-reset-{kind}"))


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """How long the server asked us to wait: retry-after-ms, retry-after, then the exhausted x-ratelimit reset."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(float(raw_ms) / 1000.0, 0.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is not None:
        try:
            return max(float(raw), 0.0)
        except ValueError:
            try:  # an HTTP date
                return max(parsedate_to_datetime(raw).timestamp() - time.time(), 0.0)
            except (TypeError, ValueError):
                pass
    waits = []
    for kind in ("requests", "tokens"):
        remaining, reset = remaining_and_reset(headers, kind)
        if reset is not None and remaining == 0:
            waits.append(reset)
    return max(waits) if waits else None
