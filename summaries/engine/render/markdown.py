"""Markdown: every cited point links to the messages it summarizes."""

from __future__ import annotations

from ..formats import get_format
from ..types import SummaryResult
from .points import citation_links, point_text

MAX_CITATIONS = 5


def describe(result: SummaryResult) -> str:
    """One line of context: how much was summarized, when, by what."""
    parts = [f"{result.message_count} messages", f"{result.participant_count} participants"]
    if result.first_message_at and result.last_message_at:
        first, last = result.first_message_at, result.last_message_at
        end = f"{last:%H:%M}" if first.date() == last.date() else f"{last:%Y-%m-%d %H:%M}"
        parts.append(f"{first:%Y-%m-%d %H:%M}–{end} UTC")
    parts.append(result.model)
    return " · ".join(parts)


def render_markdown(result: SummaryResult, *, title: str | None = None, max_citations: int = MAX_CITATIONS) -> str:
    fmt = get_format(result.format)
    lines = [f"# {title or 'Summary'}", "", f"*{describe(result)}*"]
    for section in fmt.sections:
        items = result.section(section.name)
        if not items:
            continue
        lines += ["", f"## {section.title}", ""]
        for item in items:
            links = citation_links(result, item, max_citations)
            text = point_text(item) + (f" ({links})" if links else "")
            lines.append(text if section.name == "overview" else f"- {text}")
    if not result.items:
        lines += ["", "Nothing worth summarizing was found."]
    return "\n".join(lines) + "\n"
