"""Discord embeds as plain dicts (the bot builds them with discord.Embed.from_dict).

Points are packed into fields, fields into pages (one message each), always between points: a point is
never split across fields or pages. A single point too long for a field has its text shortened, never its
links. When the pages would exceed `max_pages`, the result is one short embed plus the Markdown as a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..formats import get_format
from ..types import SummaryResult
from . import discord_limits as limits
from .markdown import describe, render_markdown
from .points import citation_links, point_text

EMBED_COLOR = 0x5865F2
MAX_CITATIONS = 3  # each link costs ~90 characters of the 6000 a message may carry
FOOTER_RESERVE = 160  # room kept for "Page 12/12 · <describe()>" before the footer is known


@dataclass(frozen=True, slots=True)
class DiscordAttachment:
    filename: str
    content: str


@dataclass(slots=True)
class DiscordRendering:
    """`pages[i]` is the embed list of the i-th message to send."""

    pages: list[list[dict[str, Any]]]
    attachment: DiscordAttachment | None = None
    fell_back_to_file: bool = False
    notes: list[str] = field(default_factory=list)


def _point(result: SummaryResult, item: Any, limit: int, bullet: str) -> str:
    links = citation_links(result, item, MAX_CITATIONS)
    suffix = f" {links}" if links else ""
    room = limit - len(bullet) - len(suffix)
    return f"{bullet}{limits.shorten(point_text(item), room)}{suffix}"


def _fields(result: SummaryResult, sections: list[tuple[str, list[Any]]]) -> list[dict[str, str]]:
    fields: list[dict[str, str]] = []
    for title, items in sections:
        value = ""
        part = 0
        for item in items:
            point = _point(result, item, limits.FIELD_VALUE, "• ")
            if value and len(value) + 1 + len(point) > limits.FIELD_VALUE:
                fields.append({"name": title if part == 0 else f"{title} (cont.)", "value": value})
                part += 1
                value = ""
            value = f"{value}\n{point}" if value else point
        if value:
            fields.append({"name": title if part == 0 else f"{title} (cont.)", "value": value})
    return fields


def _description(result: SummaryResult, overview: list[Any]) -> tuple[str, list[Any]]:
    """The overview in the description while it fits; what does not becomes fields."""
    text = ""
    for position, item in enumerate(overview):
        point = _point(result, item, limits.DESCRIPTION, "")
        if text and len(text) + 2 + len(point) > limits.DESCRIPTION:
            return text, overview[position:]
        text = f"{text}\n\n{point}" if text else point
    return text, []


def _paginate(title: str, description: str, fields: list[dict[str, str]]) -> list[dict[str, Any]]:
    embeds: list[dict[str, Any]] = []
    current: dict[str, Any] = {"title": title, "description": description, "fields": [], "color": EMBED_COLOR}
    size = len(title) + len(description) + FOOTER_RESERVE
    for entry in fields:
        entry_size = len(entry["name"]) + len(entry["value"])
        if current["fields"] and (
            size + entry_size > limits.TOTAL_PER_MESSAGE or len(current["fields"]) >= limits.FIELDS
        ):
            embeds.append(current)
            current = {"title": limits.shorten(f"{title} (cont.)", limits.TITLE), "fields": [], "color": EMBED_COLOR}
            size = len(current["title"]) + FOOTER_RESERVE
        current["fields"].append(entry)
        size += entry_size
    embeds.append(current)
    return embeds


def render_discord(
    result: SummaryResult, *, title: str = "Summary", max_pages: int = 5, filename: str = "summary.md"
) -> DiscordRendering:
    fmt = get_format(result.format)
    title = limits.shorten(title, limits.TITLE)
    overview_items = result.section("overview")
    description, overview_rest = _description(result, overview_items)
    sections: list[tuple[str, list[Any]]] = []
    if overview_rest:
        sections.append(("Overview (cont.)", overview_rest))
    for section in fmt.sections:
        if section.name != "overview" and (items := result.section(section.name)):
            sections.append((limits.shorten(section.title, limits.FIELD_NAME - 8), items))
    if not description and not sections:
        description = "Nothing worth summarizing was found."
    embeds = _paginate(title, description, _fields(result, sections))
    footer = limits.shorten(describe(result), FOOTER_RESERVE - 20)
    for number, embed in enumerate(embeds, 1):
        if not embed["fields"]:
            del embed["fields"]
        embed["footer"] = {"text": f"Page {number}/{len(embeds)} · {footer}" if len(embeds) > 1 else footer}
    if len(embeds) <= max_pages:
        return DiscordRendering(pages=[[embed] for embed in embeds])
    notice_text = (
        f"The summary is too long for {max_pages} messages of embeds ({len(embeds)} needed); "
        f"the full version is attached as `{filename}`."
    )
    with_overview = f"{notice_text}\n\n{description}"
    notice = {
        "title": title,
        # The overview is kept only whole: cutting it could break a link in the middle.
        "description": with_overview if len(with_overview) <= limits.DESCRIPTION else notice_text,
        "color": EMBED_COLOR,
        "footer": {"text": footer},
    }
    return DiscordRendering(
        pages=[[notice]],
        attachment=DiscordAttachment(filename=filename, content=render_markdown(result, title=title)),
        fell_back_to_file=True,
    )
