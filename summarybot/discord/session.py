"""One login to Discord's REST API, shared by the client's parts, and the one place that points discord.py
at its endpoints.

The session owns what every REST call needs: the token, discord.py's client in REST-only mode (login,
no gateway) with its rate-limit handling (it waits out 429s and retries 5xx), a per-call timeout, the
mapping of failures to summarybot.discord.errors, and the JSON lookups several parts share (channel,
guild, the guild's channel list), cached for the life of one login.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl
from django.conf import settings

from summarybot import metrics

from .errors import DiscordAuthFailed, translated

# discord.py raises RateLimited instead of sleeping when Discord asks for a longer wait (minimum 30).
MAX_RATELIMIT_WAIT = 60.0
# Per REST call, including discord.py's own waits on rate limits and its 5xx retries (about 25 s).
CALL_TIMEOUT = 120.0


def apply_endpoint_settings(*, api_base_url: str | None = None, gateway_url: str | None = None) -> None:
    """Point discord.py at settings.DISCORD_API_BASE_URL / DISCORD_GATEWAY_URL (a proxy, or the test fake).

    These are process-wide class attributes that discord.py reads when it builds each request, so this
    runs before the first request (the worker's login and the gateway bot's alike); never call
    discord.http._set_api_version() afterwards (it resets BASE).
    """
    discord.http.Route.BASE = (api_base_url or settings.DISCORD_API_BASE_URL).rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url or settings.DISCORD_GATEWAY_URL)


def http_trace() -> aiohttp.TraceConfig:
    """Counts every request discord.py makes (discord_api_requests_total), the worker's and the bot's alike:
    pass it as `http_trace=` to the discord.py client. Retries and rate-limited answers count one each."""

    async def on_end(session: Any, context: Any, params: aiohttp.TraceRequestEndParams) -> None:
        metrics.discord_request_done(method=params.method, path=params.url.path, status=params.response.status)

    async def on_exception(session: Any, context: Any, params: aiohttp.TraceRequestExceptionParams) -> None:
        metrics.discord_request_done(method=params.method, path=params.url.path, status="error")

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_end)
    trace.on_request_exception.append(on_exception)
    return trace


class DiscordSession:
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
        self._guild_channels: dict[int, list[dict[str, Any]]] = {}

    async def open(self) -> None:
        if not self._token:
            raise DiscordAuthFailed("DISCORD_TOKEN is not configured")
        apply_endpoint_settings(api_base_url=self._api_base_url)
        # Intents only matter on the gateway, which this client never opens; guilds keeps discord.py from warning.
        client = discord.Client(
            intents=discord.Intents(guilds=True), max_ratelimit_timeout=MAX_RATELIMIT_WAIT, http_trace=http_trace()
        )
        try:
            with translated():
                await asyncio.wait_for(client.login(self._token), self._call_timeout)
        except BaseException:
            await client.close()
            raise
        self._client = client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    @property
    def client(self) -> discord.Client:
        if self._client is None:
            raise RuntimeError("use the Discord client inside `async with`")
        return self._client

    @property
    def http(self) -> discord.http.HTTPClient:
        return self.client.http

    @property
    def bot_user_id(self) -> int:
        user = self.client.user
        assert user is not None  # login() fetched it
        return user.id

    async def call(self, coro: Any, *, channel_id: int | None = None) -> Any:
        """Await one REST call within the timeout, its failures mapped to DiscordError subclasses."""
        with translated(channel_id=channel_id):
            return await asyncio.wait_for(coro, self._call_timeout)

    # ------------------------------------------------------------------ shared, cached lookups
    async def channel_json(self, channel_id: int) -> dict[str, Any]:
        cached = self._channels.get(channel_id)
        if cached is None:
            cached = self._channels[channel_id] = await self.call(
                self.http.get_channel(channel_id), channel_id=channel_id
            )
        return cached

    async def guild_json(self, guild_id: int) -> dict[str, Any]:
        cached = self._guilds.get(guild_id)
        if cached is None:
            cached = self._guilds[guild_id] = await self.call(self.http.get_guild(guild_id, with_counts=False))
        return cached

    async def guild_channel_list(self, guild_id: int) -> list[dict[str, Any]]:
        """Every channel of the guild, including those the bot cannot see (with their overwrites)."""
        cached = self._guild_channels.get(guild_id)
        if cached is None:
            cached = self._guild_channels[guild_id] = await self.call(self.http.get_all_guild_channels(guild_id))
        return cached
