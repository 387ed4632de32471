"""Messages an integration posts to be summarized: text that never lived in Discord.

They have no Discord ids, so the engine numbers them 1..N in the order given (its citations then name
positions) and gives each distinct author a number of their own; the integration's own ids, when it
sent some, are mapped back on the way out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .types import Author, ChatMessage

# Where posted messages "live" for the engine, which wants a channel: no jump link is ever made to it.
NO_CHANNEL = 0


@dataclass(frozen=True, slots=True)
class PostedMessage:
    author: str
    content: str
    timestamp: datetime
    id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"author": self.author, "content": self.content, "timestamp": self.timestamp.isoformat(), "id": self.id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PostedMessage:
        return cls(
            author=data["author"], content=data["content"], timestamp=datetime.fromisoformat(data["timestamp"]),
            id=data.get("id", ""),
        )


def external_ids(messages: Sequence[PostedMessage]) -> list[str]:
    """Each message's id as the integration knows it: its own, or its 1-based position when it gave none."""
    return [message.id or str(position) for position, message in enumerate(messages, 1)]


def chat_messages(messages: Sequence[PostedMessage], *, guild_id: int | None) -> list[ChatMessage]:
    """The engine's messages, numbered 1..N in the order given (position = the id the engine cites)."""
    author_ids: dict[str, int] = {}
    converted = []
    for position, message in enumerate(messages, 1):
        author_id = author_ids.setdefault(message.author, len(author_ids) + 1)
        converted.append(
            ChatMessage(
                id=position, channel_id=NO_CHANNEL, guild_id=guild_id,
                author=Author(id=author_id, name=message.author), created_at=message.timestamp, content=message.content,
            )
        )
    return converted
