"""/health needs nothing; /ready names each failing dependency with a 503."""

from __future__ import annotations

import socket

import pytest


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_health_answers_without_touching_dependencies(client):
    # No django_db mark: any database access would raise here.
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_ready_reports_every_check_ok(client):
    response = client.get("/ready")
    body = response.json()
    assert response.status_code == 200, body
    assert body["failing"] == []
    assert {"database", "cache", "queue", "llm", "discord"} <= set(body["checks"])


@pytest.mark.django_db
def test_ready_names_a_broken_cache_with_503(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    response = client.get("/ready")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "fail"
    assert body["failing"] == ["cache"]
    assert body["checks"]["cache"]["ok"] is False
    assert "Connection" in body["checks"]["cache"]["detail"]
    assert body["checks"]["database"]["ok"] is True
