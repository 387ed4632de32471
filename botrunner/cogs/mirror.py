"""Keeps the database in step with Discord: guilds and channels mirrored from gateway events, and
summaries marked stale when a message they cite is edited or deleted.

Listeners convert discord.py objects to plain data here and call one service each; raw message events
are used because the deleted or edited message is usually not in the bot's message cache.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import discord
from channels.db import database_sync_to_async
from discord.ext import commands

from guilds.services import ChannelData, GuildData, channel_deleted, channel_kind, channel_sync, guild_left, guild_sync
from summaries.services.staleness import summaries_mark_stale
from summarybot.discord.permissions import VIEW_CHANNEL, Overwrite, channel_permissions

logger = logging.getLogger(__name__)

_Mirrored = discord.abc.GuildChannel | discord.Thread


def everyone_can_view(guild: discord.Guild, channel: _Mirrored) -> bool:
    """Whether @everyone sees the channel: the role's permissions, then the channel's @everyone overwrite.

    A thread follows its parent; a private thread is never open to @everyone.
    """
    if isinstance(channel, discord.Thread):
        if channel.type is discord.ChannelType.private_thread:
            return False
        parent = channel.parent
        if parent is None:
            return True  # parent not cached: assume open rather than switching summaries off by mistake
        channel = parent
    allow, deny = channel.overwrites_for(guild.default_role).pair()
    overwrites = [Overwrite(id=guild.id, allow=allow.value, deny=deny.value)]
    perms = channel_permissions(
        guild_id=guild.id,
        owner_id=None,  # the owner sees everything; @everyone is what we ask about
        member_id=0,
        member_role_ids=(),
        role_permissions={guild.id: guild.default_role.permissions.value},
        overwrites=overwrites,
    )
    return bool(perms & VIEW_CHANNEL)


def channel_data(guild: discord.Guild, channel: _Mirrored) -> ChannelData:
    parent_id = channel.parent_id if isinstance(channel, discord.Thread) else channel.category_id
    return ChannelData(
        id=channel.id,
        name=channel.name,
        kind=channel_kind(channel.type.value),
        parent_id=parent_id,
        is_locked=not everyone_can_view(guild, channel),
    )


def guild_data(guild: discord.Guild) -> GuildData:
    return GuildData(
        id=guild.id, name=guild.name, icon_hash=guild.icon.key if guild.icon else "", owner_id=guild.owner_id
    )


def all_channels(guild: discord.Guild) -> list[ChannelData]:
    mirrored: Iterable[_Mirrored] = [*guild.channels, *guild.threads]
    return [channel_data(guild, channel) for channel in mirrored]


class MirrorCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    async def _sync_guild(self, guild: discord.Guild) -> None:
        await database_sync_to_async(guild_sync)(guild=guild_data(guild), channels=all_channels(guild))

    async def _sync_channel(self, channel: _Mirrored) -> None:
        await database_sync_to_async(channel_sync)(
            guild_id=channel.guild.id, channel=channel_data(channel.guild, channel)
        )

    # --------------------------------------------------------------------------- guilds
    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        # Every GUILD_CREATE at (re)connection: catches whatever changed while the bot was away.
        await self._sync_guild(guild)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        logger.info("joined a guild", extra={"guild_id": guild.id})
        await self._sync_guild(guild)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await database_sync_to_async(guild_left)(guild_id=guild.id)

    @commands.Cog.listener()
    async def on_guild_update(self, before: discord.Guild, after: discord.Guild) -> None:
        await database_sync_to_async(guild_sync)(guild=guild_data(after))

    @commands.Cog.listener()
    async def on_guild_role_update(self, before: discord.Role, after: discord.Role) -> None:
        # @everyone losing or gaining View Channel locks or unlocks every channel without a channel event.
        if after.is_default() and before.permissions.view_channel != after.permissions.view_channel:
            await self._sync_guild(after.guild)

    # ------------------------------------------------------------------------- channels
    @commands.Cog.listener()
    async def on_guild_channel_create(self, channel: discord.abc.GuildChannel) -> None:
        await self._sync_channel(channel)

    @commands.Cog.listener()
    async def on_guild_channel_update(self, before: discord.abc.GuildChannel, after: discord.abc.GuildChannel) -> None:
        await self._sync_channel(after)

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        await database_sync_to_async(channel_deleted)(channel_id=channel.id)

    @commands.Cog.listener()
    async def on_thread_create(self, thread: discord.Thread) -> None:
        await self._sync_channel(thread)

    @commands.Cog.listener()
    async def on_thread_update(self, before: discord.Thread, after: discord.Thread) -> None:
        await self._sync_channel(after)

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        await database_sync_to_async(channel_deleted)(channel_id=payload.thread_id)

    # ------------------------------------------------------------------------- messages
    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self._stale([payload.message_id], deleted=True, channel_id=payload.channel_id)

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        await self._stale(list(payload.message_ids), deleted=True, channel_id=payload.channel_id)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        data = payload.data
        # Link previews and our own progress edits also arrive as MESSAGE_UPDATE; only a member's edit
        # sets edited_timestamp and can change what a summary quoted.
        if not data.get("edited_timestamp"):
            return
        author_id = (data.get("author") or {}).get("id")
        if self.bot.user is not None and author_id == str(self.bot.user.id):
            return
        await self._stale([payload.message_id], deleted=False, channel_id=payload.channel_id)

    async def _stale(self, message_ids: list[int], *, deleted: bool, channel_id: int) -> None:
        changed = await database_sync_to_async(summaries_mark_stale)(message_ids=message_ids, deleted=deleted)
        if changed:
            logger.info(
                "summaries went stale",
                extra={
                    "channel_id": channel_id,
                    "messages": len(message_ids),
                    "summaries": changed,
                    "deleted": deleted,
                },
            )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(MirrorCog(bot))
