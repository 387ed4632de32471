"""Import of DiscordChatExporter JSON exports (https://github.com/Tyrrrz/DiscordChatExporter).

Shape: {guild{id,name}, channel{id,type,categoryId,category,name,topic}, messages[...], messageCount}.
Ids are strings (snowflakes exceed JSON's safe integers). Anything malformed raises InvalidInput naming
the message and the field, so a user can find the problem in a file of 100k messages; all of it is checked
here, before a summary costs anything: nesting too deep for the parser, numbers that are not integers
(`1e999` reads as infinity), and text no UTF-8 output can hold (a lone UTF-16 surrogate, `\\ud800`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from summarybot.errors import InvalidInput

from .types import Attachment, Author, ChatMessage, EmbedInfo

# Message types carrying what a person wrote; every other type (joins, pins, boosts, calls, renames...)
# is a system message.
_CONTENT_TYPES = {"Default", "Reply", "ChatInputCommand", "ContextMenuCommand", "ThreadStarterMessage"}
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")
# A JSON escape of a UTF-16 surrogate: the only way a JSON text can hold a lone one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_MAX_SNOWFLAKE = 2**63 - 1  # stored in BigIntegerFields


@dataclass(frozen=True, slots=True)
class DceExport:
    guild_id: int | None
    guild_name: str
    channel_id: int
    channel_name: str
    channel_topic: str
    messages: list[ChatMessage]


def _shown(value: Any) -> str:
    """A bad value as the error shows it: its repr, cut short (it could be megabytes)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _natural(value: Any) -> int | None:
    """A non-negative integer written as a JSON integer or a string of ASCII digits, else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    if isinstance(value, str):
        digits = value.strip()
        # Length first: int() refuses over 4300 digits with a ValueError of its own.
        if 0 < len(digits) <= 20 and digits.isascii() and digits.isdigit():
            return int(digits)
    return None


def _snowflake(value: Any, where: str) -> int:
    number = _natural(value)
    if number is None or number > _MAX_SNOWFLAKE:
        raise InvalidInput(f"{where} must be a Discord id, got {_shown(value)}")
    return number


def _size(value: Any, where: str) -> int:
    if value is None:
        return 0
    number = _natural(value)
    if number is None:
        raise InvalidInput(f"{where} must be a number of bytes, got {_shown(value)}")
    return number


def _timestamp(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidInput(f"{where} must be an ISO 8601 date, got {_shown(value)}")
    text = _LONG_FRACTION.sub(r"\1", value.strip())  # .NET writes 7 fraction digits; Python reads 6
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{where} must be an ISO 8601 date, got {_shown(value)}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where} must be an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{where} must be a list")
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _message(raw: Any, number: int, channel_id: int, guild_id: int | None) -> ChatMessage:
    where = f"messages[{number}]"
    data = _mapping(raw, where)
    message_id = _snowflake(data.get("id"), f"{where}.id")
    where = f"message {message_id} ({where})"
    author_data = _mapping(data.get("author"), f"{where}.author")
    author = Author(
        id=_snowflake(author_data.get("id"), f"{where}.author.id"),
        name=_text(author_data.get("name")) or "unknown",
        display_name=_text(author_data.get("nickname")),
        bot=bool(author_data.get("isBot", False)),
    )
    kind_name = _text(data.get("type")) or "Default"
    kind = "reply" if kind_name == "Reply" else "default" if kind_name in _CONTENT_TYPES else "system"
    content = data.get("content", "")
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise InvalidInput(f"{where}.content must be a string")

    attachments = tuple(
        Attachment(
            filename=_text(a.get("fileName")) or "file",
            url=_text(a.get("url")),
            size=_size(a.get("fileSizeBytes"), f"{where}.attachments[{n}].fileSizeBytes"),
        )
        for n, a in enumerate(
            _mapping(x, f"{where}.attachments[]") for x in _list(data.get("attachments"), f"{where}.attachments")
        )
    )
    embeds = tuple(
        EmbedInfo(title=_text(e.get("title")), description=_text(e.get("description")), url=_text(e.get("url")))
        for e in (_mapping(x, f"{where}.embeds[]") for x in _list(data.get("embeds"), f"{where}.embeds"))
    )
    stickers = tuple(
        _text(_mapping(s, f"{where}.stickers[]").get("name")) or "sticker"
        for s in _list(data.get("stickers"), f"{where}.stickers")
    )
    reactions = 0
    for reaction in _list(data.get("reactions"), f"{where}.reactions"):
        count = _mapping(reaction, f"{where}.reactions[]").get("count", 0)
        reactions += count if isinstance(count, int) and not isinstance(count, bool) else 0
    mentions: dict[int, str] = {}
    for mention in _list(data.get("mentions"), f"{where}.mentions"):
        mention = _mapping(mention, f"{where}.mentions[]")
        mention_id = _snowflake(mention.get("id"), f"{where}.mentions[].id")
        mentions[mention_id] = _text(mention.get("nickname")) or _text(mention.get("name")) or "unknown-user"
    reference = data.get("reference")
    reply_to = None
    if isinstance(reference, Mapping) and reference.get("messageId"):
        reply_to = _snowflake(reference["messageId"], f"{where}.reference.messageId")

    return ChatMessage(
        id=message_id,
        channel_id=channel_id,
        guild_id=guild_id,
        author=author,
        created_at=_timestamp(data.get("timestamp"), f"{where}.timestamp"),
        content=content,
        kind=kind,
        reply_to=reply_to,
        attachments=attachments,
        embeds=embeds,
        reactions=reactions,
        user_mentions=mentions,
        sticker_names=stickers,
    )


def parse_dce(data: Any) -> DceExport:
    """A decoded DCE JSON document to ChatMessages (oldest first, as exported)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("messages"), list):
        raise InvalidInput("Not a DiscordChatExporter JSON export: expected an object with a 'messages' list.")
    guild = _mapping(data.get("guild") or {}, "guild")
    channel = _mapping(data.get("channel"), "channel")
    guild_raw = guild.get("id")
    guild_id = _snowflake(guild_raw, "guild.id") if guild_raw not in (None, "", "0", 0) else None
    channel_id = _snowflake(channel.get("id"), "channel.id")
    messages = [_message(raw, number, channel_id, guild_id) for number, raw in enumerate(data["messages"])]
    return DceExport(
        guild_id=guild_id,
        guild_name=_text(guild.get("name")),
        channel_id=channel_id,
        channel_name=_text(channel.get("name")),
        channel_topic=_text(channel.get("topic")),
        messages=messages,
    )


