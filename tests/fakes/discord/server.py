"""FakeDiscord: the REST API and the gateway on one aiohttp server in a background thread.

The server has its own thread and event loop so that sync Django tests, async tests (on their own
loop), and other processes (a django-q2 worker pointed at the URL) can all talk to it over real sockets.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from aiohttp import web

from .builders import Builders
from .constants import ALL_PRIVILEGED_FLAGS
from .gateway import Gateway
from .http import API_PREFIX, RestPlumbing
from .interactions import InteractionRoutes
from .oauth import OAuthRoutes
from .rest import RestRoutes
from .world import World

log = logging.getLogger(__name__)


class FakeDiscord(Builders, Gateway, InteractionRoutes, OAuthRoutes, RestRoutes, RestPlumbing, World):
    """A Discord that lives on 127.0.0.1: set it up through Python, talk to it with unmodified discord.py.

    Use as a context manager (or start()/stop()); `api_base` and `gateway_url` are what the client needs.
    """

    def __init__(
        self,
        *,
        bot_token: str = "fake-bot-token",
        bot_name: str = "Summary Bot",
        app_flags: int = ALL_PRIVILEGED_FLAGS,
        host: str = "127.0.0.1",
    ) -> None:
        self._lock = threading.RLock()
        self._requests_changed = threading.Condition(self._lock)
        self._host = host
        self._port: int | None = None
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._started = threading.Event()
        self._startup_error: BaseException | None = None
        self._init_world(bot_token=bot_token, bot_name=bot_name, app_flags=app_flags)
        self._init_plumbing()
        self._init_rest()
        self._init_interactions()
        self._init_oauth()
        self._init_gateway()

    # ------------------------------------------------------------------------ addresses
    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeDiscord is not started")
        return f"http://{self._host}:{self._port}"

    @property
    def api_base(self) -> str:
        """What discord.http.Route.BASE / DISCORD_API_BASE_URL should be."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """What DiscordWebSocket.DEFAULT_GATEWAY / DISCORD_GATEWAY_URL should be (also READY's resume URL)."""
        return f"ws://{self._host}:{self._port}/gateway"

    @property
    def oauth_base(self) -> str:
        """What DISCORD_OAUTH_BASE_URL should be (the browser's /oauth2/authorize lives there)."""
        return self.base_url

    @property
    def cdn_base(self) -> str:
        return self.base_url

    # ------------------------------------------------------------------------ lifecycle
    def start(self) -> FakeDiscord:
        self._thread = threading.Thread(target=self._serve, name="fake-discord", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("FakeDiscord did not start within 10 s")
        if self._startup_error is not None:
            raise RuntimeError("FakeDiscord failed to start") from self._startup_error
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self.release_holds()
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        try:
            future.result(timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._thread = None
            self._loop.close()

    def __enter__(self) -> FakeDiscord:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._startup())
        except BaseException as exc:  # noqa: BLE001  reported to start(), which raises it in the caller's thread
            self._startup_error = exc
            self._started.set()
            return
        self._started.set()
        self._loop.run_forever()

    async def _startup(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._handle_api)
        app.router.add_get("/gateway", self._handle_gateway)
        app.router.add_get("/oauth2/authorize", self._handle_authorize)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._serve_attachment)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, 0)
        await site.start()
        server = site._server  # aiohttp exposes the bound port only through the asyncio server
        self._port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _shutdown(self) -> None:
        for session in list(self.sessions):
            conn = session.connection
            if conn is not None and not conn.ws.closed:
                await conn.ws.close(code=1001, message=b"fake shutting down")
        if self._runner is not None:
            await self._runner.cleanup()

    async def _serve_attachment(self, request: web.Request) -> web.StreamResponse:
        channel = self.channels.get(int(request.match_info["channel_id"]))
        att_id = int(request.match_info["attachment_id"])
        if channel is not None:
            for message in channel.messages.values():
                for att in message.attachments:
                    if att.id == att_id:
                        return web.Response(body=att.data, headers={"Content-Type": att.content_type})
        return web.Response(status=404)
