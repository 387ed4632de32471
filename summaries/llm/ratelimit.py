"""One requests-per-minute and tokens-per-minute budget per endpoint and model, shared by ALL processes.

Counters live in Django's cache (Redis in production, the database cache on one machine) under keys
for the current fixed window, aligned on the wall clock so every process agrees which window it is in.
A caller takes a slot with an atomic increment; when the window is full it gives the slot back and
sleeps until the next window instead of failing: a long map-reduce slows down, it does not break.

The server knows better than our counters (other clients may share the key), so its
x-ratelimit-remaining-* headers lower our budget when they say less is left, and a remaining count of
0 holds every process until the server's reset.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Mapping

from asgiref.sync import sync_to_async
from django.core.cache import BaseCache

from summaries.llm.errors import LLMRateLimited
from summaries.llm.headers import remaining_and_reset
from summarybot.counters import atomic_incr, shared_cache

logger = logging.getLogger(__name__)


def scope_key(*parts: str) -> str:
    """A short, cache-safe key for an endpoint and model (base URLs hold characters memcached dislikes)."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


class SharedRateLimiter:
    def __init__(
        self,
        *,
        scope: str,
        rpm: int,
        tpm: int,
        window_seconds: float = 60.0,
        max_wait_seconds: float | None = None,
        cache: BaseCache | None = None,
    ) -> None:
        if rpm < 1 or tpm < 1:
            raise ValueError("rate limits must be at least 1")
        self.scope = scope
        self.rpm = rpm
        self.tpm = tpm
        self.window = window_seconds
        self.max_wait = max_wait_seconds
        self._cache_override = cache
        self._prefix = f"llm:rl:{scope_key(scope)}"

    @property
    def _cache(self) -> BaseCache:
        # Resolved per use: Django's cache connections are per thread.
        return shared_cache(self._cache_override)

    def _keys(self, window: int) -> tuple[str, str]:
        return f"{self._prefix}:{window}:req", f"{self._prefix}:{window}:tok"

    async def acquire(self, tokens: int) -> float:
        """Take one request and `tokens` tokens from the shared budget, waiting for room. Returns seconds waited."""
        waited = 0.0
        while True:
            wait_until = await sync_to_async(self._try_take)(max(tokens, 0))
            if wait_until is None:
                return waited
            # Jitter spreads the processes that all wake at the window's start.
            delay = max(wait_until - time.time(), 0.0) + random.uniform(0, min(self.window * 0.05, 1.0))
            if self.max_wait is not None and waited + delay > self.max_wait:
                raise LLMRateLimited(
                    "the shared LLM rate limit is exhausted", retry_after=delay, details={"scope": self._prefix}
                )
            logger.debug("rate limit full, waiting", extra={"limiter": self._prefix, "wait_s": round(delay, 3)})
            await asyncio.sleep(delay)
            waited += delay

    def _try_take(self, tokens: int) -> float | None:
        """None when admitted, else the time at which to try again."""
        now = time.time()
        hold_until = self._cache.get(f"{self._prefix}:hold")
        if hold_until is not None and hold_until > now:
            return float(hold_until)
        window = int(now // self.window)
        next_window = (window + 1) * self.window
        req_key, tok_key = self._keys(window)
        ttl = self.window * 2 + 1
        if atomic_incr(self._cache, req_key, 1, timeout=ttl) > self.rpm:
            atomic_incr(self._cache, req_key, -1, timeout=ttl)
            return next_window
        used = atomic_incr(self._cache, tok_key, tokens, timeout=ttl)
        # A request bigger than the whole budget still goes, alone, in a window nobody else used.
        if used > self.tpm and used != tokens:
            atomic_incr(self._cache, tok_key, -tokens, timeout=ttl)
            atomic_incr(self._cache, req_key, -1, timeout=ttl)
            return next_window
        return None

    async def observe(self, headers: Mapping[str, str]) -> None:
        """Lower our budget to what the server says remains (x-ratelimit-remaining-*)."""
        readings = {kind: remaining_and_reset(headers, kind) for kind in ("requests", "tokens")}
        if all(remaining is None for remaining, _ in readings.values()):
            return
        await sync_to_async(self._apply_server_view)(readings)

    def _apply_server_view(self, readings: dict[str, tuple[int | None, float | None]]) -> None:
        now = time.time()
        window = int(now // self.window)
        req_key, tok_key = self._keys(window)
        ttl = self.window * 2 + 1
        for kind, (remaining, reset) in readings.items():
            if remaining is None:
                continue
            if remaining <= 0 and reset:
                hold_key = f"{self._prefix}:hold"
                until = now + reset
                current = self._cache.get(hold_key)
                if current is None or current < until:
                    self._cache.set(hold_key, until, timeout=reset + 1)
                logger.info("server rate limit exhausted, holding", extra={"limiter": self._prefix, "kind": kind})
                continue
            key, limit = (req_key, self.rpm) if kind == "requests" else (tok_key, self.tpm)
            used = int(self._cache.get(key) or 0)
            if remaining < limit - used:
                atomic_incr(self._cache, key, (limit - used) - remaining, timeout=ttl)
