"""pytest fixtures for the fake Discord (registered via pytest_plugins in tests/conftest.py).

- `fake_discord`: a started FakeDiscord, fresh per test (start-up takes a few milliseconds).
- `discord_settings`: `fake_discord` with Django settings (DISCORD_TOKEN, DISCORD_API_BASE_URL,
  DISCORD_GATEWAY_URL) pointed at it; discord.py's process-wide endpoint class attributes are restored
  afterwards, whoever changed them.
"""

from __future__ import annotations

from collections.abc import Iterator

import discord.gateway
import discord.http
import pytest

from .server import FakeDiscord


@pytest.fixture
def fake_discord() -> Iterator[FakeDiscord]:
    base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    with FakeDiscord() as fake:
        try:
            yield fake
        finally:
            # Route.BASE and DEFAULT_GATEWAY are class attributes: leave them as we found them.
            discord.http.Route.BASE = base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway


@pytest.fixture
def discord_settings(fake_discord: FakeDiscord, settings) -> FakeDiscord:  # type: ignore[no-untyped-def]
    settings.DISCORD_TOKEN = fake_discord.bot_token
    settings.DISCORD_API_BASE_URL = fake_discord.api_base
    settings.DISCORD_GATEWAY_URL = fake_discord.gateway_url
    return fake_discord
