"""Counts who writes where (per channel and day, never content), for the catch-up digest's channel choice.

Counts gather in memory and are written every FLUSH_SECONDS in one transaction: a busy server costs one
small write per flush, not one per message. A failed write keeps its counts for the next flush.
"""

from __future__ import annotations

import logging
from collections import Counter

import discord
from channels.db import database_sync_to_async
from discord.ext import commands, tasks

from guilds.activity import ActivityKey, activity_record

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 10.0
# Past this many pending keys (the database is down for long), new counts are dropped rather than grown.
MAX_PENDING = 100_000


class ActivityCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.pending: Counter[ActivityKey] = Counter()

    async def cog_load(self) -> None:
        self.flush.start()

    async def cog_unload(self) -> None:
        self.flush.cancel()
        await self.write()

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.guild is None or message.author.bot or message.webhook_id is not None:
            return
        key = ActivityKey(message.guild.id, message.channel.id, message.author.id, message.created_at.date())
        if key in self.pending or len(self.pending) < MAX_PENDING:
            self.pending[key] += 1

    @tasks.loop(seconds=FLUSH_SECONDS)
    async def flush(self) -> None:
        await self.write()

    async def write(self) -> None:
        counts, self.pending = self.pending, Counter()
        if not counts:
            return
        try:
            await database_sync_to_async(activity_record)(counts=counts)
        except Exception:  # noqa: BLE001  the counts wait for the next flush; the bot keeps running
            logger.warning("could not record member activity", extra={"keys": len(counts)}, exc_info=True)
            self.pending.update(counts)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(ActivityCog(bot))
