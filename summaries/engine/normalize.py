"""Preparation: from Discord messages to the clean, redacted, numbered messages every later stage uses.

Discord markup becomes readable names (`<@123>` -> `@Alice`), attachments and embeds become short tags,
excluded messages (bots, system, opt-outs) are dropped here once, and PII is redacted here once, so no
later stage can see an original value.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise

from .options import SummaryOptions
from .redact import Redactor, may_hold_pii, normalized_for_redaction, pii_candidates
from .types import Attachment, ChatMessage, EmbedInfo

_MARKUP = re.compile(
    r"<(?:@!?(?P<user>\d+)|@&(?P<role>\d+)|#(?P<channel>\d+)|a?:(?P<emoji>\w+):\d+|t:(?P<ts>-?\d+)(?::[tTdDfFR])?)>"
)
# Code spans and fenced blocks are quoted text: Discord renders no mentions there, and neither do we.
_CODE = re.compile(r"```[\s\S]*?(?:```|$)|`[^`\n]+`")
_BLANK_LINES = re.compile(r"\n{3,}")
_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".svg", ".heic")
_VIDEO_EXT = (".mp4", ".mov", ".webm", ".mkv", ".avi")
_AUDIO_EXT = (".mp3", ".ogg", ".wav", ".m4a", ".flac", ".opus")


@dataclass(slots=True)
class PreparedMessage:
    """A message ready for the transcript. `index` is its local reference (what the model cites)."""

    index: int
    message_id: int
    channel_id: int
    author_id: int
    author_name: str
    created_at: datetime
    text: str
    reply_to_index: int | None = None
    reactions: int = 0
    mentioned_names: tuple[str, ...] = ()
    has_code: bool = False
    tokens: int = 0
    mentioned_ids: tuple[int, ...] = ()
    # What a model's transcript shows when it differs from `text` (compact.py: links shortened, long
    # blocks cut), set when the conversation is planned; empty means `text` itself.
    shown: str = ""


@dataclass(slots=True)
class PreparedConversation:
    messages: list[PreparedMessage]
    redactions: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    guild_id: int | None = None
    channel_id: int | None = None
    # Set when planned (compact.py): code blocks and logs cut in the transcript, and the short forms of
    # links it showed mapped back to their URLs (None for a short form two URLs share).
    trimmed: dict[str, int] = field(default_factory=dict)
    short_urls: dict[str, str | None] = field(default_factory=dict)

    @property
    def participant_count(self) -> int:
        return len({m.author_id for m in self.messages})


def _attachment_tag(attachment: Attachment) -> str:
    name = attachment.filename or "file"
    lowered = name.lower()
    content_type = attachment.content_type
    if content_type.startswith("image/") or lowered.endswith(_IMAGE_EXT):
        kind = "image"
    elif content_type.startswith("video/") or lowered.endswith(_VIDEO_EXT):
        kind = "video"
    elif content_type.startswith("audio/") or lowered.endswith(_AUDIO_EXT):
        kind = "audio"
    else:
        kind = "file"
    return f"[{kind}: {name}]"


def _embed_tag(embed: EmbedInfo) -> str | None:
    label = (embed.title or embed.url or embed.description[:80]).strip()
    return f"[embed: {label}]" if label else None


def _replace_markup(text: str, message: ChatMessage) -> str:
    def replace(match: re.Match[str]) -> str:
        if (user := match.group("user")) is not None:
            return "@" + message.user_mentions.get(int(user), "unknown-user")
        if (role := match.group("role")) is not None:
            return "@" + message.role_mentions.get(int(role), "unknown-role")
        if (channel := match.group("channel")) is not None:
            return "#" + message.channel_mentions.get(int(channel), "unknown-channel")
        if (emoji := match.group("emoji")) is not None:
            return f":{emoji}:"
        stamp = int(match.group("ts"))
        try:
            return datetime.fromtimestamp(stamp, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        except (OverflowError, OSError, ValueError):
            return match.group()

    return _MARKUP.sub(replace, text)


def _clean_prose(text: str, message: ChatMessage) -> str:
    if "<" in text:
        text = _replace_markup(text, message)
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text


def normalize_content(message: ChatMessage) -> str:
    """Discord markup to plain text, code kept verbatim; attachment, embed and sticker tags appended."""
    text = message.content
    if "`" in text:
        pieces: list[str] = []
        position = 0
        for code in _CODE.finditer(text):
            pieces.append(_clean_prose(text[position : code.start()], message))
            pieces.append(code.group())
            position = code.end()
        pieces.append(_clean_prose(text[position:], message))
        text = "".join(pieces)
    else:
        text = _clean_prose(text, message)
    text = text.strip()
    if message.attachments or message.embeds or message.sticker_names:
        tags = [_attachment_tag(a) for a in message.attachments]
        tags.extend(tag for e in message.embeds if (tag := _embed_tag(e)))
        tags.extend(f"[sticker: {name}]" for name in message.sticker_names)
        text = " ".join([text, *tags]) if text else " ".join(tags)
    return text


def exclusion_reason(message: ChatMessage, options: SummaryOptions) -> str | None:
    """Why a message must not reach the summary, or None when it may."""
    if message.author.id in options.opted_out_user_ids:
        return "opted_out_user"
    marker = options.opt_out_marker
    if marker and message.content.lstrip()[: len(marker)].lower() == marker.lower():
        return "opt_out_marker"
    if message.kind == "system" and not options.include_system:
        return "system"
    if message.author.bot and not options.include_bots:
        return "bot"
    return None


def _is_sorted(messages: Sequence[ChatMessage]) -> bool:
    return all(a.id < b.id for a, b in pairwise(messages))


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around a loop that allocates one object per message and creates
    no cycles: otherwise its collections, rescanning every object made so far, cost over 10% of the loop."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _redact(prepared: list[PreparedMessage], redactor: Redactor) -> None:
    """Redact in place, once every text is normalized: the batch gate picks the few texts that could hold
    anything, in one pass over all of them, and only those go through the rules. Display names are
    redacted too: a member called "jane@example.com" or "+49 30 55502422" is PII in every line."""
    # isascii() first: most chat is ASCII, and a call per message would cost more than the check.
    texts = [text if (text := m.text).isascii() else normalized_for_redaction(text) for m in prepared]
    for index in pii_candidates(texts):
        # Nothing redactable fits in five characters (the shortest, an email, needs six): "ok", "lol", "+1".
        if len(texts[index]) > 5 and may_hold_pii(texts[index]):
            message = prepared[index]
            message.text = text = redactor.redact(message.text)
            message.has_code = "```" in text
    names = {m.author_name for m in prepared}.union(*(m.mentioned_names for m in prepared if m.mentioned_names))
    renamed = {
        name: redacted
        for name in names
        if may_hold_pii(normalized_for_redaction(name)) and (redacted := redactor.redact(name)) != name
    }
    if renamed:
        for message in prepared:
            message.author_name = renamed.get(message.author_name, message.author_name)
            if message.mentioned_names:
                message.mentioned_names = tuple(renamed.get(n, n) for n in message.mentioned_names)


def prepare(messages: Sequence[ChatMessage], options: SummaryOptions) -> PreparedConversation:
    """Drop, normalize, redact and number the messages, oldest first."""
    with gc_paused():
        return _prepare(messages, options)


def _prepare(messages: Sequence[ChatMessage], options: SummaryOptions) -> PreparedConversation:
    """One flat loop with the common case (plain text, nothing to exclude or redact) on a fast
    path: this runs over every message of every request, and the benchmark holds it to twice the cost
    of tokenizing the same text.
    """
    if not _is_sorted(messages):
        # Snowflakes grow with time, so the id order is the chronological order.
        messages = sorted({m.id: m for m in messages}.values(), key=lambda m: m.id)
    redactor = Redactor() if options.redact_pii else None
    prepared: list[PreparedMessage] = []
    append = prepared.append
    index_of: dict[int, int] = {}
    dropped: dict[str, int] = {}
    opted_out = options.opted_out_user_ids
    marker = options.opt_out_marker.lower()
    marker_length = len(marker)
    include_bots = options.include_bots
    include_system = options.include_system
    for message in messages:
        author = message.author
        content = message.content
        reason = None
        if author.id in opted_out:
            reason = "opted_out_user"
        elif marker and (
            content[:marker_length].lower() == marker
            or (content[:1].isspace() and content.lstrip()[:marker_length].lower() == marker)
        ):
            reason = "opt_out_marker"
        elif message.kind == "system" and not include_system:
            reason = "system"
        elif author.bot and not include_bots:
            reason = "bot"
        else:
            if (
                "<" in content
                or "`" in content
                or "\n\n\n" in content
                or message.attachments
                or message.embeds
                or message.sticker_names
            ):
                text = normalize_content(message)
            else:
                text = content.strip()
            if not text:
                reason = "empty"
        if reason is not None:
            dropped[reason] = dropped.get(reason, 0) + 1
            continue
        if message.kind == "system":
            text = "[system] " + text
        index = len(prepared)
        index_of[message.id] = index
        reply_to = message.reply_to
        mentions = message.user_mentions
        append(
            PreparedMessage(
                index,
                message.id,
                message.channel_id,
                author.id,
                author.display_name or author.name,
                message.created_at,
                text,
                index_of.get(reply_to) if reply_to is not None else None,
                message.reactions,
                tuple(mentions.values()) if mentions else (),
                "```" in text,
                0,  # tokens, counted when planned; every field positional: keywords cost more per call
                tuple(mentions) if mentions else (),
            )
        )
    if redactor is not None:
        _redact(prepared, redactor)
    first = messages[0] if messages else None
    return PreparedConversation(
        messages=prepared,
        redactions=dict(redactor.counts) if redactor is not None else {},
        dropped=dropped,
        guild_id=first.guild_id if first else None,
        channel_id=first.channel_id if first else None,
    )
