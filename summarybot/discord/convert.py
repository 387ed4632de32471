"""discord.Message -> ChatMessage, the one conversion used by both the gateway bot and the worker.

Mentions stay as markup in the content (<@id>, <@&id>, <#id>); the maps carry the names to show for
them. A gateway message resolves roles and channels from the bot's cache; a REST message (worker) has
no cache, so the caller passes the names it fetched.
"""

from __future__ import annotations

from collections.abc import Mapping

import discord

from summaries.engine.types import Attachment, Author, ChatMessage, EmbedInfo

# Message types that are people talking; everything else (joins, pins, boosts, thread created...) is
# a system message. Slash-command and context-menu replies are bot answers, i.e. conversation.
_CONVERSATION_TYPES = frozenset(
    {
        discord.MessageType.default,
        discord.MessageType.reply,
        discord.MessageType.chat_input_command,
        discord.MessageType.context_menu_command,
        discord.MessageType.thread_starter_message,
    }
)


def _kind(message: discord.Message) -> str:
    if message.type not in _CONVERSATION_TYPES:
        return "system"
    if message.type is discord.MessageType.reply:
        return "reply"
    return "default"


def _content(message: discord.Message, kind: str) -> str:
    if kind != "system":
        return message.content
    try:
        # discord.py renders joins, pins, boosts... as text ("X pinned a message to this channel.").
        return message.system_content or ""
    except (AttributeError, KeyError, TypeError):
        # Some system types need cached objects (guild, thread) that a REST-only client lacks.
        return message.content


def _user_mentions(message: discord.Message) -> dict[int, str]:
    names = {user.id: user.display_name for user in message.mentions}
    if message.reference is not None and isinstance(message.reference.resolved, discord.Message):
        # A reply pings its author without <@id> markup in the content; keep the name for the reply line.
        author = message.reference.resolved.author
        names.setdefault(author.id, author.display_name)
    return names


def _reaction_emojis(message: discord.Message) -> dict[str, int]:
    """Count per emoji name: a Unicode emoji is its own name ("✅"), a custom one goes by its name."""
    counts: dict[str, int] = {}
    for reaction in message.reactions:
        emoji = reaction.emoji
        name = emoji if isinstance(emoji, str) else (emoji.name or "")
        if name:
            counts[name] = counts.get(name, 0) + reaction.count
    return counts


def chat_message_from_discord(
    message: discord.Message,
    *,
    guild_id: int | None = None,
    role_names: Mapping[int, str] | None = None,
    channel_names: Mapping[int, str] | None = None,
) -> ChatMessage:
    """Convert one discord.py message; `guild_id` fills in for REST messages, which do not carry it."""
    kind = _kind(message)
    roles = {role.id: role.name for role in message.role_mentions}
    for role_id in message.raw_role_mentions:
        if role_id not in roles and role_names and role_id in role_names:
            roles[role_id] = role_names[role_id]
    channels: dict[int, str] = {}
    for channel in message.channel_mentions:
        channels[channel.id] = getattr(channel, "name", "") or str(channel.id)
    for channel_id in message.raw_channel_mentions:
        if channel_id not in channels and channel_names and channel_id in channel_names:
            channels[channel_id] = channel_names[channel_id]
    author = message.author
    reply_to = None
    if message.reference is not None and message.type is discord.MessageType.reply:
        reply_to = message.reference.message_id
    return ChatMessage(
        id=message.id,
        channel_id=message.channel.id,
        guild_id=message.guild.id if message.guild is not None else guild_id,
        author=Author(id=author.id, name=author.name, display_name=author.display_name, bot=author.bot),
        created_at=message.created_at,
        content=_content(message, kind),
        kind=kind,
        reply_to=reply_to,
        attachments=tuple(
            Attachment(filename=a.filename, url=a.url, content_type=a.content_type or "", size=a.size)
            for a in message.attachments
        ),
        embeds=tuple(
            EmbedInfo(title=e.title or "", description=e.description or "", url=e.url or "") for e in message.embeds
        ),
        reactions=sum(r.count for r in message.reactions),
        reaction_emojis=_reaction_emojis(message),
        user_mentions=_user_mentions(message),
        role_mentions=roles,
        channel_mentions=channels,
    )
