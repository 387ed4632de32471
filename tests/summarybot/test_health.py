"""/health needs nothing; /ready names each failing dependency with a 503."""

from __future__ import annotations

import json
import logging
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
    assert set(body["checks"].values()) == {"ok"}


@pytest.mark.django_db
def test_ready_names_a_broken_cache_with_503_and_logs_why(client, settings, caplog):
    port = _closed_port()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    with caplog.at_level(logging.WARNING, logger="summarybot.health"):
        response = client.get("/ready")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "fail"
    assert body["failing"] == ["cache"]
    assert body["checks"]["cache"] == "fail"
    assert body["checks"]["database"] == "ok"
    # The operator reads why in the log ...
    assert "readiness check cache failed" in caplog.text and "Connection" in caplog.text
    # ... and the public answer carries no address, port or exception text.
    raw = json.dumps(body)
    assert "127.0.0.1" not in raw and str(port) not in raw and "Connection" not in raw
