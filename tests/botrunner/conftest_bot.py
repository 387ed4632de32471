"""The `bot_world` fixture: the real bot connected to a fake guild, mirrored into the database.

Loaded by the bot test modules with `pytest_plugins = ["tests.botrunner.conftest_bot"]`, so the shared
conftest files stay as they are. The helpers it uses are in tests/botrunner/bot_support.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.botrunner.bot_support import BotWorld, db, eventually, populate, start_bot, stop_bot
from tests.fakes.discord import FakeDiscord


async def _guild_mirrored(guild_id: int) -> bool:
    from guilds.models import Guild as GuildRow

    return await db(GuildRow.objects.filter(pk=guild_id, bot_present=True).exists)()


@pytest.fixture
async def bot_world(discord_settings: FakeDiscord) -> AsyncIterator[BotWorld]:
    """The real bot connected to a fake guild (owner, admin with Manage Server, member, #general), mirrored."""
    fake = discord_settings
    guild, channel, owner, admin, member = populate(fake)
    bot, task = await start_bot(fake)
    try:
        await eventually(lambda: _guild_mirrored(guild.id))
        yield BotWorld(fake=fake, bot=bot, guild=guild, channel=channel, owner=owner, admin=admin, member=member)
    finally:
        await stop_bot(bot, task)
