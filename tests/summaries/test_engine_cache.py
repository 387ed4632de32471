"""The chunk-summary cache: keys, the in-memory LRU, and the Django-cache implementation."""

from __future__ import annotations

import logging

import pytest

from summaries.chunk_cache import THIRTY_DAYS, DjangoChunkCache
from summaries.engine.cache import InMemoryChunkCache, chunk_cache_key, chunk_fingerprint
from summaries.engine.normalize import prepare
from summaries.engine.options import SummaryOptions
from summaries.engine.synthetic import make_message

KEY_PARTS = {"fingerprint": "f", "stage": "map", "format_name": "brief", "language": "auto", "model": "gpt-4o-mini"}


def test_the_key_changes_with_every_part() -> None:
    base = chunk_cache_key(**KEY_PARTS)
    for part in KEY_PARTS:
        assert chunk_cache_key(**{**KEY_PARTS, part: "other"}) != base


def test_the_fingerprint_follows_content_not_position() -> None:
    messages = [make_message(i, f"m{i}") for i in range(4)]
    whole = prepare(messages, SummaryOptions()).messages
    later = prepare(messages[1:], SummaryOptions()).messages
    assert chunk_fingerprint(whole[1:], whole) == chunk_fingerprint(later, later)
    edited = prepare([*messages[1:3], make_message(3, "edited")], SummaryOptions()).messages
    assert chunk_fingerprint(edited, edited) != chunk_fingerprint(later, later)


async def test_in_memory_cache_evicts_the_least_recently_used() -> None:
    cache = InMemoryChunkCache(max_entries=2)
    await cache.set("a", {"v": 1})
    await cache.set("b", {"v": 2})
    assert await cache.get("a") == {"v": 1}  # "a" is now the most recent
    await cache.set("c", {"v": 3})
    assert await cache.get("b") is None
    assert (await cache.get("a"), await cache.get("c"), len(cache)) == ({"v": 1}, {"v": 3}, 2)


@pytest.fixture
def chunk_caches(settings):  # type: ignore[no-untyped-def]
    settings.CACHES = {
        **settings.CACHES,
        "chunks": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "engine-chunks"},
        "broken": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "no_such_table"},
    }
    return settings


@pytest.mark.django_db(transaction=True)
async def test_django_cache_round_trips_json_dicts(chunk_caches) -> None:  # type: ignore[no-untyped-def]
    cache = DjangoChunkCache("chunks")
    assert cache.timeout == THIRTY_DAYS
    assert await cache.get("k") is None
    await cache.set("k", {"language": "en", "sections": {"key_points": [{"text": "x", "message_ids": [1]}]}})
    assert await cache.get("k") == {"language": "en", "sections": {"key_points": [{"text": "x", "message_ids": [1]}]}}


@pytest.mark.django_db(transaction=True)
async def test_a_cache_outage_is_a_miss_not_a_failure(chunk_caches, caplog) -> None:  # type: ignore[no-untyped-def]
    cache = DjangoChunkCache("broken")
    with caplog.at_level(logging.WARNING, logger="summaries.chunk_cache"):
        await cache.set("k", {"v": 1})
        assert await cache.get("k") is None
    assert "chunk cache write failed" in caplog.text and "chunk cache read failed" in caplog.text
