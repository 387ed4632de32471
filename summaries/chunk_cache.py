"""The engine's chunk-summary cache (summaries.engine.cache.ChunkCache) on Django's cache.

Shared by every worker process (Redis, or the database cache on one machine), so a window summarized
again, or overlapping one summarized before, reuses the chunk summaries already paid for.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import caches

logger = logging.getLogger(__name__)

THIRTY_DAYS = 30 * 24 * 3600


class DjangoChunkCache:
    def __init__(self, alias: str = "default", *, timeout: int = THIRTY_DAYS, prefix: str = "summaries:") -> None:
        self.alias = alias
        self.timeout = timeout
        self.prefix = prefix

    def _key(self, key: str) -> str:
        return self.prefix + key

    async def get(self, key: str) -> dict[str, Any] | None:
        # Resolved per call: Django's cache connections are per thread, and the async methods may hop threads.
        try:
            value = await caches[self.alias].aget(self._key(key))
        except Exception:  # a cache outage must cost a cache miss, never the summary
            logger.warning("chunk cache read failed; treating it as a miss", exc_info=True)
            return None
        return value if isinstance(value, dict) else None

    async def set(self, key: str, value: dict[str, Any]) -> None:
        try:
            await caches[self.alias].aset(self._key(key), value, timeout=self.timeout)
        except Exception:  # as above: losing a cache write only costs a future call
            logger.warning("chunk cache write failed; the chunk will be summarized again next time", exc_info=True)
