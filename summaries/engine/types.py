"""The engine's own data: messages independent of discord.py, and the result it returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Author:
    id: int
    name: str
    display_name: str = ""
    bot: bool = False

    @property
    def shown_name(self) -> str:
        return self.display_name or self.name


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    url: str = ""
    content_type: str = ""
    size: int = 0


@dataclass(frozen=True, slots=True)
class EmbedInfo:
    title: str = ""
    description: str = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One Discord message as the engine sees it.

    `channel_id` is where the message lives (a thread or forum post is its own channel), which is
    also what its jump link needs. `kind` is "default", "reply" or "system" (joins, pins, boosts...).
    """

    id: int
    channel_id: int
    guild_id: int | None
    author: Author
    created_at: datetime
    content: str
    kind: str = "default"
    reply_to: int | None = None
    attachments: tuple[Attachment, ...] = ()
    embeds: tuple[EmbedInfo, ...] = ()
    reactions: int = 0
    user_mentions: Mapping[int, str] = field(default_factory=dict)
    role_mentions: Mapping[int, str] = field(default_factory=dict)
    channel_mentions: Mapping[int, str] = field(default_factory=dict)
