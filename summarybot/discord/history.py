"""Reading channels: what a channel is, its history in as few requests as Discord allows, one message.

Every message comes back as the engine's ChatMessage (summarybot.discord.convert), oldest first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import discord

from summaries.engine.types import ChatMessage

from . import permissions as perm
from .access import ChannelAccess
from .convert import chat_message_from_discord
from .errors import DiscordMissingAccess
from .session import DiscordSession

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # Discord's maximum per history request


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    id: int
    guild_id: int | None
    name: str
    type: str  # discord.ChannelType name: "text", "news", "forum", "public_thread", "private", ...
    parent_id: int | None
    is_thread: bool
    nsfw: bool
    last_message_id: int | None


def _snowflake_before(moment: datetime) -> int:
    """The largest snowflake older than `moment`: `after=` it includes messages sent at `moment`."""
    return discord.utils.time_snowflake(moment, high=False) - 1


class History:
    def __init__(self, session: DiscordSession, access: ChannelAccess) -> None:
        self._session = session
        self._access = access

    async def channel_info(self, channel_id: int) -> ChannelInfo:
        data = await self._session.channel_json(channel_id)
        kind = discord.enums.try_enum(discord.ChannelType, data["type"])
        parent = data.get("parent_id")
        last = data.get("last_message_id")
        recipients = data.get("recipients") or []
        name = data.get("name") or (recipients[0].get("global_name") or recipients[0]["username"] if recipients else "")
        return ChannelInfo(
            id=int(data["id"]),
            guild_id=int(data["guild_id"]) if data.get("guild_id") else None,
            name=name,
            type=kind.name if isinstance(kind, discord.ChannelType) else str(kind),
            parent_id=int(parent) if parent else None,
            is_thread=data["type"] in perm.THREAD_TYPES,
            nsfw=bool(data.get("nsfw", False)),
            last_message_id=int(last) if last else None,
        )

    def _messageable(self, info: ChannelInfo) -> discord.PartialMessageable:
        return self._session.client.get_partial_messageable(info.id, guild_id=info.guild_id)

    async def fetch_history(
        self,
        channel_id: int,
        *,
        limit: int | None = None,
        after_id: int | None = None,
        before_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        on_page: Callable[[int], None] | None = None,
    ) -> list[ChatMessage]:
        """Messages of a channel (or thread), oldest first, in as few requests as Discord allows.

        The window is (after_id or since, before_id or until); `limit` caps the count. With a lower bound the
        first `limit` messages after it are kept, so a caller can resume from the last id (cursor);
        without one, the latest `limit` messages. `on_page(count_so_far)` runs after every page.
        Reading stops at the channel's last message id, so a full read of N messages costs ceil(N/100)
        history requests plus one for the channel.
        """
        if limit is not None and limit <= 0:
            return []
        info = await self.channel_info(channel_id)
        lower = after_id
        if since is not None:
            lower = max(lower or 0, _snowflake_before(since))
        if until is not None:
            # Messages sent before `until`: every id below the first snowflake of that moment.
            upper = discord.utils.time_snowflake(until, high=False)
            before_id = min(before_id, upper) if before_id is not None else upper
        channel = self._messageable(info)
        if lower is not None or limit is None:
            messages = await self._read_forward(info, channel, lower or 0, before_id, limit, on_page)
        else:
            messages = await self._read_backward(info, channel, before_id, limit, on_page)
        log.info(
            "fetched channel history",
            extra={"channel_id": channel_id, "guild_id": info.guild_id, "message_count": len(messages)},
        )
        return await self._convert(messages, info)

    async def fetch_message(self, channel_id: int, message_id: int) -> ChatMessage:
        info = await self.channel_info(channel_id)
        try:
            message = await self._session.call(self._messageable(info).fetch_message(message_id), channel_id=channel_id)
        except DiscordMissingAccess as exc:
            raise await self._access.explain(exc, channel_id) from exc
        return (await self._convert([message], info))[0]

    async def _read_forward(
        self,
        info: ChannelInfo,
        channel: discord.PartialMessageable,
        cursor: int,
        before_id: int | None,
        limit: int | None,
        on_page: Callable[[int], None] | None,
    ) -> list[discord.Message]:
        # Messages newer than the channel's last_message_id were sent after we started: not ours to read.
        stop_at = info.last_message_id
        if stop_at is None or cursor >= stop_at:
            return []
        out: list[discord.Message] = []
        while True:
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(out))
            page = await self._page(
                channel,
                size,
                after=discord.Object(cursor),
                before=discord.Object(before_id) if before_id else None,
                oldest_first=True,
            )
            if not page:
                if not out:
                    await self._explain_empty(info)
                break
            out.extend(page)
            cursor = page[-1].id
            if on_page is not None:
                on_page(len(out))
            # A short page means the end (or the before_id bound filtered the rest away).
            if len(page) < size or cursor >= stop_at or (limit is not None and len(out) >= limit):
                break
        return out

    async def _read_backward(
        self,
        info: ChannelInfo,
        channel: discord.PartialMessageable,
        before_id: int | None,
        limit: int,
        on_page: Callable[[int], None] | None,
    ) -> list[discord.Message]:
        out: list[discord.Message] = []
        cursor = before_id
        while len(out) < limit:
            size = min(PAGE_SIZE, limit - len(out))
            page = await self._page(channel, size, before=discord.Object(cursor) if cursor else None)
            if not page:
                if not out and info.last_message_id is not None:
                    await self._explain_empty(info)
                break
            out.extend(page)  # newest first
            cursor = page[-1].id
            if on_page is not None:
                on_page(len(out))
            if len(page) < size:
                break
        out.reverse()
        return out

    async def _page(
        self,
        channel: discord.PartialMessageable,
        size: int,
        *,
        after: discord.Object | None = None,
        before: discord.Object | None = None,
        oldest_first: bool | None = None,
    ) -> list[discord.Message]:
        """One history request (discord.py's iterator with limit <= 100 makes exactly one)."""

        async def collect() -> list[discord.Message]:
            return [m async for m in channel.history(limit=size, after=after, before=before, oldest_first=oldest_first)]

        try:
            return await self._session.call(collect(), channel_id=channel.id)
        except DiscordMissingAccess as exc:
            raise await self._access.explain(exc, channel.id) from exc

    async def _explain_empty(self, info: ChannelInfo) -> None:
        """An empty first page in a channel that has messages: Discord's answer to a missing history permission."""
        if info.guild_id is None:
            return
        missing = await self._access.bot_missing_permissions(info.id)
        if missing:
            raise DiscordMissingAccess(missing=missing, channel_id=info.id)

    async def _convert(self, messages: list[discord.Message], info: ChannelInfo) -> list[ChatMessage]:
        role_names: dict[int, str] = {}
        channel_names: dict[int, str] = {}
        if info.guild_id is not None:
            # Only pay for the lookups when some message mentions a role or a channel.
            if any(m.raw_role_mentions for m in messages):
                guild = await self._session.guild_json(info.guild_id)
                role_names = {int(r["id"]): r["name"] for r in guild.get("roles", [])}
            if any(m.raw_channel_mentions for m in messages):
                channel_names = {
                    int(c["id"]): c.get("name") or "" for c in await self._session.guild_channel_list(info.guild_id)
                }
        return [
            chat_message_from_discord(m, guild_id=info.guild_id, role_names=role_names, channel_names=channel_names)
            for m in messages
        ]
