"""What a delivery sends: the webhook event document and the Discord message, built from the stored rows.

Built again for every attempt rather than stored: the same job and summary give the same document (its
`timestamp` is the delivery's creation time), so a retry or a replay sends the same payload, and no second
copy of the summary's text lives in the delivery log for a GDPR erasure to miss.

The event document (version 1):

    {"type": "summary.completed" | "summary.failed", "version": 1, "timestamp": "<ISO 8601, UTC>",
     "data": {"id", "guild_id", "channel_id", "status", "format", "language",
              "window": {"start", "end", "message_count", "first_message_id", "last_message_id"},
              "markdown", "items": [{"section", "text", "message_ids", "links", "owner", "unverified"}],
              "usage": {"prompt_tokens", "completion_tokens", "llm_calls", "cost_usd", "model"},
              "error": {"code", "message"} | null, "created_at", "completed_at"}}

`data.id` is the summary's id in the REST API (GET /api/v1/summaries/{id}); snowflakes are strings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from guilds.models import Channel
from summaries.engine.formats import FORMATS
from summaries.engine.render.markdown import MAX_CITATIONS
from summaries.models import Summary, SummaryJob
from summaries.selectors import api_status, summary_cited_items
from summaries.services.discord_results import render_for_discord, summary_title
from webhooks.models import DeliveryEvent

PAYLOAD_VERSION = 1
EMBED_COLOR_FAILED = 0xED4245


@dataclass(frozen=True, slots=True)
class DiscordMessage:
    embeds: list[dict[str, Any]]
    file: tuple[str, bytes] | None = None


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One event as the transports see it: the document, its stable id, and how to show it on Discord."""

    webhook_id: str
    event: str
    timestamp: datetime
    data: dict[str, Any]
    job: SummaryJob | None = None
    summary: Summary | None = None
    test: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        return {"type": self.event, "version": PAYLOAD_VERSION, "timestamp": _iso(self.timestamp), "data": self.data}

    def body(self) -> bytes:
        """The exact bytes signed and sent: compact JSON, keys in a fixed order."""
        return json.dumps(self.document(), separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _snowflake(value: int | None) -> str | None:
    return None if value is None else str(value)


def summary_event_data(*, job: SummaryJob, summary: Summary | None) -> dict[str, Any]:
    """The `data` of an event: the summary as the REST API shows it, plus its guild and window."""
    return {
        "id": str(job.pk),
        "guild_id": str(job.guild_id),
        "channel_id": _snowflake(job.channel_id),
        "status": api_status(job),
        "format": job.format,
        "language": summary.language if summary is not None else job.language,
        "window": None if summary is None else {
            "start": _iso(summary.window_start),
            "end": _iso(summary.window_end),
            "message_count": summary.message_count,
            "first_message_id": _snowflake(summary.first_message_id),
            "last_message_id": _snowflake(summary.last_message_id),
        },
        "markdown": summary.markdown if summary is not None else None,
        "items": summary_cited_items(summary=summary) if summary is not None else [],
        "usage": None if summary is None else {
            "prompt_tokens": summary.prompt_tokens, "completion_tokens": summary.completion_tokens,
            "llm_calls": summary.llm_calls, "cost_usd": str(summary.cost_usd), "model": summary.model,
        },
        "error": {"code": job.error_code, "message": job.error_message} if job.error_code else None,
        "created_at": _iso(job.created_at),
        "completed_at": _iso(job.finished_at),
    }


def test_event_data(*, guild_id: int) -> dict[str, Any]:
    """An example `summary.completed` document for "send test event": real shape, made-up content."""
    now = datetime.now(UTC)
    return {
        "id": "00000000-0000-0000-0000-000000000000",
        "guild_id": str(guild_id),
        "channel_id": None,
        "status": "done",
        "format": "brief",
        "language": "en",
        "window": {"start": _iso(now), "end": _iso(now), "message_count": 2, "first_message_id": None,
                   "last_message_id": None},
        "markdown": "**Test event** from Summary Bot NG: this destination is reachable.",
        "items": [{"section": "overview", "text": "This is a test event.", "message_ids": [], "links": [],
                   "owner": None, "unverified": False}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "llm_calls": 0, "cost_usd": "0", "model": "test"},
        "error": None,
        "created_at": _iso(now),
        "completed_at": _iso(now),
        "test": True,
    }


def discord_message(message: OutboundMessage) -> DiscordMessage:
    """The bot's own embeds (same renderer, same Discord limits): the first page, and the whole summary as a
    Markdown file when it does not fit one message (buttons to turn pages work only on the bot's posts)."""
    if message.test:
        return DiscordMessage(embeds=[{
            "title": "Test event", "description": message.data["markdown"], "color": 0x5865F2,
        }])
    job, summary = message.job, message.summary
    if message.event == DeliveryEvent.SUMMARY_FAILED or summary is None:
        text = (job.error_message if job is not None else "") or "The summary could not be made."
        return DiscordMessage(embeds=[{"title": "Summary failed", "description": text[:4096], "color": EMBED_COLOR_FAILED}])
    channel_name = Channel.objects.filter(pk=summary.channel_id).values_list("name", flat=True).first()
    rendering = render_for_discord(summary, title=summary_title(summary, channel_name))
    if rendering.attachment is not None:
        file = (rendering.attachment.filename, rendering.attachment.content.encode())
    elif len(rendering.pages) > 1:
        file = (f"summary-{summary.job_id or summary.pk}.md", summary.markdown.encode())
    else:
        file = None
    return DiscordMessage(embeds=[dict(embed) for embed in rendering.pages[0]], file=file)


# --- Pages: the summary as a document for wikis (Notion, Confluence) -------------------------------------


@dataclass(frozen=True, slots=True)
class Point:
    """A point as plain text (each page format escapes it its own way) with its jump links."""

    text: str
    owner: str | None
    unverified: bool
    links: list[str]


@dataclass(frozen=True, slots=True)
class PageSection:
    title: str
    points: list[Point]
    # The overview reads as a paragraph, the other sections as bullet lists (as in the Markdown rendering).
    prose: bool = False


@dataclass(frozen=True, slots=True)
class Outline:
    title: str  # "Summary of #general · 2025-01-31" ("Test event …", "… failed")
    date: datetime
    channel_name: str | None
    format: str
    description: str
    sections: list[PageSection]


_LINE_BREAKS = re.compile(r"\s*[\n\r\v\f\u2028\u2029]+\s*")


def _one_line(text: str) -> str:
    return _LINE_BREAKS.sub(" ", text or "").strip()


def _parse_iso(value: str | None) -> datetime | None:
    return None if not value else datetime.fromisoformat(value.replace("Z", "+00:00"))


def page_outline(message: OutboundMessage) -> Outline:
    """Title, date, channel and the sections of points, built from the event document (the same for a
    test event, whose document has the real shape)."""
    data = message.data
    window = data.get("window") or {}
    date = _parse_iso(window.get("end")) or _parse_iso(data.get("completed_at")) or message.timestamp
    channel_name = None
    if data.get("channel_id"):
        channel_name = Channel.objects.filter(pk=int(data["channel_id"])).values_list("name", flat=True).first()
    base = f"Summary of #{channel_name}" if channel_name else "Summary"
    if message.test:
        base = "Test event from Summary Bot NG"
    if message.event == DeliveryEvent.SUMMARY_FAILED:
        error = data.get("error") or {}
        return Outline(
            title=f"{base} failed · {date:%Y-%m-%d}", date=date, channel_name=channel_name, format=data["format"],
            description=_one_line(error.get("message") or "The summary could not be made."), sections=[],
        )
    described = [f"{window['message_count']} messages"] if window.get("message_count") is not None else []
    if window.get("start") and window.get("end"):
        described.append(f"{_parse_iso(window['start']):%Y-%m-%d %H:%M}–{_parse_iso(window['end']):%Y-%m-%d %H:%M} UTC")
    items = data.get("items") or []
    fmt = FORMATS.get(data.get("format") or "")
    known = [(s.name, s.title) for s in fmt.sections] if fmt else []
    # Sections in the format's order, then any the format does not name (an older format's), by first use.
    names = [n for n, _ in known] + [i["section"] for i in items if i["section"] not in {n for n, _ in known}]
    titles = dict(known)
    sections = []
    for name in dict.fromkeys(names):
        points = [
            Point(text=_one_line(i["text"]), owner=_one_line(i["owner"]) if i.get("owner") else None,
                  unverified=bool(i.get("unverified")), links=list(i.get("links") or [])[:MAX_CITATIONS])
            for i in items if i["section"] == name
        ]
        if points:
            sections.append(PageSection(
                title=titles.get(name, name.replace("_", " ").capitalize()), points=points, prose=name == "overview",
            ))
    return Outline(
        title=f"{base} · {date:%Y-%m-%d}", date=date, channel_name=channel_name, format=data.get("format") or "",
        description=" · ".join(described), sections=sections,
    )
