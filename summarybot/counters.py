"""Atomic counters on Django's cache, shared by every process (web, worker, bot).

Redis and locmem increment atomically. Django's DatabaseCache does not: its `incr` is a get then a set,
so two processes can both read 4 and both write 5. Here the increment runs inside one transaction that
holds the write lock: on SQLite (our `transaction_mode=IMMEDIATE`) BEGIN takes it for the whole block,
on PostgreSQL a `SELECT ... FOR UPDATE` on the cache row does.

These functions are sync (they may touch the database); async callers wrap them in `sync_to_async`.
Used by the LLM limiter and breaker and by the HTTP throttles (summarybot/throttles.py).
"""

from __future__ import annotations

import base64
import pickle

from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.core.cache import cache as default_cache_proxy
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction
from django.utils import timezone


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
    """Lock the counter's row, add, write it back: two statements while the counter lives, and on
    PostgreSQL a commit that does not wait for the disk.

    Not `cache.get` and `cache.set`: each `set` also counts every row of the cache table (to cull it),
    which on a large cache costs more than everything else here. The expiry is set when the counter is
    created and kept by each increment, as Redis' INCR keeps a key's TTL.
    """
    db = router.db_for_write(cache.cache_model_class)
    connection = connections[db]
    quote = connection.ops.quote_name
    table, key_column = quote(cache._table), quote("cache_key")
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    select = f"SELECT {quote('value')} FROM {table} WHERE {key_column} = %s AND {quote('expires')} > %s{lock}"
    cache_key = cache.make_and_validate_key(key)
    with transaction.atomic(using=db), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A counter lost in a database crash is harmless, a flush to disk on every commit is not free:
            # this transaction's commit does not wait for its WAL record to reach the disk (it is still
            # atomic and ordered; only the last fraction of a second of counts can be lost in a crash).
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        # As DatabaseCache.has_key compares: whole seconds, naive (adapted to the connection's time zone).
        now = connection.ops.adapt_datetimefield_value(timezone.now().replace(microsecond=0, tzinfo=None))
        cursor.execute(select, [cache_key, now])
        row = cursor.fetchone()
        if row is None:
            # Missing or expired: `add` creates it (or replaces the expired row); a concurrent creator
            # makes this `add` a no-op, and the SELECT then waits for and sees its row.
            cache.add(key, 0, timeout=timeout)
            cursor.execute(select, [cache_key, now])
            row = cursor.fetchone()
            if row is None:  # expired within the second just measured
                cache.set(key, delta, timeout=timeout)
                return delta
        stored = pickle.loads(base64.b64decode(connection.ops.process_clob(row[0]).encode()))
        value = int(stored) + delta
        encoded = base64.b64encode(pickle.dumps(value, cache.pickle_protocol)).decode("latin1")
        cursor.execute(f"UPDATE {table} SET {quote('value')} = %s WHERE {key_column} = %s", [encoded, cache_key])
        return value
