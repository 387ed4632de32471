"""Mention Q&A: "@Summary Bot what did we decide about the release?" is answered from the channel's
recent conversation. The bot only accepts and enqueues; a worker reads the history and replies.
"""

from __future__ import annotations

import logging

import discord
from channels.db import database_sync_to_async
from discord.ext import commands

from summaries.services.qa import QaRequest, qa_request
from summarybot.errors import LimitExceeded, SummaryBotError

logger = logging.getLogger(__name__)

# Shown on the question when the member asks too fast: a reaction is the one quiet answer a message allows.
SLOW_DOWN = "⏳"


class QaCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if message.guild is None or message.author.bot or me is None:
            return
        # A mention of the bot; a reply to one of its answers pings it too and is a follow-up question.
        if not any(user.id == me.id for user in message.mentions):
            return
        ids = {
            "guild_id": message.guild.id,
            "channel_id": message.channel.id,
            "message_id": message.id,
            "user_id": message.author.id,
        }
        request = QaRequest(
            guild_id=message.guild.id,
            channel_id=message.channel.id,
            message_id=message.id,
            user_id=message.author.id,
            question=message.content,
        )
        try:
            accepted = await database_sync_to_async(qa_request)(request=request)
        except LimitExceeded as exc:
            logger.info("question refused", extra={**ids, "error_code": exc.code})
            await self._react(message, SLOW_DOWN)
            return
        except SummaryBotError as exc:
            # No private way to answer a message; the refusal is in the logs.
            logger.info("question refused", extra={**ids, "error_code": exc.code})
            return
        if not accepted:
            logger.info("question delivered again", extra=ids)

    async def _react(self, message: discord.Message, emoji: str) -> None:
        try:
            await message.add_reaction(emoji)
        except discord.HTTPException as exc:
            logger.info("could not react", extra={"message_id": message.id, "status": exc.status})


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(QaCog(bot))
