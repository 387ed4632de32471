"""Fixtures for the bot and Discord client tests.

The fake Discord fixtures come from tests/fakes/discord/fixtures.py; they are imported here so these
tests run whether or not tests/conftest.py lists that module in pytest_plugins.
"""

from __future__ import annotations

from tests.fakes.discord.fixtures import discord_settings, fake_discord

__all__ = ["discord_settings", "fake_discord"]
