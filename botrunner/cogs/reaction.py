"""The reaction trigger: reacting with the guild's configured emoji summarizes publicly in the channel.

On a thread (or a message that started one) it summarizes the thread; elsewhere the conversation from
the reacted message on. There is no interaction to answer privately, so refusals are only logged, and
the job is keyed on the message: ten members reacting make one summary.
"""

from __future__ import annotations

import logging
import time

import discord
from channels.db import database_sync_to_async
from discord.ext import commands

from botrunner._access import Target, check_target
from botrunner.cogs.mirror import channel_data
from guilds.services import guild_reaction_emoji
from summaries.models import DeliveryMode, JobSource, Visibility
from summaries.services.jobs import SummaryRequest, summary_request
from summaries.window import SummaryWindow
from summarybot.errors import SummaryBotError

logger = logging.getLogger(__name__)

# Reactions are frequent; the trigger emoji is read from the database at most this often per guild.
EMOJI_CACHE_SECONDS = 60.0


class ReactionTriggerCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self._emoji: dict[int, tuple[str, float]] = {}

    @commands.Cog.listener()
    async def on_guild_config_changed(self, guild_id: int) -> None:
        """/summary-config changed a setting (perhaps the emoji): this process sees it at once."""
        self._emoji.pop(guild_id, None)

    async def _trigger_emoji(self, guild_id: int) -> str:
        cached = self._emoji.get(guild_id)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        emoji = await database_sync_to_async(guild_reaction_emoji)(guild_id=guild_id)
        self._emoji[guild_id] = (emoji, now + EMOJI_CACHE_SECONDS)
        return emoji

    @staticmethod
    def _matches(configured: str, emoji: discord.PartialEmoji) -> bool:
        # Stored as typed in /summary-config: "📝", "<:notes:123>" or just the custom emoji's name.
        return configured in {str(emoji), emoji.name or ""} or (emoji.id is not None and configured == str(emoji.id))

    def _target(self, payload: discord.RawReactionActionEvent) -> tuple[Target, int] | None:
        """(target, first message id) from the cache, or None when the channel or member is unknown."""
        guild = self.bot.get_guild(payload.guild_id or 0)
        member = payload.member
        if guild is None or member is None or guild.me is None:
            return None
        channel = guild.get_channel_or_thread(payload.channel_id)
        started = guild.get_thread(payload.message_id)  # a message that started a thread: summarize the thread
        if started is not None:
            channel = started
        if channel is None:
            return None
        is_thread = isinstance(channel, discord.Thread)
        target = Target(
            id=channel.id,
            name=channel.name,
            is_thread=is_thread,
            requester_permissions=channel.permissions_for(member),
            bot_permissions=channel.permissions_for(guild.me),
            seen=channel_data(guild, channel),
        )
        # A thread's messages all have ids above the thread's own (which is its starter's, for forum posts).
        return target, channel.id if is_thread else payload.message_id

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if payload.guild_id is None or payload.user_id == getattr(self.bot.user, "id", None):
            return
        if payload.member is not None and payload.member.bot:
            return
        configured = await self._trigger_emoji(payload.guild_id)
        if not configured or not self._matches(configured, payload.emoji):
            return
        ids = {
            "guild_id": payload.guild_id,
            "channel_id": payload.channel_id,
            "message_id": payload.message_id,
            "user_id": payload.user_id,
        }
        found = self._target(payload)
        if found is None:
            logger.info("reaction trigger on an uncached channel", extra=ids)
            return
        target, first_message_id = found
        request = SummaryRequest(
            guild_id=payload.guild_id,
            channel_id=target.id,
            source=JobSource.REACTION,
            requested_by_user_id=payload.user_id,
            window=SummaryWindow.from_message(first_message_id),
            visibility=Visibility.PUBLIC,
            delivery_mode=DeliveryMode.HERE,
            idempotency_key=f"reaction:{target.id}:{first_message_id}",
            channel_seen=target.seen,
        )
        try:
            check_target(target)
            job, created = await database_sync_to_async(summary_request)(request=request)
        except SummaryBotError as exc:
            # No private channel to the member here; the refusal is visible in the logs and the dashboard.
            logger.info("reaction trigger refused", extra={**ids, "error_code": exc.code})
            return
        logger.info("reaction trigger", extra={**ids, "job_id": str(job.pk), "job_created": created})


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(ReactionTriggerCog(bot))