def load_dce(text: str | bytes) -> DceExport:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")  # DCE writes UTF-8; Windows tools may add a BOM
        except UnicodeDecodeError:
            raise InvalidInput("The export is not UTF-8 text.") from None
    elif not text.isascii() and _lone_surrogate(text):
        raise InvalidInput("The export is not UTF-8 text: it holds a lone UTF-16 surrogate.")
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"The export is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    except RecursionError:
        raise InvalidInput("The export is not a DiscordChatExporter export: it is nested too deeply.") from None
    except ValueError as exc:  # an integer of over 4300 digits
        raise InvalidInput(f"The export is not valid JSON: {str(exc).split(':')[0]}.") from None
    if _SURROGATE_ESCAPE.search(text):
        _reject_lone_surrogates(data)
    return parse_dce(data)


def _reject_constant(name: str) -> Any:
    raise InvalidInput(f"The export is not valid JSON: {name} is not a JSON value.")


def _lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _reject_lone_surrogates(data: Any) -> None:
    """Fail on the first string (or key) holding half a UTF-16 pair: Python decodes "\\ud800" from JSON
    without complaint, and only writing the summary out, after the model has been paid, would fail."""
    pending: list[tuple[Any, str]] = [(data, "")]
    while pending:
        value, where = pending.pop()
        if isinstance(value, str):
            if not value.isascii() and _lone_surrogate(value):
                raise InvalidInput(
                    f"{where or 'The export'} holds a lone UTF-16 surrogate (like \\ud800), which is not text."
                )
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if not key.isascii() and _lone_surrogate(key):
                    raise InvalidInput(
                        f"A key in {where or 'the export'} holds a lone UTF-16 surrogate, which is not text."
                    )
                pending.append((item, f"{where}.{key}" if where else key))
        elif isinstance(value, list):
            pending.extend((item, f"{where}[{n}]") for n, item in enumerate(value))


def load_dce_file(path: str | Path) -> DceExport:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"Cannot read the export {path}: {exc.strerror or exc}.") from None
    return load_dce(raw)
