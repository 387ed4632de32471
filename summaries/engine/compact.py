"""What the transcript shows of a message: its text, shorter where the length tells the model nothing.

The links section is extracted from the full texts (shared_links.py), so the model need not read every URL
in full: a URL is shown as its host and the readable part of its path (`github.com/django/django/pull/123`,
`youtube.com/watch`), ids, hashes, query strings and scheme left out, and the engine maps a short form the
model repeats back to its URL. A long code block or pasted log keeps its head and tail around a marker
saying how many lines were cut (counted in the result). Within one call's transcript (transcript.py), a link
or a long line already shown is written `↑ref`, a reference to the message that showed it (two tokens where
`[=ref]` took three or four), and a quote of an earlier message in a reply is not repeated.

`PreparedMessage.text` is never changed here: the offline engine, the links section, the cache fingerprint
and the member-facing snippets keep reading the whole redacted text; only `shown` (what a call sends) is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .normalize import PreparedMessage
from .shared_links import URL_PATTERN, clean_url

# A fenced block or a stretch of lines longer than this keeps its first and last lines around a marker.
MAX_BLOCK_LINES = 12
HEAD_LINES = 5
TAIL_LINES = 4  # a traceback's last lines say what went wrong
_FENCE = re.compile(r"```[^\n`]*\n[\s\S]*?(?:```|$)")
# Path segments (and fragments) that name nothing a reader could use: hashes, ids, tokens.
_HEX = re.compile(r"[0-9a-f]{7,}")
_WORDLIKE = re.compile(r"[A-Za-z]{3}")
MAX_SEGMENT = 48
MAX_SEGMENTS = 5


@dataclass(slots=True)
class Trimmed:
    """What the transcript left out, for the result: code blocks and logs cut, and their lines."""

    blocks: int = 0
    lines: int = 0
    urls: dict[str, str | None] = field(default_factory=dict)  # short form -> URL, None when ambiguous
    shortened: dict[str, str] = field(default_factory=dict)  # URL -> short form: channels share links again

    def counts(self) -> dict[str, int]:
        return {"blocks": self.blocks, "lines": self.lines} if self.blocks else {}


def _opaque(segment: str) -> bool:
    # Most segments are short or plain words ("pull", "docs", "asyncio-task.html"): out on the first test.
    if len(segment) < 6 or not segment.isalnum() or segment.isalpha():
        return False
    if segment.isdigit():
        return True  # snowflakes, question ids: a PR or issue number (up to five digits) stays
    if len(segment) >= 7 and _HEX.fullmatch(segment.lower()):
        return True  # commit hashes
    # "dQw4w9WgXcQ", "4uLU6hMCjMI75M1A2tKUQC": letters and digits mixed with no word in them, or a token's
    # scattered capitals.
    return len(segment) >= 8 and (
        not _WORDLIKE.search(segment.rstrip("0123456789")) or sum(c.isupper() for c in segment) >= 3
    )


def short_url(url: str) -> str:
    """`https://www.youtube.com/watch?v=dQw4w9WgXcQ` -> `youtube.com/watch`: host and readable path."""
    rest = url.split("://", 1)[-1]
    rest, _, fragment = rest.partition("#")
    rest = rest.split("?", 1)[0]
    host, _, path = rest.partition("/")
    host = host.lower().removeprefix("www.")
    segments = [s[:MAX_SEGMENT] for s in path.split("/") if s and not _opaque(s)]
    if len(segments) > MAX_SEGMENTS:
        segments = [*segments[:3], "…", segments[-1]]
    short = "/".join([host, *segments])
    if fragment and len(fragment) <= 40 and _WORDLIKE.search(fragment) and not _opaque(fragment):
        short += "#" + fragment
    return short


def _cut_lines(lines: list[str], trimmed: Trimmed) -> list[str]:
    cut = len(lines) - HEAD_LINES - TAIL_LINES
    trimmed.blocks += 1
    trimmed.lines += cut
    return [*lines[:HEAD_LINES], f"[… {cut} lines cut]", *lines[-TAIL_LINES:]]


def _cut_block(block: str, trimmed: Trimmed) -> str:
    lines = block.split("\n")
    # A fence's first line opens it and its last closes it: the count is of the lines between.
    if len(lines) - 2 <= MAX_BLOCK_LINES:
        return block
    return "\n".join([lines[0], *_cut_lines(lines[1:-1], trimmed), lines[-1]])


def _cut_long(text: str, trimmed: Trimmed) -> str:
    """Fenced blocks cut inside their fences; an unfenced stretch of many lines (a pasted log) cut as is."""
    if "```" in text:
        pieces: list[str] = []
        position = 0
        for fence in _FENCE.finditer(text):
            pieces.append(_cut_prose(text[position : fence.start()], trimmed))
            pieces.append(_cut_block(fence.group(), trimmed))
            position = fence.end()
        pieces.append(_cut_prose(text[position:], trimmed))
        return "".join(pieces)
    return _cut_prose(text, trimmed)


def _cut_prose(text: str, trimmed: Trimmed) -> str:
    if text.count("\n") <= MAX_BLOCK_LINES + 1:
        return text
    return "\n".join(_cut_lines(text.split("\n"), trimmed))


def _shorten_urls(text: str, trimmed: Trimmed) -> str:
    urls = trimmed.urls

    def replace(match: re.Match[str]) -> str:
        raw = match.group()
        url = clean_url(raw)
        if len(url) <= len("https://"):
            return raw
        short = trimmed.shortened.get(url)
        if short is None:
            short = trimmed.shortened[url] = short_url(url)
        known = urls.get(short, url)
        urls[short] = url if known == url else None  # two URLs, one short form: it maps back to neither
        return short + raw[len(url) :]

    return URL_PATTERN.sub(replace, text)


def compact_text(text: str, trimmed: Trimmed) -> str:
    """The message as the transcript shows it (before escaping); `text` itself if nothing applies."""
    if "://" in text:
        text = _shorten_urls(text, trimmed)
    if text.count("\n") > MAX_BLOCK_LINES:
        text = _cut_long(text, trimmed)
    return text


def compact_messages(messages: Sequence[PreparedMessage]) -> Trimmed:
    """Set `shown` on each message that needs it (most need nothing: `shown` stays empty, meaning `text`)."""
    trimmed = Trimmed()
    for message in messages:
        text = message.text
        # The test compact_text would make first, inlined: most messages hold neither.
        if "://" in text or text.count("\n") > MAX_BLOCK_LINES:
            shown = compact_text(text, trimmed)
            if shown != text:
                message.shown = shown
    return trimmed


# --- mapping back ----------------------------------------------------------------------------------


def expand_short_urls(text: str, urls: dict[str, str | None]) -> str:
    """Short forms the model repeated in its own text, back to the URLs they stand for (unambiguous ones)."""
    if not urls or "." not in text:
        return text
    known = {short: url for short, url in urls.items() if url is not None and short in text}
    if not known:
        return text
    pattern = re.compile(
        r"(?<![\w/.])(?:https?://)?(?:www\.)?("
        + "|".join(re.escape(s) for s in sorted(known, key=len, reverse=True))
        + r")(?![\w/#%-])"
    )
    return pattern.sub(lambda m: known[m.group(1)], text)


# --- within one call's transcript -------------------------------------------------------------------

# A link or line shorter than this costs about what a reference to it would: it is shown again.
MIN_REPEATED_LINK = 20
MIN_REPEATED_LINE = 60
# A short form as compact_text writes it: a host and a path (a dotted name alone is code, not a link).
_SHORT_LINK = re.compile(r"(?<![\w/.@])(?:[a-z0-9-]+\.)+[a-z]{2,}/[^\s\"'`<>|]*")
QUOTE_LOOKBACK = 20
# "Shown again, see message <ref>": " ↑" is one token in o200k and cl100k, where " [=" and "]" took two or three.
REPEAT = "↑"


def _quote_block(text: str) -> tuple[str, str] | None:
    """A leading Discord quote ("> line" lines) and the rest of the message, or None."""
    if not text.startswith("> "):
        return None
    lines = text.split("\n")
    count = 0
    while count < len(lines) and lines[count].startswith("> "):
        count += 1
    if count == len(lines):
        return None  # nothing but the quote: keep it, it is the message
    return "\n".join(line[2:] for line in lines[:count]), "\n".join(lines[count:])


def _own_words(text: str) -> str:
    """A message's text without the quote it opens with: a quote of a quote is of the original."""
    quote = _quote_block(text) if text.startswith("> ") else None
    return quote[1] if quote is not None else text


