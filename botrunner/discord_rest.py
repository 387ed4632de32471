"""The worker's one Discord REST client, built on discord.py's REST-only mode (login, no gateway).

    async with DiscordRest() as rest:
        messages = await rest.fetch_history(channel_id, since=..., on_page=progress)
        await rest.send_message(channel_id, embeds=[...])

It owns what talking to Discord needs: endpoints from settings, rate limits and retries (discord.py's
own: it waits out 429s and retries 5xx), a per-call timeout, the mapping of every failure to
summarybot.discord.errors, and small caches (channel, guild, member JSON) for the life of one `async with`.
The gateway bot does not use this class; it shares `apply_endpoint_settings`, the permission helpers
and the message conversion.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl
from django.conf import settings

from summaries.engine.types import ChatMessage
from summarybot.discord import permissions as perm
from summarybot.discord.convert import chat_message_from_discord
from summarybot.discord.errors import (
    DiscordAuthFailed,
    DiscordError,
    DiscordMissingAccess,
    DiscordNotFound,
    translated,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # Discord's maximum per history request
THREAD_NAME_MAX = 100
# discord.py raises RateLimited instead of sleeping when Discord asks for a longer wait (minimum 30).
MAX_RATELIMIT_WAIT = 60.0
# Per REST call, including discord.py's own waits on rate limits and its 5xx retries (about 25 s).
CALL_TIMEOUT = 120.0


def apply_endpoint_settings(*, api_base_url: str | None = None, gateway_url: str | None = None) -> None:
    """Point discord.py at settings.DISCORD_API_BASE_URL / DISCORD_GATEWAY_URL (a proxy, or the test fake).

    These are process-wide class attributes that discord.py reads when it builds each request, so this
    runs before the first request; never call discord.http._set_api_version() afterwards (it resets BASE).
    """
    discord.http.Route.BASE = (api_base_url or settings.DISCORD_API_BASE_URL).rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url or settings.DISCORD_GATEWAY_URL)


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


class _RawComponents:
    """Lets raw component JSON (action rows) go through discord.py's message parameter builder."""

    def __init__(self, components: Sequence[dict[str, Any]]) -> None:
        self._components = list(components)

    def to_components(self) -> list[dict[str, Any]]:
        return self._components

    def has_components_v2(self) -> bool:
        return False


def _snowflake_before(moment: datetime) -> int:
    """The largest snowflake older than `moment`: `after=` it includes messages sent at `moment`."""
    return discord.utils.time_snowflake(moment, high=False) - 1


def _file(file: tuple[str, bytes] | None) -> discord.File | None:
    if file is None:
        return None
    name, data = file
    return discord.File(io.BytesIO(data), filename=name)


