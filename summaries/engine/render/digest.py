"""A digest: several channels' summaries in one post, a section each, within Discord's limits.

Each channel is one embed whose description lists its points section by section ("For you" first, as in
every format), each point with its jump links. A channel's embed is cut between points to a share of the
message, so one busy channel cannot push the others out; embeds are packed into as few messages as
Discord's limits (10 embeds, 6000 characters) allow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..formats import get_format
from ..types import SummaryResult
from . import discord_limits as limits
from .discord import EMBED_COLOR
from .markdown import describe, render_markdown
from .points import citation_links, point_text

# Characters one channel's section may take: about three channels fit a message.
SECTION_BUDGET = 1_800
MAX_CITATIONS = 2


@dataclass(frozen=True, slots=True)
class DigestSection:
    heading: str  # "#general"
    result: SummaryResult


def _points(section: DigestSection, budget: int) -> str:
    result = section.result
    fmt = get_format(result.format)
    lines: list[str] = []
    used = 0
    total = sum(len(result.section(s.name)) for s in fmt.sections)
    shown = 0
    for fmt_section in fmt.sections:
        items = result.section(fmt_section.name)
        if not items:
            continue
        header = f"**{fmt_section.title}**"
        for position, item in enumerate(items):
            links = citation_links(result, item, MAX_CITATIONS)
            point = limits.shorten(point_text(item), 300) + (f" {links}" if links else "")
            line = point if fmt_section.name == "overview" else f"• {point}"
            addition = ([header] if position == 0 else []) + [line]
            cost = sum(len(text) + 1 for text in addition)
            if used + cost > budget - 40:
                return "\n".join([*lines, f"*… and {total - shown} more points*"])
            lines += addition
            used += cost
            shown += 1
    return "\n".join(lines) or "Nothing worth summarizing was found."


def render_digest_discord(title: str, sections: Sequence[DigestSection], notes: Sequence[str] = ()) -> list[list[dict[str, Any]]]:
    """The messages to send, each a list of embeds; the title heads the first, the notes end the last."""
    embeds: list[dict[str, Any]] = []
    for section in sections:
        embed: dict[str, Any] = {
            "title": limits.shorten(section.heading, limits.TITLE),
            "description": _points(section, SECTION_BUDGET),
            "color": EMBED_COLOR,
            "footer": {"text": limits.shorten(describe(section.result), 200)},
        }
        embeds.append(embed)
    if embeds:
        embeds[0]["author"] = {"name": limits.shorten(title, limits.AUTHOR_NAME)}
    if notes:
        text = limits.shorten("\n".join(notes), 1_000)
        if embeds:
            embeds[-1]["description"] += f"\n\n{text}"
        else:
            embeds.append({"title": limits.shorten(title, limits.TITLE), "description": text, "color": EMBED_COLOR})
    messages: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for embed in embeds:
        cost = limits.embed_size(embed)
        if current and (size + cost > limits.TOTAL_PER_MESSAGE or len(current) >= limits.EMBEDS_PER_MESSAGE):
            messages.append(current)
            current, size = [], 0
        current.append(embed)
        size += cost
    if current:
        messages.append(current)
    return messages


def render_digest_markdown(title: str, sections: Sequence[DigestSection], notes: Sequence[str] = ()) -> str:
    parts = [f"# {title}"]
    for section in sections:
        # Each channel's summary one heading level down, under the digest's title.
        body = render_markdown(section.result, title=section.heading)
        parts.append("\n".join("#" + line if line.startswith("#") else line for line in body.splitlines()))
    if notes:
        parts.append("\n".join(f"_{note}_" for note in notes))
    return "\n\n".join(parts) + "\n"
