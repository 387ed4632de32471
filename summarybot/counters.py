"""Atomic counters on Django's cache, shared by every process (web, worker, bot).

Redis and locmem increment atomically. Django's DatabaseCache does not: its `incr` is a get then a set,
so two processes can both read 4 and both write 5. Here the increment runs inside one transaction that
holds the write lock: on SQLite (our `transaction_mode=IMMEDIATE`) BEGIN takes it for the whole block,
on PostgreSQL a `SELECT ... FOR UPDATE` on the cache row does.

These functions are sync (they may touch the database); async callers wrap them in `sync_to_async`.
Used by the LLM limiter and breaker and by the HTTP throttles (summarybot/throttles.py).
"""

from __future__ import annotations

from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.core.cache import cache as default_cache_proxy
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction


def shared_cache(override: BaseCache | None = None) -> BaseCache:
    """The backend itself, not `django.core.cache.cache`: that is a proxy, and would hide a DatabaseCache."""
    if override is None or override is default_cache_proxy:
        return caches[DEFAULT_CACHE_ALIAS]
    return override


def atomic_incr(cache: BaseCache, key: str, delta: int, *, timeout: float) -> int:
    """Add `delta` to the counter at `key` (created at 0 with `timeout` seconds to live); return the new value."""
    cache = shared_cache(cache)
    if isinstance(cache, DatabaseCache):
        return _db_incr(cache, key, delta, timeout=timeout)
    for _ in range(3):
        cache.add(key, 0, timeout=timeout)
        try:
            return int(cache.incr(key, delta))
        except ValueError:  # expired between add and incr: create it again
            continue
    raise RuntimeError("cache counter kept expiring between add and incr")


def _db_incr(cache: DatabaseCache, key: str, delta: int, *, timeout: float) -> int:
    db = router.db_for_write(cache.cache_model_class)
    connection = connections[db]
    with transaction.atomic(using=db):
        cache.add(key, 0, timeout=timeout)
        if connection.features.has_select_for_update:
            table = connection.ops.quote_name(cache._table)
            column = connection.ops.quote_name("cache_key")
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {column} FROM {table} WHERE {column} = %s FOR UPDATE",
                    [cache.make_and_validate_key(key)],
                )
        value = cache.get(key)
        new_value = int(value or 0) + delta
        cache.set(key, new_value, timeout=timeout)
        return new_value
