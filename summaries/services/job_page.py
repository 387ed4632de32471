"""What the dashboard shows of one job: its state (the page, the polled partial and the websocket's fragments
render the same one) and what it summarizes.

A job is shown to a server's managers under the same rule as the API's summaries (`api_summaries`): what
the API, schedules and webhooks asked for and what was posted for everyone; a member's private summary
stays theirs, and another server's job looks exactly like none.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from guilds.models import Channel
from summaries.engine.formats import FORMATS
from summaries.models import JobStatus, Summary, SummaryJob, WindowKind
from summaries.selectors import API_STATUSES, api_summary_get, summary_cited_items
from summaries.services.dashboard import _channel_label


@dataclass(frozen=True, slots=True)
class SummarySection:
    title: str
    # Each point as summary_cited_items gives it: text, links (jump URLs), owner, unverified.
    points: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ShownSummary:
    id: int
    message_count: int
    window_start: datetime | None
    window_end: datetime | None
    stale: bool
    sections: list[SummarySection]


@dataclass(frozen=True, slots=True)
class JobState:
    id: uuid.UUID
    guild_id: int
    status: str
    status_label: str
    progress: int
    detail: str
    error_message: str = ""
    # The stored result, once the job is done or partial (read only for a finished job).
    summary: ShownSummary | None = None

    @property
    def finished(self) -> bool:
        return self.status in JobStatus.finished()

    @property
    def api_status(self) -> str:
        # The coarse state (queued, running, done, partial, failed) the overview and the API show.
        return next((name for name, statuses in API_STATUSES.items() if self.status in statuses), "failed")


@dataclass(frozen=True, slots=True)
class JobPage:
    state: JobState
    channel_label: str
    window_label: str
    source: str
    format: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def dashboard_job(*, guild_id: int, job_id: Any) -> JobPage:
    """The job page: its state, and what it summarizes. NotFound for a job the guild's managers may not see."""
    job = api_summary_get(guild_id=guild_id, summary_id=job_id)
    names = dict(Channel.objects.filter(pk=job.channel_id).values_list("pk", "name")) if job.channel_id else {}
    return JobPage(
        state=_state(job),
        channel_label=_channel_label(job.channel_id, names),
        window_label=_window_label(job),
        source=job.get_source_display(),
        format=job.get_format_display(),
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def dashboard_job_state(*, guild_id: int, job_id: Any) -> JobState:
    """The job's state as stored now (the polled partial, a websocket's first and last message)."""
    return _state(api_summary_get(guild_id=guild_id, summary_id=job_id))


def job_state_published(*, guild_id: int, message: Mapping[str, Any]) -> JobState:
    """The state a worker published to the job's group (runner._publish), read without the database."""
    status = str(message["status"])
    return JobState(
        id=uuid.UUID(str(message["job_id"])),
        guild_id=guild_id,
        status=status,
        status_label=JobStatus(status).label if status in JobStatus.values else status,
        progress=max(0, min(100, int(message.get("progress") or 0))),
        detail=str(message.get("detail") or ""),
    )


def _state(job: SummaryJob) -> JobState:
    finished = job.status in JobStatus.finished()
    return JobState(
        id=job.pk,
        guild_id=job.guild_id,
        status=job.status,
        status_label=job.get_status_display(),
        progress=job.progress,
        detail=job.progress_detail,
        error_message=job.error_message
        if job.status in (JobStatus.FAILED, JobStatus.PARTIAL, JobStatus.CANCELLED)
        else "",
        summary=_shown(Summary.objects.filter(job=job).first()) if finished else None,
    )


def _shown(summary: Summary | None) -> ShownSummary | None:
    if summary is None:
        return None
    sections: list[SummarySection] = []
    names: list[str] = []
    for item in summary_cited_items(summary=summary):
        if not names or names[-1] != item["section"]:
            names.append(item["section"])
            sections.append(SummarySection(title=_section_title(summary.format, item["section"]), points=[]))
        sections[-1].points.append(item)
    return ShownSummary(
        id=summary.pk,
        message_count=summary.message_count,
        window_start=summary.window_start,
        window_end=summary.window_end,
        stale=summary.stale,
        sections=sections,
    )


def _section_title(format_name: str, section: str) -> str:
    summary_format = FORMATS.get(format_name)
    try:
        return summary_format.section(section).title if summary_format else section
    except KeyError:  # a section of a format that has since changed: its name is still readable
        return section


def _window_label(job: SummaryJob) -> str:
    if job.channel_id is None:
        return "the messages posted with the request"
    if job.window_kind == WindowKind.COUNT and job.message_limit:
        return f"the last {job.message_limit:,} messages"
    if job.window_kind == WindowKind.HOURS and job.hours:
        return f"the last {job.hours} hour{'s' if job.hours != 1 else ''}"
    if job.window_kind == WindowKind.RANGE and job.since and job.until:
        return f"{job.since:%Y-%m-%d %H:%M} to {job.until:%Y-%m-%d %H:%M} UTC"
    if job.window_kind == WindowKind.FROM_MESSAGE and job.after_message_id:
        return f"from message {job.after_message_id} on"
    return job.get_window_kind_display()
