"""Discord's message and embed limits, stated once for the whole project; the one way text is cut to fit
them, and a checker for a message's embeds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

TITLE = 256
DESCRIPTION = 4096
FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR_NAME = 256
TOTAL_PER_MESSAGE = 6000  # across every embed of one message
EMBEDS_PER_MESSAGE = 10
MESSAGE_CONTENT = 2000


def shorten(text: str, limit: int) -> str:
    """`text` within `limit` characters, a cut shown by "…"."""
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def embed_size(embed: Mapping[str, Any]) -> int:
    """The characters Discord counts toward the 6000 limit."""
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += len(embed.get("footer", {}).get("text", "")) + len(embed.get("author", {}).get("name", ""))
    for field in embed.get("fields", ()):
        size += len(field.get("name", "")) + len(field.get("value", ""))
    return size


def violations(embeds: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every limit one message's embeds break; empty when Discord will accept them."""
    found: list[str] = []
    if len(embeds) > EMBEDS_PER_MESSAGE:
        found.append(f"{len(embeds)} embeds > {EMBEDS_PER_MESSAGE}")
    total = sum(embed_size(e) for e in embeds)
    if total > TOTAL_PER_MESSAGE:
        found.append(f"{total} characters across embeds > {TOTAL_PER_MESSAGE}")
    for number, embed in enumerate(embeds):
        checks = [
            ("title", len(embed.get("title", "")), TITLE),
            ("description", len(embed.get("description", "")), DESCRIPTION),
            ("footer", len(embed.get("footer", {}).get("text", "")), FOOTER),
            ("author", len(embed.get("author", {}).get("name", "")), AUTHOR_NAME),
            ("fields", len(embed.get("fields", ())), FIELDS),
        ]
        for field in embed.get("fields", ()):
            checks.append(("field name", len(field.get("name", "")), FIELD_NAME))
            checks.append(("field value", len(field.get("value", "")), FIELD_VALUE))
            if not field.get("name") or not field.get("value"):
                found.append(f"embed {number}: empty field name or value")
        found.extend(f"embed {number}: {what} {size} > {limit}" for what, size, limit in checks if size > limit)
    return found
