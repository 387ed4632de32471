"""A summary point as rendered text: its owner, its unverified flag and its numbered jump links."""

from __future__ import annotations

from ..types import SummaryItem, SummaryResult
from .links import jump_url


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
    text = item.text
    if item.owner:
        text = f"**{item.owner}**: {text}"
    if item.unverified:
        text += " *(unverified)*"
    return text