def chunk_texts(messages: Sequence[PreparedMessage]) -> list[str]:
    """The shown text of consecutive messages sent in one call, each repeat written once.

    Never longer than `shown` (what the planner counted): a link or long line already shown in this call
    becomes `↑ref` (the message that showed it), and a leading quote of a message in this call becomes
    nothing when the message replies to it (`^ref` already says so) or `[quoting ref]` otherwise. Refs
    count from the first message, as the transcript's do.
    """
    if not messages:
        return []
    first = messages[0].index
    texts: list[str] = []
    first_seen: dict[str, int] = {}
    position_of = {m.index: n for n, m in enumerate(messages)}
    for n, message in enumerate(messages):
        text = message.shown or message.text
        if text.startswith("> ") and (quote := _quote_block(text)) is not None:
            quoted, rest = quote
            source = None
            parent = message.reply_to_index
            earlier = [m.index for m in messages[max(0, n - QUOTE_LOOKBACK) : n]][::-1]
            for index in [parent, *earlier] if parent is not None else earlier:
                k = position_of.get(index)
                if k is None or k >= n:
                    continue
                candidate = messages[k]
                if (
                    quoted in _own_words(candidate.text)
                    or quoted in _own_words(candidate.shown)
                    # A reply quoting its parent's own quote ("> > ..."): the parent's line shows that quote,
                    # or left it out because the message it quotes is in this call too.
                    or (index == parent and (quoted in candidate.text or quoted in candidate.shown))
                ):
                    source = index
                    break
            if source is not None:
                text = rest if source == parent else f"[quoting {source - first}] {rest}"
        if len(text) >= MIN_REPEATED_LINK and "." in text:
            text = _refer_repeats(text, message.index - first, first_seen)
        texts.append(text)
    return texts


def _refer_repeats(text: str, index: int, first_seen: dict[str, int]) -> str:
    def link(match: re.Match[str]) -> str:
        short = match.group()
        if len(short) < MIN_REPEATED_LINK:
            return short
        seen = first_seen.setdefault(short, index)
        return short if seen == index else f"{REPEAT}{seen}"

    if "/" in text:
        text = _SHORT_LINK.sub(link, text)
    if len(text) >= MIN_REPEATED_LINE:
        lines = text.split("\n")
        changed = False
        for number, line in enumerate(lines):
            if len(line) >= MIN_REPEATED_LINE:
                key = "\n" + line  # never equal to a link key
                seen = first_seen.setdefault(key, index)
                if seen != index:
                    lines[number] = f"{REPEAT}{seen}"
                    changed = True
        if changed:
            text = "\n".join(lines)
    return text
