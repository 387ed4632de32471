"""`python manage.py runbot [--sync-commands]`: the Discord gateway bot, in the foreground.

SIGTERM/SIGINT close the gateway connection cleanly; nothing is lost, since accepted requests are
already SummaryJob rows queued for the workers.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

import aiohttp
import discord
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from botrunner.bot import build_bot
from summarybot.metrics_server import metrics_server_from_settings

logger = logging.getLogger(__name__)


async def run_bot(*, token: str, sync_commands: bool) -> None:
    """Run until the bot stops or a signal asks it to; re-raises what made it stop."""
    bot = build_bot(sync_commands=sync_commands)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with bot:
        # discord.py's start() sets up no logging (unlike run()): the project's LOGGING applies as is.
        running = asyncio.create_task(bot.start(token), name="discord-bot")
        stopping = asyncio.create_task(stop.wait(), name="signal-wait")
        done, _ = await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stopping not in done:
            stopping.cancel()
            await running  # the bot stopped by itself: its exception (login failed...) is the answer
            return
        logger.info("signal received, closing the gateway connection")
        await bot.close()
        try:
            await running
        except (aiohttp.ClientError, OSError, RuntimeError, asyncio.CancelledError, discord.DiscordException) as exc:
            # A signal during start-up closes the HTTP session under a request in flight (a command sync, the
            # login): aiohttp then raises "Session is closed" or the request is cancelled. Still a clean stop.
            logger.info("start-up interrupted by the signal", extra={"error": type(exc).__name__})


class Command(BaseCommand):
    help = "Run the Discord gateway bot (slash commands, reactions, mentions, mirroring)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--sync-commands",
            action="store_true",
            help="Register the slash commands with Discord (globally, or to DISCORD_DEV_GUILD_ID when set) on start",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        token = settings.DISCORD_TOKEN
        if not token:
            raise CommandError("DISCORD_TOKEN is not set; the bot needs its token to connect to Discord.")
        try:
            metrics_server_from_settings(process="bot")
        except OSError as exc:
            raise CommandError(f"Cannot serve metrics on {settings.METRICS_BIND}:{settings.METRICS_PORT}: {exc}") from None
        try:
            asyncio.run(run_bot(token=token, sync_commands=options["sync_commands"]))
        except discord.LoginFailure:
            raise CommandError("Discord rejected DISCORD_TOKEN (login failed); check the bot token.") from None
        except discord.PrivilegedIntentsRequired:
            raise CommandError(
                "Discord refused the Message Content intent; enable it for the bot in the developer portal."
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise CommandError(
                f"Cannot reach Discord at {settings.DISCORD_API_BASE_URL} ({type(exc).__name__})."
            ) from None
        finally:
            connections.close_all()
