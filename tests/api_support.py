"""Assertions shared by the tests of the HTTP front doors (REST API, inbound webhooks)."""

from __future__ import annotations

from typing import Any


def assert_envelope(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The response has `status` and the one error envelope `{"error": {"code", "message", "details"}}`."""
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"} and error["message"]
    if code is not None:
        assert error["code"] == code
    return error
