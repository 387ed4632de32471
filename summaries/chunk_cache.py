"""The engine's chunk-summary cache (summaries.engine.cache.ChunkCache) on Django's cache.

Shared by every worker process (Redis, or the database cache on one machine), so a window summarized
again, or overlapping one summarized before, reuses the chunk summaries already paid for.

A cached chunk summary is a summary of members' messages, so it is subject to its guild's retention and to
a member's right to be forgotten, but its key is a hash of the chunk's content: nothing in it says whose
messages it holds or how old it is. So entries are stored per guild and bounded in time:
- the key starts with the guild (`summaries:chunk:g<guild id>:`), so a guild's entries can be found and
  deleted (`chunk_cache_forget_guild`: gdpr_forget, which cannot tell which chunks a member is in, deletes the
  guild's whole chunk cache; that costs only LLM calls later);
- an entry expires after the guild's retention (at most 30 days), so it never outlives the summaries it
  served; the daily retention task then removes the expired rows of the database cache, which Django only
  culls when the table is full (Redis drops expired keys itself).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.db import connections, router
from django.utils import timezone

logger = logging.getLogger(__name__)

THIRTY_DAYS = 30 * 24 * 3600
DAY = 24 * 3600
PREFIX = "summaries:"


def guild_prefix(guild_id: int) -> str:
    return f"{PREFIX}chunk:g{guild_id}:"


def chunk_timeout(retention_days: int) -> int:
    """Seconds a chunk summary is kept: the guild's retention, at most 30 days."""
    return min(THIRTY_DAYS, max(1, retention_days) * DAY)


class DjangoChunkCache:
    def __init__(
        self, alias: str = "default", *, timeout: int = THIRTY_DAYS, prefix: str = PREFIX, guild_id: int | None = None
    ) -> None:
        self.alias = alias
        self.timeout = timeout
        self.prefix = guild_prefix(guild_id) if guild_id is not None else prefix

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


def chunk_cache_forget_guild(guild_id: int, alias: str = "default") -> int:
    """Delete every cached chunk summary of the guild; returns how many (-1: the backend cannot list keys)."""
    return _delete_prefix(caches[alias], guild_prefix(guild_id))


def chunk_cache_purge_expired(alias: str = "default", *, now: datetime | None = None) -> int:
    """Delete the database cache's expired rows (their pickled values are still in the table until culled)."""
    cache = caches[alias]
    if not isinstance(cache, DatabaseCache):
        return 0  # Redis and the in-process cache drop expired entries themselves
    db = router.db_for_write(cache.cache_model_class)
    connection = connections[db]
    table = connection.ops.quote_name(cache._table)
    with connection.cursor() as cursor:
        expired = connection.ops.adapt_datetimefield_value((now or timezone.now()).replace(microsecond=0))
        cursor.execute(f"DELETE FROM {table} WHERE expires < %s", [expired])  # noqa: S608
        return cursor.rowcount


def _delete_prefix(cache: Any, prefix: str) -> int:
    if isinstance(cache, DatabaseCache):
        db = router.db_for_write(cache.cache_model_class)
        connection = connections[db]
        table = connection.ops.quote_name(cache._table)
        pattern = cache.make_key(prefix).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE cache_key LIKE %s ESCAPE '\\'", [pattern])  # noqa: S608
            return cursor.rowcount
    if isinstance(cache, RedisCache):
        client = cache._cache.get_client(write=True)
        deleted = 0
        batch: list[Any] = []
        for key in client.scan_iter(match=_redis_glob(cache.make_key(prefix)) + "*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                deleted += client.delete(*batch)
                batch.clear()
        if batch:
            deleted += client.delete(*batch)
        return deleted
    if isinstance(cache, LocMemCache):
        full = cache.make_key(prefix)
        with cache._lock:
            keys = [key for key in cache._cache if key.startswith(full)]
            for key in keys:
                cache._delete(key)
        return len(keys)
    logger.error("cannot delete cached chunk summaries from this cache backend", extra={"backend": type(cache).__name__})
    return -1


def _redis_glob(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)
