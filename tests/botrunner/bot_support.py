"""Running the real bot (our Bot class, every cog) against the fake Discord, in the test's event loop.

Helpers for the bot tests and the defer benchmark; the `bot_world` fixture built on them is in
tests/botrunner/conftest_bot.py (test modules load it with `pytest_plugins`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from channels.db import database_sync_to_async
from django.db import connections

from botrunner.bot import build_bot
from tests.fakes.discord import DEFAULT_EVERYONE, FakeDiscord, Guild, Permission, RecordedRequest, User
from tests.fakes.discord.state import Channel

TIMEOUT = 5.0
# discord.py waits this long after the last GUILD_CREATE before on_ready; the default 2 s would dominate.
GUILD_READY_TIMEOUT = 0.05

T = TypeVar("T")


@dataclass
class BotWorld:
    fake: FakeDiscord
    bot: Any  # botrunner.bot.SummaryBot
    guild: Guild
    channel: Channel
    owner: User
    admin: User  # has a role with Manage Server
    member: User  # a plain member

    # ---------------------------------------------------------------- interactions
    async def interact(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Deliver an INTERACTION_CREATE as Discord would; returns the payload for later assertions."""
        await self.fake.dispatch_async("INTERACTION_CREATE", payload)
        return payload

    def slash(self, name: str, *, user: User, channel: Channel | None = None, **kwargs: Any) -> dict[str, Any]:
        return self.fake.slash_command_payload(channel=channel or self.channel, user=user, name=name, **kwargs)

    def channel_option(self, name: str, target: Channel, *, user: User) -> tuple[dict[str, Any], dict[str, Any]]:
        """A channel option and its `resolved` entry, carrying the user's permissions there like Discord does."""
        data = self.fake.channel_json(target)
        data["permissions"] = str(self.fake.permissions(target, user))
        return {"name": name, "type": 7, "value": str(target.id)}, {"channels": {str(target.id): data}}

    async def callback(self, payload: dict[str, Any], *, timeout: float = TIMEOUT) -> RecordedRequest:
        """The interaction's callback (defer or reply) as the fake recorded it."""
        return await self.fake.wait_for_request_async(
            lambda r: r.method == "POST" and r.path.startswith(f"/interactions/{payload['id']}/"), timeout=timeout
        )

    async def answer_text(self, payload: dict[str, Any], *, timeout: float = TIMEOUT) -> str:
        """The text the member ends up seeing: an immediate reply, or the edit of the deferred response."""
        token = payload["token"]

        def answered(r: RecordedRequest) -> bool:
            if r.path.startswith(f"/interactions/{payload['id']}/"):
                return int((r.json or {}).get("type", 0)) == 4
            return r.path.startswith("/webhooks/") and token in r.path and r.method in ("PATCH", "POST")

        request = await self.fake.wait_for_request_async(answered, timeout=timeout)
        body = request.json or {}
        data = body.get("data", body) if request.path.startswith("/interactions/") else body
        return str(data.get("content") or "")


async def eventually(check: Callable[[], Awaitable[T]], *, timeout: float = TIMEOUT, interval: float = 0.02) -> T:
    """Poll an async check until it returns something truthy (gateway events are handled asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        await asyncio.sleep(interval)


def db(fn: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """Run a sync ORM read from an async test the way the bot does."""
    return database_sync_to_async(fn)


def populate(fake: FakeDiscord) -> tuple[Guild, Channel, User, User, User]:
    guild = fake.add_guild("Summary Test Guild", everyone_permissions=DEFAULT_EVERYONE)
    owner = fake.users[guild.owner_id]
    managers = fake.add_role(guild, "Moderators", int(DEFAULT_EVERYONE | Permission.MANAGE_GUILD))
    admin = fake.add_member(guild, username="admin", roles=[managers])
    member = fake.add_member(guild, username="member")
    channel = fake.add_channel(guild, "general")
    return guild, channel, owner, admin, member


async def start_bot(fake: FakeDiscord, **options: Any) -> tuple[Any, asyncio.Task[None]]:
    bot = build_bot(guild_ready_timeout=GUILD_READY_TIMEOUT, **options)
    task = asyncio.create_task(bot.start(fake.bot_token), name="bot-under-test")
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait({task, ready}, timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        await bot.close()
        if task.done() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
        raise AssertionError("the bot did not become ready")
    return bot, task


async def stop_bot(bot: Any, task: asyncio.Task[None]) -> None:
    await bot.close()
    try:
        await asyncio.wait_for(task, TIMEOUT)
    finally:
        # The bot task must not have died on a payload: that would hide behind every later assertion.
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


async def run_task(task: Callable[..., T], *args: Any) -> T:
    """Run a django-q2 task function as a worker would: in another thread, which closes its connections after.

    (A connection left open in a pool thread would keep PostgreSQL from dropping the test database.)
    """

    def run() -> T:
        try:
            return task(*args)
        finally:
            connections.close_all()

    return await asyncio.to_thread(run)
