"""/summarize, /catchup and the "Summarize from here" message command.

Each one checks what it can from the interaction alone (options, both parties' permissions) and answers
a refusal at once; otherwise it defers (Discord's 3-second rule) and asks summary_request for a job. The
worker then edits the deferred response with progress and the result, using the interaction token.
"""

from __future__ import annotations

import logging

import discord
from channels.db import database_sync_to_async
from discord import app_commands
from discord.ext import commands
from django.conf import settings

from botrunner._access import (
    Target,
    TargetChannel,
    check_target,
    check_thread_member,
    parse_message_link,
    target_cached,
    target_here,
    target_option,
)
from botrunner._choices import FORMAT_CHOICES, language_autocomplete
from botrunner._errors import PUBLIC_DEFER
from guilds.activity import member_active_channels
from summaries.models import DeliveryMode, JobSource, Visibility
from summaries.services.catchup import catch_up_window
from summaries.services.digests import CATCH_UP_CHANNELS, catch_up_digest_request
from summaries.services.jobs import SummaryRequest, summary_request
from summaries.window import MAX_WINDOW_HOURS, SummaryWindow
from summarybot.discord.errors import INTERACTION_ALREADY_ACKNOWLEDGED, UNKNOWN_INTERACTION
from summarybot.errors import InvalidInput, SummaryBotError

logger = logging.getLogger(__name__)

Choice = app_commands.Choice
SINCE_CHOICES = [
    Choice(name="the last summary here", value="last_summary"),
    Choice(name="my last message", value="my_last_message"),
]
VISIBILITY_CHOICES = [
    Choice(name="only me (default)", value=Visibility.PRIVATE.value),
    Choice(name="everyone here", value=Visibility.PUBLIC.value),
]
DELIVERY_CHOICES = [
    Choice(name="here (default)", value=DeliveryMode.HERE.value),
    Choice(name="in a new thread", value=DeliveryMode.THREAD.value),
    Choice(name="by direct message", value=DeliveryMode.DM.value),
]


def _window(
    *, messages: int | None, hours: int | None, since: str | None, from_message: str | None, guild_id: int | None
) -> tuple[SummaryWindow, int | None]:
    """The one window the options ask for, and the channel a message link points to (if any)."""
    given = [
        name
        for name, value in (("messages", messages), ("hours", hours), ("since", since), ("from_message", from_message))
        if value
    ]
    if len(given) > 1:
        raise InvalidInput(f"Pick one way to choose the messages, not {' and '.join(given)}.")
    if hours:
        return SummaryWindow.hours(hours), None
    if since == "last_summary":
        return SummaryWindow.since_last_summary(), None
    if since == "my_last_message":
        return SummaryWindow.since_my_last_message(), None
    if from_message:
        link = parse_message_link(from_message)
        if link.guild_id != guild_id:
            raise InvalidInput("That message link points to another server (or a DM); link a message from here.")
        return SummaryWindow.from_message(link.message_id), link.channel_id
    return SummaryWindow.count(messages), None


async def _defer(interaction: discord.Interaction, *, public: bool) -> bool | None:
    """Defer (Discord's 3-second rule). True: Discord delivered this interaction twice and the first copy
    answered (the request that follows is idempotent); None: too late, nobody would see an answer."""
    try:
        await interaction.response.defer(ephemeral=not public, thinking=True)
    except discord.HTTPException as exc:
        if exc.code == INTERACTION_ALREADY_ACKNOWLEDGED:
            logger.info("interaction delivered again", extra={"interaction_id": interaction.id})
            return True
        logger.warning(
            "could not defer in time", extra={"interaction_id": interaction.id, "status": exc.status, "code": exc.code}
        )
        if exc.code == UNKNOWN_INTERACTION:
            return None
        raise
    interaction.extras[PUBLIC_DEFER] = public
    return False


def _member_can_read(guild: discord.Guild, member: discord.abc.User, channel_id: int) -> bool:
    """Whether the member may read the channel's history now (a private thread: never, for a digest)."""
    channel = guild.get_channel_or_thread(channel_id)
    if channel is None or not isinstance(member, discord.Member):
        return False
    if isinstance(channel, discord.Thread) and channel.is_private():
        return False
    permissions = channel.permissions_for(member)
    return permissions.view_channel and permissions.read_message_history


async def defer_then_request(
    interaction: discord.Interaction,
    *,
    target: Target,
    window: SummaryWindow,
    source: str,
    visibility: str = Visibility.PRIVATE,
    delivery: str = DeliveryMode.HERE,
    format: str | None = None,
    language: str | None = None,
) -> None:
    """Check, defer, create the job; a SummaryBotError propagates to the global handler, which answers it."""
    check_target(target)
    public = visibility == Visibility.PUBLIC
    deferred = await _defer(interaction, public=public)
    if deferred is None:
        return
    duplicate = deferred
    await check_thread_member(interaction, target)
    request = SummaryRequest(
        guild_id=interaction.guild_id or 0,
        channel_id=target.id,
        source=source,
        requested_by_user_id=interaction.user.id,
        window=window,
        format=format,
        language=language,
        visibility=visibility,
        delivery_mode=delivery,
        interaction_id=interaction.id,
        application_id=interaction.application_id,
        interaction_token=interaction.token,
        reply_channel_id=interaction.channel_id,
        channel_seen=target.seen,
    )
    try:
        job, created = await database_sync_to_async(summary_request)(request=request)
    except SummaryBotError as exc:
        if duplicate:
            # The first delivery answered the member already; this copy has no response left to give.
            logger.info("repeated request refused", extra={"interaction_id": interaction.id, "error_code": exc.code})
            return
        raise
    logger.info(
        "summary requested",
        extra={
            "interaction_id": interaction.id,
            "job_id": str(job.pk),
            "guild_id": interaction.guild_id,
            "job_created": created,
        },
    )


class SummarizeCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.from_here = app_commands.ContextMenu(name="Summarize from here", callback=self.summarize_from_here)
        self.from_here.guild_only = True

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.from_here)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.from_here.name, type=self.from_here.type)

    @app_commands.command(name="summarize", description="Summarize this channel's recent conversation")
    @app_commands.guild_only()
    @app_commands.describe(
        messages="How many recent messages (default 200)",
        hours="The last N hours (1-168)",
        since="Since the last summary here, or since your last message",
        from_message="A message link: summarize from that message on",
        channel="Another channel, thread or forum post (default: here)",
        format="How to write it (default: the server's setting)",
        language="Language of the summary (default: the server's setting)",
        visibility="Only you (default) or everyone in the channel",
        delivery="Here (default), in a new thread, or by direct message",
    )
    @app_commands.choices(
        format=FORMAT_CHOICES, since=SINCE_CHOICES, visibility=VISIBILITY_CHOICES, delivery=DELIVERY_CHOICES
    )
    @app_commands.autocomplete(language=language_autocomplete)
    async def summarize(
        self,
        interaction: discord.Interaction,
        messages: app_commands.Range[int, 1, settings.SUMMARY_MAX_WINDOW_MESSAGES] | None = None,
        hours: app_commands.Range[int, 1, MAX_WINDOW_HOURS] | None = None,
        since: app_commands.Choice[str] | None = None,
        from_message: str | None = None,
        channel: app_commands.Transform[app_commands.AppCommandChannel, TargetChannel] | None = None,
        format: app_commands.Choice[str] | None = None,
        language: str | None = None,
        visibility: app_commands.Choice[str] | None = None,
        delivery: app_commands.Choice[str] | None = None,
    ) -> None:
        window, link_channel_id = _window(
            messages=messages,
            hours=hours,
            since=since.value if since else None,
            from_message=from_message,
            guild_id=interaction.guild_id,
        )
        if channel is not None:
            if link_channel_id is not None and link_channel_id != channel.id:
                raise InvalidInput("The message link points to another channel than the one you picked.")
            target = target_option(interaction, channel)
        elif link_channel_id is not None:
            target = target_cached(interaction, link_channel_id)
        else:
            target = target_here(interaction)
        await defer_then_request(
            interaction,
            target=target,
            window=window,
            source=JobSource.SLASH_COMMAND,
            visibility=visibility.value if visibility else Visibility.PRIVATE,
            delivery=delivery.value if delivery else DeliveryMode.HERE,
            format=format.value if format else None,
            language=language or None,
        )

    @app_commands.command(name="catchup", description="What you missed since your last message or catch-up")
    @app_commands.guild_only()
    @app_commands.describe(
        channel="One channel, thread or forum post (default: a digest of the channels you are most active in)",
        format="How to write it (default: the server's setting)",
    )
    @app_commands.choices(format=FORMAT_CHOICES)
    async def catchup(
        self,
        interaction: discord.Interaction,
        channel: app_commands.Transform[app_commands.AppCommandChannel, TargetChannel] | None = None,
        format: app_commands.Choice[str] | None = None,
    ) -> None:
        if channel is None:
            await self._catch_up_digest(interaction, format=format.value if format else None)
            return
        target = target_option(interaction, channel)
        window = await database_sync_to_async(catch_up_window)(channel_id=target.id, user_id=interaction.user.id)
        await defer_then_request(
            interaction,
            target=target,
            window=window,
            source=JobSource.SLASH_COMMAND,
            visibility=Visibility.PRIVATE,
            format=format.value if format else None,
        )

    async def _catch_up_digest(self, interaction: discord.Interaction, *, format: str | None) -> None:
        """One private digest of the member's most active channels that they can read, a section each."""
        guild = interaction.guild
        if guild is None or interaction.guild_id is None:
            raise InvalidInput("Catch-up works in a server.")
        active = await database_sync_to_async(member_active_channels)(
            guild_id=interaction.guild_id, user_id=interaction.user.id, limit=4 * CATCH_UP_CHANNELS
        )
        readable = [channel_id for channel_id in active if _member_can_read(guild, interaction.user, channel_id)]
        deferred = await _defer(interaction, public=False)
        if deferred is None:
            return
        try:
            await database_sync_to_async(catch_up_digest_request)(
                guild_id=interaction.guild_id, user_id=interaction.user.id, channel_ids=readable[:CATCH_UP_CHANNELS],
                interaction_id=interaction.id, application_id=interaction.application_id,
                interaction_token=interaction.token, format=format,
            )
        except SummaryBotError:
            if deferred:
                return  # the first delivery of this interaction answered already
            raise

    async def summarize_from_here(self, interaction: discord.Interaction, message: discord.Message) -> None:
        target = target_cached(interaction, message.channel.id)
        await defer_then_request(
            interaction,
            target=target,
            window=SummaryWindow.from_message(message.id),
            source=JobSource.CONTEXT_MENU,
        )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(SummarizeCog(bot))
