"""Posting: messages in channels and threads, new threads (and forum posts), direct messages.

A 403 on the way out names the permissions the bot lacks to deliver there, so the job's failure says
what an admin has to grant.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import discord

from .access import ChannelAccess
from .errors import DiscordMissingAccess
from .outgoing import message_params
from .pager import PagerPosition
from .session import DiscordSession

log = logging.getLogger(__name__)

THREAD_NAME_MAX = 100
_FORUM_TYPES = (discord.ChannelType.forum.value, discord.ChannelType.media.value)


class Delivery:
    def __init__(self, session: DiscordSession, access: ChannelAccess) -> None:
        self._session = session
        self._access = access
        self._dm_channels: dict[int, int] = {}

    async def send_message(
        self,
        channel_id: int,
        *,
        content: str | None = None,
        embeds: Sequence[dict[str, Any]] = (),
        file: tuple[str, bytes] | None = None,
        pager: PagerPosition | None = None,
        reply_to: int | None = None,
        nonce: str | None = None,
    ) -> int:
        """Post a message (embeds as Discord JSON dicts, one file as (name, bytes)); returns its id.

        `pager`: the summary page this message shows, for its ◀ n/m ▶ buttons.
        `reply_to`: the id of a message in the same channel to answer (shown as a reply, without a ping).
        `nonce`: makes a retried post (a rerun after a crash) return the first message instead of a second.
        """
        with message_params(
            content=content, embeds=embeds, file=file, pager=pager, reply_to=reply_to, channel_id=channel_id,
            nonce=nonce,
        ) as params:
            try:
                data = await self._session.call(
                    self._session.http.send_message(channel_id, params=params), channel_id=channel_id
                )
            except DiscordMissingAccess as exc:
                raise await self._access.explain(exc, channel_id, delivery=True) from exc
        log.info("sent a Discord message", extra={"channel_id": channel_id, "message_id": data["id"]})
        return int(data["id"])

    async def create_thread(
        self,
        channel_id: int,
        *,
        name: str,
        message_id: int | None = None,
        content: str | None = None,
        embeds: Sequence[dict[str, Any]] = (),
    ) -> int:
        """A public thread from a message, or a new one in the channel; in a forum, a post (content/embeds)."""
        name = name[:THREAD_NAME_MAX]
        http = self._session.http
        call = self._session.call
        try:
            if message_id is not None:
                data = await call(
                    http.start_thread_with_message(channel_id, message_id, name=name, auto_archive_duration=1440),
                    channel_id=channel_id,
                )
            elif (await self._session.channel_json(channel_id))["type"] in _FORUM_TYPES:
                with message_params(
                    content=content or (None if embeds else name),
                    embeds=embeds,
                    file=None,
                    channel_payload={"name": name, "auto_archive_duration": 1440},
                ) as params:
                    data = await call(http.start_thread_in_forum(channel_id, params=params), channel_id=channel_id)
            else:
                data = await call(
                    http.start_thread_without_message(
                        channel_id,
                        name=name,
                        auto_archive_duration=1440,
                        type=discord.ChannelType.public_thread.value,
                    ),
                    channel_id=channel_id,
                )
        except DiscordMissingAccess as exc:
            raise await self._access.explain(exc, channel_id, delivery=True) from exc
        log.info("created a Discord thread", extra={"channel_id": channel_id, "thread_id": data["id"]})
        return int(data["id"])

    async def send_dm(
        self,
        user_id: int,
        *,
        content: str | None = None,
        embeds: Sequence[dict[str, Any]] = (),
        file: tuple[str, bytes] | None = None,
        pager: PagerPosition | None = None,
        nonce: str | None = None,
    ) -> int:
        """DM a user (DiscordCannotMessageUser when they do not accept DMs from the bot)."""
        channel_id = self._dm_channels.get(user_id)
        if channel_id is None:
            data = await self._session.call(self._session.http.start_private_message(user_id))
            channel_id = self._dm_channels[user_id] = int(data["id"])
        return await self.send_message(channel_id, content=content, embeds=embeds, file=file, pager=pager, nonce=nonce)
