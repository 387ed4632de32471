"""A summary point as rendered text: its owner, its unverified flag and its numbered jump links.

A point's text and owner are the model's words, drawn from what members wrote, so they are escaped before
they meet Markdown: a masked link (`[text](url)`, or `[1](url)` passing for one of our citations), an
`<...>` autolink or mention, or a line that starts a heading, a quote or a list item would otherwise let a
message dress itself up as something the summary says. Bare URLs are left alone: they show where they
lead, and a backslash inside one would break it.
"""

from __future__ import annotations

import re

from ..types import SummaryItem, SummaryResult
from .links import jump_url

_URL = re.compile(r"https?://[^\s<>]+")
_BREAKS = re.compile(r"\s*[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+\s*")
_LINK_SYNTAX = re.compile(r"[\\\[\]<]")
# The owner stands in a bold label: nothing in it may close the bold or start other formatting.
_ANY_MARKUP = re.compile(r"[\\\[\]<>*_~`|]")
_BLOCK_START = ("#", ">", "-", "+")


def _escape(text: str, syntax: re.Pattern[str]) -> str:
    text = _BREAKS.sub(" ", text).strip()
    pieces: list[str] = []
    position = 0
    for url in _URL.finditer(text):
        pieces.append(syntax.sub(r"\\\g<0>", text[position : url.start()]))
        pieces.append(url.group())
        position = url.end()
    pieces.append(syntax.sub(r"\\\g<0>", text[position:]))
    escaped = "".join(pieces)
    return "\\" + escaped if escaped.startswith(_BLOCK_START) else escaped


def escape_markdown(text: str) -> str:
    """Model-written text made safe to place in Markdown and Discord embeds: one line, no link of its own
    but bare URLs, no block markup at its start."""
    return _escape(text, _LINK_SYNTAX)


def citation_urls(result: SummaryResult, item: SummaryItem, limit: int) -> list[str]:
    urls: list[str] = []
    for message_id in item.message_ids[:limit]:
        channel_id = result.channel_of(message_id)
        if channel_id is not None:
            urls.append(jump_url(result.guild_id, channel_id, message_id))
    return urls


def citation_links(result: SummaryResult, item: SummaryItem, limit: int) -> str:
    """ "[1](url) [2](url)": numbered per point, since a point rarely cites more than a few messages."""
    return " ".join(f"[{n}]({url})" for n, url in enumerate(citation_urls(result, item, limit), 1))


def point_text(item: SummaryItem) -> str:
    text = escape_markdown(item.text)
    if item.owner:
        text = f"**{_escape(item.owner, _ANY_MARKUP)}**: {text}"
    if item.unverified:
        text += " *(unverified)*"
    return text