class DiscordRest:
    def __init__(
        self,
        *,
        token: str | None = None,
        api_base_url: str | None = None,
        call_timeout: float = CALL_TIMEOUT,
    ) -> None:
        self._token = token if token is not None else settings.DISCORD_TOKEN
        self._api_base_url = api_base_url
        self._call_timeout = call_timeout
        self._client: discord.Client | None = None
        self._channels: dict[int, dict[str, Any]] = {}
        self._guilds: dict[int, dict[str, Any]] = {}
        self._members: dict[tuple[int, int], dict[str, Any] | None] = {}
        self._guild_channels: dict[int, list[dict[str, Any]]] = {}
        self._dm_channels: dict[int, int] = {}

    # ------------------------------------------------------------------------- lifecycle
    async def __aenter__(self) -> DiscordRest:
        if not self._token:
            raise DiscordAuthFailed("DISCORD_TOKEN is not configured")
        discord.http.Route.BASE = (self._api_base_url or settings.DISCORD_API_BASE_URL).rstrip("/")
        # Intents only matter on the gateway, which this client never opens; guilds keeps discord.py from warning.
        client = discord.Client(intents=discord.Intents(guilds=True), max_ratelimit_timeout=MAX_RATELIMIT_WAIT)
        try:
            with translated():
                await asyncio.wait_for(client.login(self._token), self._call_timeout)
        except BaseException:
            await client.close()
            raise
        self._client = client
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    @property
    def client(self) -> discord.Client:
        if self._client is None:
            raise RuntimeError("use DiscordRest inside `async with`")
        return self._client

    @property
    def bot_user_id(self) -> int:
        user = self.client.user
        assert user is not None  # login() fetched it
        return user.id

    async def _call(self, coro: Any, *, channel_id: int | None = None) -> Any:
        with translated(channel_id=channel_id):
            return await asyncio.wait_for(coro, self._call_timeout)

    # ------------------------------------------------------------------------- channels
    async def _channel_json(self, channel_id: int) -> dict[str, Any]:
        cached = self._channels.get(channel_id)
        if cached is None:
            cached = self._channels[channel_id] = await self._call(
                self.client.http.get_channel(channel_id), channel_id=channel_id
            )
        return cached

    async def channel_info(self, channel_id: int) -> ChannelInfo:
        data = await self._channel_json(channel_id)
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
        return self.client.get_partial_messageable(info.id, guild_id=info.guild_id)

    # --------------------------------------------------------------------------- history
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
            return await self._call(collect(), channel_id=channel.id)
        except DiscordMissingAccess as exc:
            raise await self._missing_access(channel.id, exc) from exc

    async def _explain_empty(self, info: ChannelInfo) -> None:
        """An empty first page in a channel that has messages: Discord's answer to a missing history permission."""
        if info.guild_id is None:
            return
        missing = await self.bot_missing_permissions(info.id)
        if missing:
            raise DiscordMissingAccess(missing=missing, channel_id=info.id)

    async def _missing_access(self, channel_id: int, exc: DiscordMissingAccess) -> DiscordMissingAccess:
        """Name the missing permissions on a 403 when we can work them out."""
        try:
            missing = await self.bot_missing_permissions(channel_id)
        except DiscordError:
            return exc
        if not missing:
            return exc
        return DiscordMissingAccess(missing=missing, channel_id=channel_id, discord_code=exc.discord_code)

    async def fetch_message(self, channel_id: int, message_id: int) -> ChatMessage:
        info = await self.channel_info(channel_id)
        try:
            message = await self._call(self._messageable(info).fetch_message(message_id), channel_id=channel_id)
        except DiscordMissingAccess as exc:
            raise await self._missing_access(channel_id, exc) from exc
        return (await self._convert([message], info))[0]

    async def _convert(self, messages: list[discord.Message], info: ChannelInfo) -> list[ChatMessage]:
        role_names: dict[int, str] = {}
        channel_names: dict[int, str] = {}
        if info.guild_id is not None:
            # Only pay for the lookups when some message mentions a role or a channel.
            if any(m.raw_role_mentions for m in messages):
                guild = await self._guild_json(info.guild_id)
                role_names = {int(r["id"]): r["name"] for r in guild.get("roles", [])}
            if any(m.raw_channel_mentions for m in messages):
                channel_names = {
                    int(c["id"]): c.get("name") or "" for c in await self._guild_channel_list(info.guild_id)
                }
        return [
            chat_message_from_discord(m, guild_id=info.guild_id, role_names=role_names, channel_names=channel_names)
            for m in messages
        ]

    # ----------------------------------------------------------------------- permissions
    async def _guild_json(self, guild_id: int) -> dict[str, Any]:
        cached = self._guilds.get(guild_id)
        if cached is None:
            cached = self._guilds[guild_id] = await self._call(self.client.http.get_guild(guild_id, with_counts=False))
        return cached

    async def _guild_channel_list(self, guild_id: int) -> list[dict[str, Any]]:
        cached = self._guild_channels.get(guild_id)
        if cached is None:
            cached = self._guild_channels[guild_id] = await self._call(
                self.client.http.get_all_guild_channels(guild_id)
            )
        return cached

    async def _member_json(self, guild_id: int, user_id: int) -> dict[str, Any] | None:
        key = (guild_id, user_id)
        if key not in self._members:
            try:
                self._members[key] = await self._call(self.client.http.get_member(guild_id, user_id))
            except DiscordNotFound:
                self._members[key] = None
        return self._members[key]

    async def _permissions_in(self, channel: dict[str, Any], user_id: int | None) -> int:
        """Effective permissions of a member (None: @everyone) in a guild channel or thread."""
        guild_id = int(channel["guild_id"])
        guild = await self._guild_json(guild_id)
        is_thread = channel["type"] in perm.THREAD_TYPES
        source = channel
        if is_thread and channel.get("parent_id"):
            try:
                source = await self._channel_json(int(channel["parent_id"]))
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
            return await self._channel_json(channel_id)
        except DiscordMissingAccess:
            if guild_id is None:
                return None
            # The guild's channel list includes channels the bot cannot see, with their overwrites.
            for data in await self._guild_channel_list(guild_id):
                if int(data["id"]) == channel_id:
                    return data
            return None

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
        perms = await self._permissions_in(channel, self.bot_user_id)
        return perm.missing_permissions(perms, required, is_thread=is_thread)

    async def _visible_channel_json(self, channel_id: int, guild_id: int | None) -> dict[str, Any]:
        channel = await self._channel_for_permissions(channel_id, guild_id)
        if channel is None:
            raise DiscordMissingAccess(missing=["view_channel"], channel_id=channel_id)
        return channel

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
                await self._call(self.client.http.get_thread_member(channel_id, user_id), channel_id=channel_id)
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

    # ---------------------------------------------------------------------------- sending
    def _message_params(
        self,
        *,
        content: str | None,
        embeds: Sequence[dict[str, Any]],
        file: tuple[str, bytes] | None,
        view_components: Sequence[dict[str, Any]] | None = None,
        channel_payload: dict[str, Any] | None = None,
        reply_to: int | None = None,
        channel_id: int | None = None,
    ) -> discord.http.MultipartParameters:
        extra: dict[str, Any] = {}
        if reply_to is not None:
            # A reply to a message deleted meanwhile is still posted, as a plain message.
            extra["message_reference"] = {"message_id": reply_to, "channel_id": channel_id, "fail_if_not_exists": False}
        if channel_payload is not None:
            extra["channel_payload"] = channel_payload  # a forum post: the message nests under "message"
        made = _file(file)
        if made is not None:
            extra["file"] = made
        if view_components:
            extra["view"] = _RawComponents(view_components)
        return discord.http.handle_message_parameters(
            content=content,
            embeds=[discord.Embed.from_dict(e) for e in embeds],
            # A summary quotes people: it must never ping them or @everyone.
            allowed_mentions=discord.AllowedMentions.none(),
            **extra,
        )

    async def send_message(
        self,
        channel_id: int,
        *,
        content: str | None = None,
        embeds: Sequence[dict[str, Any]] = (),
        file: tuple[str, bytes] | None = None,
        view_components: Sequence[dict[str, Any]] | None = None,
        reply_to: int | None = None,
    ) -> int:
        """Post a message (embeds as Discord JSON dicts, one file as (name, bytes)); returns its id.

        `reply_to`: the id of a message in the same channel to answer (shown as a reply, without a ping).
        """
        with self._message_params(
            content=content,
            embeds=embeds,
            file=file,
            view_components=view_components,
            reply_to=reply_to,
            channel_id=channel_id,
        ) as params:
            try:
                data = await self._call(self.client.http.send_message(channel_id, params=params), channel_id=channel_id)
            except DiscordMissingAccess as exc:
                raise await self._missing_delivery(channel_id, exc) from exc
        log.info("sent a Discord message", extra={"channel_id": channel_id, "message_id": data["id"]})
        return int(data["id"])

    async def _missing_delivery(self, channel_id: int, exc: DiscordMissingAccess) -> DiscordMissingAccess:
        try:
            missing = await self.bot_missing_permissions(channel_id, delivery=True)
        except DiscordError:
            return exc
        if not missing:
            return exc
        return DiscordMissingAccess(missing=missing, channel_id=channel_id, discord_code=exc.discord_code)

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
        http = self.client.http
        try:
            if message_id is not None:
                data = await self._call(
                    http.start_thread_with_message(channel_id, message_id, name=name, auto_archive_duration=1440),
                    channel_id=channel_id,
                )
            else:
                info = await self.channel_info(channel_id)
                if info.type in ("forum", "media"):
                    with self._message_params(
                        content=content or (None if embeds else name),
                        embeds=embeds,
                        file=None,
                        channel_payload={"name": name, "auto_archive_duration": 1440},
                    ) as params:
                        data = await self._call(
                            http.start_thread_in_forum(channel_id, params=params), channel_id=channel_id
                        )
                else:
                    data = await self._call(
                        http.start_thread_without_message(
                            channel_id,
                            name=name,
                            auto_archive_duration=1440,
                            type=discord.ChannelType.public_thread.value,
                        ),
                        channel_id=channel_id,
                    )
        except DiscordMissingAccess as exc:
            raise await self._missing_delivery(channel_id, exc) from exc
        log.info("created a Discord thread", extra={"channel_id": channel_id, "thread_id": data["id"]})
        return int(data["id"])

    async def send_dm(
        self,
        user_id: int,
        *,
        content: str | None = None,
        embeds: Sequence[dict[str, Any]] = (),
        file: tuple[str, bytes] | None = None,
        view_components: Sequence[dict[str, Any]] | None = None,
    ) -> int:
        """DM a user (DiscordCannotMessageUser when they do not accept DMs from the bot)."""
        channel_id = self._dm_channels.get(user_id)
        if channel_id is None:
            data = await self._call(self.client.http.start_private_message(user_id))
            channel_id = self._dm_channels[user_id] = int(data["id"])
        return await self.send_message(
            channel_id, content=content, embeds=embeds, file=file, view_components=view_components
        )

    # ----------------------------------------------------------------------- interactions
    async def interaction_followup(
        self,
        application_id: int,
        token: str,
        *,
        content: str | None = None,
        embeds: Sequence[dict[str, Any]] = (),
        file: tuple[str, bytes] | None = None,
        ephemeral: bool = False,
    ) -> int:
        """A follow-up message on an interaction; DiscordInteractionExpired once the token is dead (15 min)."""
        # An application webhook (type 3), built the way discord.py's Interaction.followup builds it:
        # only that type may send ephemeral messages.
        webhook = discord.Webhook.from_state(
            data={"id": application_id, "type": 3, "token": token},
            state=self.client._connection,
        )
        kwargs: dict[str, Any] = {}
        made = _file(file)
        if made is not None:
            kwargs["file"] = made
        message = await self._call(
            webhook.send(
                content=content or discord.utils.MISSING,
                embeds=[discord.Embed.from_dict(e) for e in embeds],
                ephemeral=ephemeral,
                allowed_mentions=discord.AllowedMentions.none(),
                wait=True,
                **kwargs,
            )
        )
        return int(message.id)

    async def edit_original_response(
        self,
        application_id: int,
        token: str,
        *,
        content: str | None = None,
        embeds: Sequence[dict[str, Any]] | None = None,
        file: tuple[str, bytes] | None = None,
        view_components: Sequence[dict[str, Any]] | None = None,
    ) -> int:
        """Edit the interaction's original (deferred) response; returns its message id.

        `None` leaves a part as it is; `content=""` / `embeds=[]` / `view_components=[]` clear it.
        """
        params = discord.http.handle_message_parameters(
            content=discord.utils.MISSING if content is None else content,
            embeds=discord.utils.MISSING if embeds is None else [discord.Embed.from_dict(e) for e in embeds],
            file=_file(file) or discord.utils.MISSING,
            view=discord.utils.MISSING if view_components is None else _RawComponents(view_components),
            allowed_mentions=discord.AllowedMentions.none(),
        )
        route = discord.http.Route(
            "PATCH",
            "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
            webhook_id=application_id,
            webhook_token=token,
        )
        with params:
            if params.files:
                request = self.client.http.request(route, form=params.multipart, files=params.files)
            else:
                request = self.client.http.request(route, json=params.payload)
            data = await self._call(request)
        return int(data["id"])
