"""A worker's start-up check: it backs off while the database, cache or queue fail, and never raises."""

from __future__ import annotations

import logging
import socket

import pytest

from summaries.tasks import on_worker_spawn, wait_for_infrastructure

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_cache(settings):  # type: ignore[no-untyped-def]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": f"redis://127.0.0.1:{port}/0"}
    }


def test_healthy_infrastructure_lets_the_worker_start_at_once():
    slept: list[float] = []
    assert wait_for_infrastructure(proc_name="w1", grace_seconds=30, sleep=slept.append) is True
    assert slept == []


def test_a_failing_cache_backs_off_exponentially_within_the_grace_period_and_logs_once(dead_cache, caplog):
    slept: list[float] = []
    caplog.set_level(logging.ERROR, logger="summaries.tasks")

    # The grace period is measured on the clock, which a recorded sleep does not advance: give it none.
    assert wait_for_infrastructure(proc_name="w1", grace_seconds=0, sleep=slept.append) is False

    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "w1 cannot start cleanly: cache failed" in lines[0] and "migrate" in lines[0]
    assert "taking jobs without cache" in lines[1]


def test_back_off_doubles_between_checks(dead_cache, monkeypatch):
    slept: list[float] = []
    clock = iter(range(0, 10_000, 1))
    # time.monotonic is the standard library's, not ours: the grace period is read off a clock we step.
    monkeypatch.setattr("summaries.tasks.time.monotonic", lambda: float(next(clock)))

    assert wait_for_infrastructure(proc_name="w1", grace_seconds=40, sleep=slept.append) is False

    assert slept[:5] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert all(delay <= 30 for delay in slept)


def test_the_spawn_hook_never_raises_even_when_every_check_fails(dead_cache, settings):
    settings.WORKER_START_GRACE_SECONDS = 0
    on_worker_spawn("django_q", proc_name="w1")  # raising here would make django-q2 respawn in a loop
