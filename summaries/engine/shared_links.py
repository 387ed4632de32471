"""Links shared in the conversation, found in the (already redacted) texts rather than asked of the model:
exact, free, and the same in the offline and LLM engines."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .normalize import PreparedMessage

URL_PATTERN = re.compile(r"https?://[^\s<>\"'`|]+")
_TRAILING = ".,;:!?*_~"


@dataclass(slots=True)
class SharedLink:
    url: str
    positions: list[int] = field(default_factory=list)


def clean_url(url: str) -> str:
    url = url.rstrip(_TRAILING)
    # "(see https://x.org/a)" keeps its closing paren outside; "https://en.wikipedia.org/wiki/A_(b)" keeps it.
    while url and url[-1] in ")]>" and url.count(url[-1]) > url.count({")": "(", "]": "[", ">": "<"}[url[-1]]):
        url = url[:-1].rstrip(_TRAILING)
    return url


def extract_links(messages: Sequence[PreparedMessage], *, limit: int = 15, cites_per_link: int = 5) -> list[SharedLink]:
    """Distinct links in order of first appearance; past `limit`, the most shared ones are kept."""
    found: dict[str, SharedLink] = {}
    for message in messages:
        if "://" not in message.text:
            continue
        for match in URL_PATTERN.finditer(message.text):
            url = clean_url(match.group())
            if len(url) <= len("https://"):
                continue
            link = found.setdefault(url, SharedLink(url))
            if len(link.positions) < cites_per_link and message.index not in link.positions:
                link.positions.append(message.index)
    links = list(found.values())
    if len(links) > limit:
        keep = {id(link) for link in sorted(links, key=lambda link: -len(link.positions))[:limit]}
        links = [link for link in links if id(link) in keep]
    return links
