"""What the dashboard's overview page shows of a guild: recent summaries, usage against budgets, schedules
that need attention."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from guilds.models import Channel, Guild
from summaries.models import Schedule
from summaries.selectors import (
    api_status,
    api_summaries,
    schedule_channel_names,
    schedule_scope_label,
    schedules_for_guild,
)
from summaries.services.usage import MonthUsage, usage_this_month

OVERVIEW_RECENT = 15


@dataclass(frozen=True, slots=True)
class RecentJob:
    id: uuid.UUID
    channel_label: str
    source: str
    status: str
    status_label: str
    format: str
    created_at: datetime
    error_message: str


@dataclass(frozen=True, slots=True)
class Overview:
    recent: list[RecentJob]
    usage: MonthUsage
    # How much of each budget is used, 0-100 (None: no such budget); the page draws them as bars.
    token_budget_percent: int | None
    cost_budget_percent: int | None
    schedules_needing_attention: list[Schedule]


def _percent(used: Decimal | int, budget: Decimal | int | None) -> int | None:
    if budget is None:
        return None
    if budget <= 0:
        return 100
    return min(100, round(100 * Decimal(used) / Decimal(budget)))


def _channel_label(channel_id: int | None, names: dict[int, str]) -> str:
    if not channel_id:
        return "posted messages"
    return f"#{names[channel_id]}" if channel_id in names else str(channel_id)


def dashboard_overview(*, guild: Guild) -> Overview:
    """The overview page: the guild's recent summaries (those its integrations may see) with their state,
    this month's usage against the budgets, and paused schedules."""
    jobs = list(api_summaries(guild_id=guild.id).order_by("-created_at")[:OVERVIEW_RECENT])
    names = dict(
        Channel.objects.filter(pk__in={j.channel_id for j in jobs if j.channel_id}).values_list("pk", "name")
    )
    recent = [
        RecentJob(
            id=job.id,
            channel_label=_channel_label(job.channel_id, names),
            source=job.get_source_display(),
            status=api_status(job),
            status_label=job.get_status_display(),
            format=job.get_format_display(),
            created_at=job.created_at,
            error_message=job.error_message[:200] if api_status(job) == "failed" else "",
        )
        for job in jobs
    ]
    usage = usage_this_month(guild=guild)
    return Overview(
        recent=recent,
        usage=usage,
        token_budget_percent=_percent(usage.tokens, usage.token_budget),
        cost_budget_percent=_percent(usage.cost_usd, usage.cost_budget_usd),
        schedules_needing_attention=list(
            Schedule.objects.filter(guild=guild, enabled=False).exclude(paused_reason="").order_by("name", "pk")[:10]
        ),
    )


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    id: int
    name: str
    scope: str
    frequency: str
    time_of_day: str
    timezone: str
    enabled: bool
    paused_reason: str
    next_run_at: datetime | None
    last_run_at: datetime | None
    consecutive_failures: int


def dashboard_schedules(*, guild: Guild) -> list[ScheduleRow]:
    """The schedules page: each of the guild's schedules with its readable scope and state."""
    schedules = list(schedules_for_guild(guild_id=guild.id))
    names = schedule_channel_names(schedules)
    return [
        ScheduleRow(
            id=s.pk,
            name=s.name,
            scope=schedule_scope_label(s, names),
            frequency=s.get_frequency_display(),
            time_of_day=s.time_of_day.strftime("%H:%M") if s.time_of_day else "",
            timezone=s.timezone,
            enabled=s.enabled,
            paused_reason=s.paused_reason,
            next_run_at=s.next_run_at,
            last_run_at=s.last_run_at,
            consecutive_failures=s.consecutive_failures,
        )
        for s in schedules
    ]
