"""A circuit breaker per provider endpoint, its state in Django's cache so every process shares it.

closed: calls go through; each retryable failure (timeout, connection error, 5xx) adds to a
consecutive-failure count that any success resets. At `failure_threshold` the circuit opens.
open: calls fail at once with LLMUnavailable("circuit open ...") for `cooldown_seconds`, sparing the
endpoint and our job time. half-open: after the cool-down exactly one caller (an atomic cache `add`)
probes; success closes the circuit, failure opens it for another cool-down.
"""

from __future__ import annotations

import logging
import time

from asgiref.sync import sync_to_async
from django.core.cache import BaseCache

from summaries.llm.errors import LLMUnavailable
from summaries.llm.ratelimit import scope_key
from summarybot.counters import atomic_incr, shared_cache

logger = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
# Every breaker that has opened, {open_until key: label}, so /metrics can find them: Django's cache cannot list
# keys. Rewritten only when a breaker opens that is not in it yet (a race may lose an entry until it opens again).
INDEX_KEY = "llm:cb:index"
INDEX_TIMEOUT = 30 * 24 * 3600


def open_breakers(cache: BaseCache | None = None) -> list[str]:
    """The labels (host and model) of the breakers open now."""
    store = shared_cache(cache)
    index = store.get(INDEX_KEY) or {}
    if not index:
        return []
    now = time.time()
    until = store.get_many(list(index))
    return sorted(label for key, label in index.items() if (until.get(key) or 0) > now)


class CircuitBreaker:
    def __init__(
        self,
        *,
        scope: str,
        failure_threshold: int = 5,
        cooldown_seconds: float = 30.0,
        label: str = "",
        cache: BaseCache | None = None,
    ) -> None:
        self.threshold = failure_threshold
        self.cooldown = cooldown_seconds
        # `label` names the endpoint in messages (host and model, never a key).
        self.label = label or "the LLM endpoint"
        self._cache_override = cache
        prefix = f"llm:cb:{scope_key(scope)}"
        self._failures_key = f"{prefix}:failures"
        self._open_key = f"{prefix}:open_until"
        self._probe_key = f"{prefix}:probe"
        # Whether this instance last saw any breaker state: a success then has something to reset.
        self._dirty = True

    @property
    def _cache(self) -> BaseCache:
        # Resolved per use: Django's cache connections are per thread.
        return shared_cache(self._cache_override)

    async def before_call(self) -> None:
        await sync_to_async(self._before_call)()

    async def record_success(self) -> None:
        if self._dirty:
            await sync_to_async(self._record_success)()

    async def record_failure(self) -> None:
        await sync_to_async(self._record_failure)()

    async def state(self) -> str:
        return await sync_to_async(self._state)()

    def _state(self) -> str:
        open_until = self._cache.get(self._open_key)
        if open_until is None:
            return CLOSED
        return OPEN if time.time() < open_until else HALF_OPEN

    def _before_call(self) -> None:
        values = self._cache.get_many([self._open_key, self._failures_key])
        open_until = values.get(self._open_key)
        self._dirty = bool(values)
        if open_until is None:
            return
        now = time.time()
        if now < open_until:
            raise LLMUnavailable(
                f"circuit open for {self.label} after repeated failures; retry in {open_until - now:.1f}s",
                retry_after=open_until - now,
                details={"circuit": OPEN},
            )
        # Half-open: one probe at a time; its ticket expires so a crashed prober does not wedge the circuit.
        # At least 10 s: the database cache keeps expiry times in whole seconds.
        if self._cache.add(self._probe_key, 1, timeout=max(self.cooldown, 10.0)):
            return
        raise LLMUnavailable(
            f"circuit half-open for {self.label}: a probe request is in flight",
            retry_after=self.cooldown,
            details={"circuit": HALF_OPEN},
        )

    def _record_success(self) -> None:
        was_open = self._cache.get(self._open_key) is not None
        self._cache.delete_many([self._failures_key, self._open_key, self._probe_key])
        self._dirty = False
        if was_open:
            logger.info("circuit closed", extra={"circuit": self.label})

    def _record_failure(self) -> None:
        self._dirty = True
        failures = atomic_incr(self._cache, self._failures_key, 1, timeout=max(self.cooldown * 10, 600))
        open_until = self._cache.get(self._open_key)
        if open_until is None and failures < self.threshold:
            return
        # Opening, or a failed half-open probe: (re)open for a full cool-down.
        self._cache.set(self._open_key, time.time() + self.cooldown, timeout=max(self.cooldown * 10, 600))
        self._cache.delete(self._probe_key)
        index = self._cache.get(INDEX_KEY) or {}
        if index.get(self._open_key) != self.label:
            self._cache.set(INDEX_KEY, {**index, self._open_key: self.label}, timeout=INDEX_TIMEOUT)
        logger.warning(
            "circuit opened", extra={"circuit": self.label, "failures": failures, "cooldown_s": self.cooldown}
        )
