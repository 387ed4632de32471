"""The gateway bot: a commands.Bot (or AutoShardedBot) with our cogs, command sync on request only,
and the one global app-command error handler.

The bot never touches the ORM from a coroutine: cogs call sync services through
channels.db.database_sync_to_async, and anything slow (fetching history, the LLM) is a django-q2 job.
"""

from __future__ import annotations

import gc
import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands
from django.conf import settings

from botrunner._audit import act_as_member
from botrunner._errors import handle_interaction_error
from botrunner._views import SummaryPageButton
from summarybot.discord.session import apply_endpoint_settings, http_trace

logger = logging.getLogger(__name__)

EXTENSIONS: tuple[str, ...] = (
    "botrunner.cogs.summarize",
    "botrunner.cogs.reaction",
    "botrunner.cogs.config",
    "botrunner.cogs.usage",
    "botrunner.cogs.optout",
    "botrunner.cogs.mirror",
    "botrunner.cogs.qa",
    "botrunner.cogs.activity",
    "botrunner.cogs.schedules",
)


def bot_intents() -> discord.Intents:
    """Guilds (mirror), guild messages + content (mentions, staleness), reactions (trigger); no members."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.message_content = True
    intents.guild_reactions = True
    return intents


class SummaryCommandTree(app_commands.CommandTree):
    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        # Before every command, in the interaction's own task: what it changes is audit-logged as the member's.
        act_as_member(interaction)
        return True

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError, /) -> None:
        await handle_interaction_error(interaction, error)


class _SummaryBotMixin:
    """Shared by the single-process and the sharded bot; must come before the discord.py base class."""

    tree: app_commands.CommandTree

    def __init__(
        self,
        *,
        sync_commands: bool = False,
        dev_guild_id: int | None = None,
        extensions: tuple[str, ...] = EXTENSIONS,
        **options: Any,
    ) -> None:
        self.sync_commands = sync_commands
        self.dev_guild_id = dev_guild_id
        self.extensions_to_load = extensions
        # The bot never joins voice: discord.py's warnings about missing voice libraries are noise.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(  # type: ignore[call-arg]
            # Prefix commands are off (see on_message); discord.py still wants a prefix callable.
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=bot_intents(),
            tree_cls=SummaryCommandTree,
            allowed_mentions=discord.AllowedMentions.none(),
            http_trace=http_trace(),
            **options,
        )

    async def login(self, token: str) -> None:
        # Endpoints are process-wide class attributes read at each request: set before the first one.
        apply_endpoint_settings()
        await super().login(token)  # type: ignore[misc]

    async def setup_hook(self) -> None:
        for name in self.extensions_to_load:
            await self.load_extension(name)  # type: ignore[attr-defined]
        # Page buttons of summaries posted by the worker, answered statelessly from the database.
        self.add_dynamic_items(SummaryPageButton)  # type: ignore[attr-defined]
        await self._sync_commands()

    async def _sync_commands(self) -> None:
        """Sync only when asked: Discord rate-limits command updates and a global sync takes up to an hour."""
        if self.dev_guild_id is not None:
            guild = discord.Object(id=self.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            logger.info("commands synced to the dev guild", extra={"guild_id": self.dev_guild_id, "count": len(synced)})
        elif self.sync_commands:
            synced = await self.tree.sync()
            logger.info("commands synced globally", extra={"count": len(synced)})

    async def on_message(self, message: discord.Message) -> None:
        # Slash commands only: a mention is a question for the Q&A cog, never a prefix command.
        return None

    async def on_ready(self) -> None:
        # The caches just filled (guilds, channels, members) live as long as the process: moving them out of
        # the collector's reach keeps full collections short, which would otherwise stall the event loop
        # (and every pending defer) for tens of milliseconds as the caches grow.
        gc.freeze()
        user = self.user  # type: ignore[attr-defined]
        logger.info(
            "bot ready",
            extra={"user_id": user.id if user else None, "guilds": len(self.guilds)},  # type: ignore[attr-defined]
        )


class SummaryBot(_SummaryBotMixin, commands.Bot):
    pass


class ShardedSummaryBot(_SummaryBotMixin, commands.AutoShardedBot):
    pass


def build_bot(*, sync_commands: bool = False, **options: Any) -> commands.Bot:
    """The bot as settings describe it: sharded when SHARD_COUNT is set (SHARD_IDS picks this process's shards)."""
    options.setdefault("dev_guild_id", settings.DISCORD_DEV_GUILD_ID)
    if settings.SHARD_COUNT:
        return ShardedSummaryBot(
            sync_commands=sync_commands,
            shard_count=settings.SHARD_COUNT,
            shard_ids=settings.SHARD_IDS,
            **options,
        )
    return SummaryBot(sync_commands=sync_commands, **options)
