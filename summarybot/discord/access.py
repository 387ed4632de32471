"""Who may see or do what in a channel, worked out from REST JSON with the permission arithmetic.

Discord answers a missing permission with a bare 403 (or, for history, an empty page); these checks name
the permissions so an admin can fix the setup, and answer for members what a summary would reveal.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import discord

from . import permissions as perm
from .errors import DiscordError, DiscordMissingAccess, DiscordNotFound
from .session import DiscordSession


class ChannelAccess:
    def __init__(self, session: DiscordSession) -> None:
        self._session = session
        self._members: dict[tuple[int, int], dict[str, Any] | None] = {}

    async def bot_missing_permissions(
        self, channel_id: int, *, delivery: bool = False, guild_id: int | None = None
    ) -> list[str]:
        """Permission names the bot lacks to read the channel (and, with delivery=True, to post into it)."""
        required: Iterable[str] = perm.READ_PERMISSIONS + (perm.DELIVERY_PERMISSIONS if delivery else ())
        channel = await self._channel_for_permissions(channel_id, guild_id)
        if channel is None:
            return ["view_channel"]
        if not channel.get("guild_id"):
            return []  # a DM: the bot can always read and write its own DMs
        is_thread = channel["type"] in perm.THREAD_TYPES
        perms = await self._permissions_in(channel, self._session.bot_user_id)
        return perm.missing_permissions(perms, required, is_thread=is_thread)

    async def member_can_view(self, channel_id: int, user_id: int, *, guild_id: int | None = None) -> bool:
        """Whether a member can see the channel and read its history (what a summary of it reveals).

        Pass `guild_id` to get an answer for a channel the bot itself cannot see.
        """
        channel = await self._visible_channel_json(channel_id, guild_id)
        if not channel.get("guild_id"):
            return any(int(r["id"]) == user_id for r in channel.get("recipients", []))
        perms = await self._permissions_in(channel, user_id)
        if perm.missing_permissions(perms, perm.READ_PERMISSIONS):
            return False
        if (
            channel["type"] == discord.ChannelType.private_thread.value
            and not perms & perm.PERMISSION_BITS["manage_threads"]
        ):
            # Private threads are visible to their members only (and to thread managers).
            try:
                await self._session.call(
                    self._session.http.get_thread_member(channel_id, user_id), channel_id=channel_id
                )
            except DiscordNotFound:
                return False
        return True

    async def everyone_can_view(self, channel_id: int, *, guild_id: int | None = None) -> bool:
        """False for a "locked" channel: @everyone cannot see it (or its history)."""
        channel = await self._visible_channel_json(channel_id, guild_id)
        if not channel.get("guild_id") or channel["type"] == discord.ChannelType.private_thread.value:
            return False
        perms = await self._permissions_in(channel, None)
        return not perm.missing_permissions(perms, perm.READ_PERMISSIONS)

    async def explain(
        self, exc: DiscordMissingAccess, channel_id: int, *, delivery: bool = False
    ) -> DiscordMissingAccess:
        """Name the missing permissions on a 403 when we can work them out (else the 403 as it came)."""
        try:
            missing = await self.bot_missing_permissions(channel_id, delivery=delivery)
        except DiscordError:
            return exc
        if not missing:
            return exc
        return DiscordMissingAccess(missing=missing, channel_id=channel_id, discord_code=exc.discord_code)

    async def _member_json(self, guild_id: int, user_id: int) -> dict[str, Any] | None:
        key = (guild_id, user_id)
        if key not in self._members:
            try:
                self._members[key] = await self._session.call(self._session.http.get_member(guild_id, user_id))
            except DiscordNotFound:
                self._members[key] = None
        return self._members[key]

    async def _permissions_in(self, channel: dict[str, Any], user_id: int | None) -> int:
        """Effective permissions of a member (None: @everyone) in a guild channel or thread."""
        guild_id = int(channel["guild_id"])
        guild = await self._session.guild_json(guild_id)
        is_thread = channel["type"] in perm.THREAD_TYPES
        source = channel
        if is_thread and channel.get("parent_id"):
            try:
                source = await self._session.channel_json(int(channel["parent_id"]))
            except DiscordMissingAccess:
                return 0
        role_ids: list[int] = []
        timed_out: datetime | None = None
        if user_id is not None:
            member = await self._member_json(guild_id, user_id)
            if member is None:
                return 0
            role_ids = [int(r) for r in member.get("roles", [])]
            until = member.get("communication_disabled_until")
            timed_out = discord.utils.parse_time(until) if until else None
        return perm.channel_permissions(
            guild_id=guild_id,
            owner_id=int(guild["owner_id"]) if user_id is not None else None,
            member_id=user_id if user_id is not None else 0,
            member_role_ids=role_ids,
            role_permissions={int(r["id"]): int(r["permissions"]) for r in guild.get("roles", [])},
            overwrites=[perm.Overwrite.from_json(o) for o in source.get("permission_overwrites", [])],
            is_thread=is_thread,
            timed_out_until=timed_out,
        )

    async def _channel_for_permissions(self, channel_id: int, guild_id: int | None) -> dict[str, Any] | None:
        """The channel JSON, or None when the bot cannot even see it (Discord answers 403 then)."""
        try:
            return await self._session.channel_json(channel_id)
        except DiscordMissingAccess:
            if guild_id is None:
                return None
            # The guild's channel list includes channels the bot cannot see, with their overwrites.
            for data in await self._session.guild_channel_list(guild_id):
                if int(data["id"]) == channel_id:
                    return data
            return None

    async def _visible_channel_json(self, channel_id: int, guild_id: int | None) -> dict[str, Any]:
        channel = await self._channel_for_permissions(channel_id, guild_id)
        if channel is None:
            raise DiscordMissingAccess(missing=["view_channel"], channel_id=channel_id)
        return channel
