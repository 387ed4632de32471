"""The dashboard's summaries archive: a guild's stored summaries, searched and filtered, and one summary whole.

A guild sees here exactly what its integrations see over the API (`integration_visible`): what the API,
schedules and webhooks asked for and what was posted for everyone, never a member's private summary.
Channels the guild has since locked or turned off keep their summaries, as on the API.

Search: PostgreSQL's full-text search (websearch syntax: words, "a phrase", -word, or) over the stored
`search_vector` (migration 0014: the summary's Markdown, which holds its title and every section's points),
ranked, with ts_headline's excerpt; on SQLite, every word must appear (case-insensitive), newest first.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVectorField
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import F, Func, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from guilds.models import Channel, SummaryFormat
from summaries.engine.formats import get_format
from summaries.models import Summary, SummaryJob
from summaries.selectors import api_status, api_summaries, integration_visible, summary_cited_items, summary_title
from summarybot.errors import NotFound

ARCHIVE_PAGE_SIZE = 25
# The text search configuration of migration 0014's stored vector; the query must use the same one.
SEARCH_CONFIG = "english"
SNIPPET_CHARS = 220
# ts_headline marks matches with these (characters no summary uses), so its output can be escaped as a whole
# before the marks become <mark>: a summary's words come from members and are never trusted as HTML.
_START, _STOP = "\ue000", "\ue001"
# Not for a snippet: a point's jump links as the Markdown renders them (" ([1](https://…) [2](https://…))"),
# the title with the line under it ("# Summary of #general", "*42 messages · 5 participants · …*"), and the
# section headings. (PostgreSQL's regular expressions: `^` is the start of the text.)
_NOT_IN_SNIPPETS = r"\s*\((\[[0-9]+\]\([^)[:space:]]*\)\s*)+\)|^# [^\n]*\n+(\*[^\n]*\*\n)?|\n## [^\n]*\n"
_MARKUP = re.compile(r"(^|\n)\s*(#+|-)\s+|\*+|\\(?=\S)")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class ArchiveFilters:
    query: str = ""
    channel_id: int | None = None
    since: date | None = None
    until: date | None = None
    format: str = ""


@dataclass(frozen=True, slots=True)
class ArchiveRow:
    id: uuid.UUID  # the job's id: the summary's id on the API, so one id names it everywhere
    title: str
    channel_label: str
    created_at: datetime
    format: str
    snippet: SafeString
    stale: bool


@dataclass(frozen=True, slots=True)
class Archive:
    rows: list[ArchiveRow]
    page: Page[Any]
    searched_with_rank: bool


def archive_channels(*, guild_id: int) -> list[tuple[int, str]]:
    """The guild's channels for the filter, by name (deleted ones too: their summaries are still here)."""
    return list(Channel.objects.filter(guild_id=guild_id).order_by("name", "pk").values_list("pk", "name"))


def channel_label(channel_id: int | None, names: Mapping[int, str]) -> str:
    if channel_id is None:
        return "posted messages"
    return f"#{names[channel_id]}" if channel_id in names else str(channel_id)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _filtered(guild_id: int, filters: ArchiveFilters) -> QuerySet[Summary]:
    summaries = Summary.objects.filter(guild_id=guild_id).filter(integration_visible("job__"))
    if filters.channel_id is not None:
        summaries = summaries.filter(channel_id=filters.channel_id)
    if filters.format:
        summaries = summaries.filter(format=filters.format)
    # Whole days in the site's time zone, as bounds on the column (an index can serve them, a __date cannot).
    if filters.since is not None:
        summaries = summaries.filter(created_at__gte=_day_start(filters.since))
    if filters.until is not None:
        summaries = summaries.filter(created_at__lt=_day_start(filters.until + timedelta(days=1)))
    return summaries


def _words(query: str) -> list[str]:
    return [word for word in query.split() if word.strip('"-')]


def _postgres_search(summaries: QuerySet[Summary], query: str) -> QuerySet[Summary]:
    # The stored column, unknown to the model (see migration 0014); the archive's queries name no other
    # summaries table, so the table name is its alias.
    document = RawSQL(f'"{Summary._meta.db_table}"."search_vector"', [], output_field=SearchVectorField())
    search = SearchQuery(query, config=SEARCH_CONFIG, search_type="websearch")
    plain = Func(F("markdown"), Value(_NOT_IN_SNIPPETS), Value(""), Value("g"), function="regexp_replace")
    return (
        summaries.annotate(document=document)
        .filter(document=search)
        .annotate(
            rank=SearchRank(F("document"), search),
            headline=SearchHeadline(
                plain,
                search,
                config=SEARCH_CONFIG,
                start_sel=_START,
                stop_sel=_STOP,
                max_words=30,
                min_words=12,
                max_fragments=2,
                fragment_delimiter=" … ",
            ),
        )
        .order_by("-rank", "-created_at", "-pk")
    )


def _plain_search(summaries: QuerySet[Summary], query: str) -> QuerySet[Summary]:
    """Every word in the Markdown, "-word" nowhere in it: the part of the websearch syntax a LIKE can do."""
    for word in _words(query):
        if word.startswith("-"):
            summaries = summaries.exclude(markdown__icontains=word.lstrip("-").strip('"'))
        else:
            summaries = summaries.filter(markdown__icontains=word.strip('"'))
    return summaries.order_by("-created_at", "-pk")


