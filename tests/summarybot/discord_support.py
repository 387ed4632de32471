"""Helpers for the Discord client tests (the `world` fixture is in tests/summarybot/conftest.py)."""

from __future__ import annotations

from tests.fakes.discord import FakeDiscord

HISTORY = r"^/channels/\d+/messages$"


def history_requests(fake: FakeDiscord) -> int:
    return len(fake.requests_matching("GET", HISTORY))
