"""The engine's own data: messages independent of discord.py, and the result it returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
    `reactions` is the total count of reactions; `reaction_emojis` the count per emoji, by name ("✅" for a
    Unicode emoji, the custom emoji's name otherwise).
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
    reaction_emojis: Mapping[str, int] = field(default_factory=dict)
    user_mentions: Mapping[int, str] = field(default_factory=dict)
    role_mentions: Mapping[int, str] = field(default_factory=dict)
    channel_mentions: Mapping[int, str] = field(default_factory=dict)
    sticker_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SummaryItem:
    """One point of a summary. `message_ids` are real Discord ids; `unverified` marks a point whose
    citations were all invented by the model (kept, because the point may still be right)."""

    section: str
    text: str
    message_ids: list[int] = field(default_factory=list)
    owner: str | None = None
    unverified: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "text": self.text,
            "message_ids": list(self.message_ids),
            "owner": self.owner,
            "unverified": self.unverified,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SummaryItem:
        return cls(
            section=str(data["section"]),
            text=str(data["text"]),
            message_ids=[int(i) for i in data.get("message_ids", ())],
            owner=data.get("owner"),
            unverified=bool(data.get("unverified", False)),
        )


@dataclass(frozen=True, slots=True)
class CallUsage:
    """One LLM call: which stage, which level of the reduce tree, and what it cost in tokens."""

    stage: str  # "single", "map" or "reduce"
    level: int
    prompt_tokens: int
    completion_tokens: int
    # The share of the list price the provider billed (0.5 through a batch API): what the call really cost.
    price_factor: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "stage": self.stage,
            "level": self.level,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }
        if self.price_factor != 1.0:  # stored usage keeps its old shape for ordinary calls
            data["price_factor"] = self.price_factor
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CallUsage:
        return cls(
            stage=str(data["stage"]),
            level=int(data["level"]),
            prompt_tokens=int(data["prompt_tokens"]),
            completion_tokens=int(data["completion_tokens"]),
            price_factor=float(data.get("price_factor", 1.0)),
        )


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_calls: int = 0
    cached_chunks: int = 0
    cost_usd: float = 0.0
    calls: list[CallUsage] = field(default_factory=list)

    def add_call(self, call: CallUsage) -> None:
        self.calls.append(call)
        self.llm_calls += 1
        self.prompt_tokens += call.prompt_tokens
        self.completion_tokens += call.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "llm_calls": self.llm_calls,
            "cached_chunks": self.cached_chunks,
            "cost_usd": round(self.cost_usd, 6),
            "calls": [c.to_dict() for c in self.calls],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        return cls(
            prompt_tokens=int(data.get("prompt_tokens", 0)),
            completion_tokens=int(data.get("completion_tokens", 0)),
            llm_calls=int(data.get("llm_calls", 0)),
            cached_chunks=int(data.get("cached_chunks", 0)),
            cost_usd=float(data.get("cost_usd", 0.0)),
            calls=[CallUsage.from_dict(c) for c in data.get("calls", ())],
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(slots=True)
class SummaryResult:
    """What the engine returns and what gets stored (as `to_dict()`, JSON-able)."""

    format: str
    language: str
    model: str
    provider: str
    items: list[SummaryItem]
    message_count: int
    participant_count: int
    usage: Usage = field(default_factory=Usage)
    redactions: dict[str, int] = field(default_factory=dict)
    chunk_count: int = 1
    reduce_levels: int = 0
    first_message_at: datetime | None = None
    last_message_at: datetime | None = None
    guild_id: int | None = None
    channel_id: int | None = None
    # Only cited messages living in another channel than `channel_id` (threads): message id -> channel id.
    message_channels: dict[int, int] = field(default_factory=dict)
    prompt_version: str = ""
    # What the model's transcript left out of long code blocks and pasted logs (head and tail kept):
    # {"blocks": n, "lines": n}, empty when nothing was cut.
    trimmed: dict[str, int] = field(default_factory=dict)

    def section(self, name: str) -> list[SummaryItem]:
        return [item for item in self.items if item.section == name]

    def channel_of(self, message_id: int) -> int | None:
        return self.message_channels.get(message_id, self.channel_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "language": self.language,
            "model": self.model,
            "provider": self.provider,
            "items": [item.to_dict() for item in self.items],
            "message_count": self.message_count,
            "participant_count": self.participant_count,
            "usage": self.usage.to_dict(),
            "redactions": dict(self.redactions),
            "chunk_count": self.chunk_count,
            "reduce_levels": self.reduce_levels,
            "first_message_at": _iso(self.first_message_at),
            "last_message_at": _iso(self.last_message_at),
            # Integers, like message_ids: Python and PostgreSQL jsonb keep them exact; an API meant for
            # JavaScript readers stringifies snowflakes in its serializer.
            "guild_id": self.guild_id,
            "channel_id": self.channel_id,
            "message_channels": {str(k): v for k, v in self.message_channels.items()},
            "prompt_version": self.prompt_version,
            "trimmed": dict(self.trimmed),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SummaryResult:
        guild_id = data.get("guild_id")
        channel_id = data.get("channel_id")
        return cls(
            format=str(data["format"]),
            language=str(data["language"]),
            model=str(data["model"]),
            provider=str(data["provider"]),
            items=[SummaryItem.from_dict(i) for i in data.get("items", ())],
            message_count=int(data["message_count"]),
            participant_count=int(data["participant_count"]),
            usage=Usage.from_dict(data.get("usage", {})),
            redactions={str(k): int(v) for k, v in data.get("redactions", {}).items()},
            chunk_count=int(data.get("chunk_count", 1)),
            reduce_levels=int(data.get("reduce_levels", 0)),
            first_message_at=_from_iso(data.get("first_message_at")),
            last_message_at=_from_iso(data.get("last_message_at")),
            guild_id=int(guild_id) if guild_id is not None else None,
            channel_id=int(channel_id) if channel_id is not None else None,
            message_channels={int(k): int(v) for k, v in data.get("message_channels", {}).items()},
            prompt_version=str(data.get("prompt_version", "")),
            trimmed={str(k): int(v) for k, v in data.get("trimmed", {}).items()},
        )