def _highlighted(text: str) -> SafeString:
    """ts_headline's excerpt of the Markdown, as safe HTML: escaped, then its matches marked."""
    text = _SPACES.sub(" ", _MARKUP.sub(" ", text)).strip()
    return mark_safe(escape(text).replace(_START, "<mark>").replace(_STOP, "</mark>"))  # noqa: S308  escaped above


def _excerpt(summary: Summary, words: list[str]) -> SafeString:
    """The first point that holds a searched word (or the first point), cut around it, the words marked."""
    texts = [str(item.get("text", "")) for item in summary.items or []]
    terms = [w.strip('"').casefold() for w in words if not w.startswith("-")]
    text = next((t for t in texts if any(term in t.casefold() for term in terms)), texts[0] if texts else "")
    at = min((text.casefold().find(term) for term in terms if term in text.casefold()), default=0)
    start = max(0, at - SNIPPET_CHARS // 3)
    excerpt = (
        ("…" if start else "")
        + text[start : start + SNIPPET_CHARS]
        + ("…" if len(text) > start + SNIPPET_CHARS else "")
    )
    # Marked in the text, escaped piece by piece: a word is never looked for inside an escaped entity.
    pieces, position = [], 0
    if any(terms):
        longest_first = "|".join(re.escape(t) for t in sorted({t for t in terms if t}, key=len, reverse=True))
        for match in re.finditer(longest_first, excerpt, flags=re.IGNORECASE):
            pieces += [escape(excerpt[position : match.start()]), f"<mark>{escape(match.group())}</mark>"]
            position = match.end()
    pieces.append(escape(excerpt[position:]))
    return mark_safe("".join(pieces))  # noqa: S308  built from escaped text


def archive_search(
    *, guild_id: int, filters: ArchiveFilters, page: int | str = 1, channel_names: Mapping[int, str] | None = None
) -> Archive:
    """One page of the guild's summaries matching the search and filters: best match first when searching
    on PostgreSQL, else newest first. Two queries (the count, the page), and one for its channels' names
    unless `channel_names` (all the guild's, from archive_channels) is given."""
    summaries = _filtered(guild_id, filters)
    query = filters.query.strip()
    ranked = bool(query) and connection.vendor == "postgresql"
    if ranked:
        summaries = _postgres_search(summaries, query)
    elif query:
        summaries = _plain_search(summaries, query)
    else:
        summaries = summaries.order_by("-created_at", "-pk")
    current = Paginator(summaries, ARCHIVE_PAGE_SIZE).get_page(page)
    found: list[Summary] = list(current.object_list)
    names = channel_names
    if names is None:
        ids = {s.channel_id for s in found if s.channel_id is not None}
        names = dict(Channel.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    words = _words(query)
    rows = [
        ArchiveRow(
            id=s.job_id,  # type: ignore[arg-type]  integration_visible only matches summaries with a job
            title=summary_title(s.markdown) or "Summary",
            channel_label=channel_label(s.channel_id, names),
            created_at=s.created_at,
            format=SummaryFormat(s.format).label if s.format in SummaryFormat.values else s.format,
            snippet=_highlighted(s.headline) if ranked else _excerpt(s, words),  # type: ignore[attr-defined]
            stale=s.stale,
        )
        for s in found
    ]
    return Archive(rows=rows, page=current, searched_with_rank=ranked)


# --- One summary ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Point:
    text: str
    owner: str | None
    unverified: bool
    # (label, jump link or None): a posted-messages summary names its messages by the integration's ids.
    citations: list[tuple[str, str | None]]


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    title: str
    points: list[Point]


@dataclass(frozen=True, slots=True)
class SummaryPage:
    job: SummaryJob
    summary: Summary | None
    status: str
    title: str
    channel_label: str
    sections: list[Section]


def _sections(summary: Summary) -> list[Section]:
    """The points in the format's order of sections, each with its citations, as the API gives them."""
    items = summary_cited_items(summary=summary)
    known = get_format(summary.format).sections if summary.format in SummaryFormat.values else ()
    order = [(s.name, s.title) for s in known]
    order += [
        (name, name.replace("_", " ").capitalize())
        for name in dict.fromkeys(i["section"] for i in items)
        if name not in {n for n, _ in order}
    ]
    sections = []
    for name, title in order:
        points = [
            Point(
                text=item["text"],
                owner=item["owner"],
                unverified=item["unverified"],
                citations=[
                    (message_id, item["links"][n] if n < len(item["links"]) else None)
                    for n, message_id in enumerate(item["message_ids"])
                ],
            )
            for item in items
            if item["section"] == name
        ]
        if points:
            sections.append(Section(name=name, title=title, points=points))
    return sections


def archive_summary(*, guild_id: int, summary_id: uuid.UUID | str) -> SummaryPage:
    """One summary of the guild by its (API) id, with its job and schedule; another guild's, or a member's
    private one, is NotFound like a missing one."""
    try:
        pk = uuid.UUID(str(summary_id))
    except ValueError:
        raise NotFound(f"No summary {summary_id}.") from None
    job = api_summaries(guild_id=guild_id).select_related("schedule").filter(pk=pk).first()
    if job is None:
        raise NotFound(f"No summary {summary_id}.")
    summary: Summary | None = getattr(job, "summary", None)
    names = (
        dict(Channel.objects.filter(pk=job.channel_id).values_list("pk", "name")) if job.channel_id is not None else {}
    )
    return SummaryPage(
        job=job,
        summary=summary,
        status=api_status(job),
        title=(summary_title(summary.markdown) if summary is not None else None) or "Summary",
        channel_label=channel_label(job.channel_id, names),
        sections=_sections(summary) if summary is not None else [],
    )
