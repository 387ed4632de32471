"""Atomic counters on the shared cache (the database cache by default, Redis when REDIS_URL is set).

Their atomicity across connections is tested in tests/summaries/test_llm_ratelimit.py."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache

from summarybot.counters import atomic_incr

pytestmark = pytest.mark.django_db


def test_a_counter_starts_at_delta_counts_up_and_reads_back_through_the_cache():
    key = f"test:counter:{uuid.uuid4()}"
    assert [atomic_incr(cache, key, 1, timeout=60) for _ in range(3)] == [1, 2, 3]
    assert atomic_incr(cache, key, -2, timeout=60) == 1
    assert cache.get(key) == 1


def test_an_expired_counter_starts_again_and_a_live_one_set_elsewhere_is_continued():
    expired, live = f"test:counter:{uuid.uuid4()}", f"test:counter:{uuid.uuid4()}"
    cache.set(expired, 41, timeout=-10)
    cache.set(live, 41, timeout=60)
    assert atomic_incr(cache, expired, 1, timeout=60) == 1
    assert atomic_incr(cache, live, 1, timeout=60) == 42
