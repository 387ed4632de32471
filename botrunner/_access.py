"""Who may summarize which channel, decided from what the gateway cache and the interaction carry.

Discord sends the requester's resolved permissions with every interaction (for the channel it came from
and for channel options); the bot's own come from `app_permissions` or its cached member. No REST call:
these checks run before the 3-second deadline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands

from botrunner._errors import permission_label
from botrunner.cogs.mirror import channel_data
from guilds.services import ChannelData, channel_kind
from summarybot.discord.permissions import READ_PERMISSIONS, missing_permissions
from summarybot.errors import InvalidInput, PermissionDenied

_MESSAGE_LINK = re.compile(
    r"https?://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/channels/(?P<guild>\d+|@me)/(?P<channel>\d+)/(?P<message>\d+)"
)


@dataclass(frozen=True, slots=True)
class MessageLink:
    guild_id: int | None
    channel_id: int
    message_id: int


@dataclass(frozen=True, slots=True)
class Target:
    """The channel, thread or forum post to summarize, with what is known of both parties' permissions."""

    id: int
    name: str
    is_thread: bool
    requester_permissions: discord.Permissions | None  # None: cannot be known from the cache
    bot_permissions: discord.Permissions | None
    # What Discord just told us about it, for the mirror when it lacks the channel (an archived thread).
    seen: ChannelData | None = None
    # Members see a private thread only once they are in it: checked over REST after the defer.
    private_thread: bool = False

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"


_SUMMARIZABLE = [
    discord.ChannelType.text,
    discord.ChannelType.news,
    discord.ChannelType.voice,
    discord.ChannelType.stage_voice,
    discord.ChannelType.public_thread,
    discord.ChannelType.private_thread,
    discord.ChannelType.news_thread,
]


class TargetChannel(app_commands.Transformer):
    """A channel option limited to what has messages (forum posts are threads); passed through unresolved,
    because the resolved payload carries the requester's permissions and needs no cache."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return _SUMMARIZABLE

    async def transform(self, interaction: discord.Interaction, value: Any, /) -> Any:
        if not isinstance(value, (app_commands.AppCommandChannel, app_commands.AppCommandThread)):
            raise app_commands.TransformerError(value, self.type, self)  # Discord sent no resolved channel
        return value


def parse_message_link(link: str) -> MessageLink:
    match = _MESSAGE_LINK.search(link.strip())
    if match is None:
        raise InvalidInput("That is not a message link. Right-click a message → Copy Message Link, and paste it.")
    guild = match["guild"]
    return MessageLink(
        guild_id=None if guild == "@me" else int(guild),
        channel_id=int(match["channel"]),
        message_id=int(match["message"]),
    )


def _name(channel: object) -> str:
    return str(getattr(channel, "name", None) or "this channel")


def _is_thread(channel: object) -> bool:
    return isinstance(channel, (discord.Thread, app_commands.AppCommandThread))


def _is_private_thread(channel: object) -> bool:
    return getattr(channel, "type", None) is discord.ChannelType.private_thread


def _seen(guild: discord.Guild | None, channel: object) -> ChannelData | None:
    """The mirror's view of a channel from the cache, or of a thread from the interaction's resolved data."""
    if guild is not None and isinstance(channel, (discord.abc.GuildChannel, discord.Thread)):
        return channel_data(guild, channel)
    if isinstance(channel, app_commands.AppCommandThread):
        return ChannelData(
            id=channel.id,
            name=channel.name,
            kind=channel_kind(channel.type.value),
            parent_id=channel.parent_id,
            is_locked=_is_private_thread(channel),
        )
    return None  # an uncached channel that is no thread: the mirror must already know it


def _cached_bot_permissions(
    guild: discord.Guild | None, channel_id: int, parent_id: int | None = None
) -> discord.Permissions | None:
    if guild is None or guild.me is None:
        return None
    channel = guild.get_channel_or_thread(channel_id) or (guild.get_channel(parent_id) if parent_id else None)
    if channel is None:
        return None
    return channel.permissions_for(guild.me)


def target_here(interaction: discord.Interaction) -> Target:
    channel = interaction.channel
    if channel is None or interaction.channel_id is None:
        raise InvalidInput("I can't tell which channel this is; pick one with the channel option.")
    return Target(
        id=interaction.channel_id,
        name=_name(channel),
        is_thread=_is_thread(channel),
        requester_permissions=interaction.permissions,
        bot_permissions=interaction.app_permissions,
        seen=_seen(interaction.guild, channel),
        private_thread=_is_private_thread(channel),
    )


def target_option(
    interaction: discord.Interaction, channel: app_commands.AppCommandChannel | app_commands.AppCommandThread
) -> Target:
    """A channel picked in the command: Discord resolved the requester's permissions in it for us."""
    if channel.id == interaction.channel_id:
        return target_here(interaction)
    parent_id = channel.parent_id if isinstance(channel, app_commands.AppCommandThread) else None
    cached = interaction.guild.get_channel_or_thread(channel.id) if interaction.guild else None
    return Target(
        id=channel.id,
        name=_name(channel),
        is_thread=_is_thread(channel),
        requester_permissions=channel.permissions,
        bot_permissions=_cached_bot_permissions(interaction.guild, channel.id, parent_id),
        seen=_seen(interaction.guild, cached or channel),
        private_thread=_is_private_thread(channel),
    )


def target_cached(interaction: discord.Interaction, channel_id: int) -> Target:
    """A channel named by id (a message link, a reaction): both parties' permissions from the cache."""
    if channel_id == interaction.channel_id:
        return target_here(interaction)
    guild = interaction.guild
    channel = guild.get_channel_or_thread(channel_id) if guild else None
    member = interaction.user
    if channel is None or not isinstance(member, discord.Member):
        raise InvalidInput(
            "I can't find that channel (an archived thread, or another server?). "
            "Pick it with the channel option instead."
        )
    return Target(
        id=channel_id,
        name=_name(channel),
        is_thread=_is_thread(channel),
        requester_permissions=channel.permissions_for(member),
        bot_permissions=_cached_bot_permissions(guild, channel_id),
        seen=_seen(guild, channel),
        private_thread=_is_private_thread(channel),
    )


def check_target(target: Target) -> None:
    """Refuse, naming what is missing, unless the requester can read the target and the bot can read it too."""
    if target.requester_permissions is not None:
        perms = target.requester_permissions
        if not (perms.view_channel and perms.read_message_history):
            raise PermissionDenied(f"You can't read the history of {target.mention}, so I can't summarize it for you.")
    if target.bot_permissions is not None:
        missing = missing_permissions(target.bot_permissions.value, READ_PERMISSIONS, is_thread=target.is_thread)
        if missing:
            labels = " and ".join(permission_label(name) for name in missing)
            raise PermissionDenied(
                f"I can't read {target.mention}: I'm missing the {labels} permission there. "
                "A server admin can grant it to my role (or in the channel's permissions)."
            )


async def check_thread_member(interaction: discord.Interaction, target: Target) -> None:
    """Refuse a private thread to a member who is not in it (Discord shows it only to its members and to
    those who manage threads). One REST call: run it after the defer."""
    if not target.private_thread:
        return
    perms = target.requester_permissions
    if perms is not None and perms.manage_threads:
        return
    try:
        await interaction.client.http.get_thread_member(target.id, interaction.user.id)
    except discord.NotFound:
        raise PermissionDenied(
            f"{target.mention} is a private thread you are not in, so I can't summarize it for you."
        ) from None
    except discord.Forbidden:
        raise PermissionDenied(f"I can't see the private thread {target.mention}, so I can't summarize it.") from None
