"""Fixtures for the Discord client tests (summarybot/discord/), run against the fake Discord."""

from __future__ import annotations

import pytest

from tests.fakes.discord import FakeDiscord


@pytest.fixture
def world(discord_settings: FakeDiscord):  # type: ignore[no-untyped-def]
    """A guild with two members (alice, bob) and #general, and the settings pointing at the fake."""
    fake = discord_settings
    guild = fake.add_guild("Guild")
    alice = fake.add_member(guild, username="alice", global_name="Alice A.")
    bob = fake.add_member(guild, username="bob")
    channel = fake.add_channel(guild, "general")
    return fake, guild, channel, alice, bob
