"""Open items carried forward: a schedule's run lists its earlier runs' unresolved action items and open
questions of the same channel under "Still open", each linking to where it was raised.

An item is an OpenItem row from the first summary that listed it on (a later summary listing it again adds
nothing); each run of the schedule in that channel settles the open ones against the messages it fetched
(the rules are summaries/engine/carry.py), shows those left, and records the items of its own summary.
Items raised more than SCHEDULE_OPEN_ITEMS_DAYS before the run are dropped silently; at most
SCHEDULE_OPEN_ITEMS_MAX (the most recent) are shown. A resolved item is never carried again.

Only what a run fetched counts: a message sent while no run's window covered it (a lookback shorter than
the schedule's period) resolves nothing, and a reaction counts only in the run that fetched the item's
own message.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from summaries.engine import carry as rules
from summaries.engine.normalize import exclusion_reason
from summaries.engine.options import SummaryOptions
from summaries.engine.types import ChatMessage, SummaryResult
from summaries.models import JobSource, OpenItem, Summary, SummaryJob
from summaries.selectors import opted_out_user_ids

logger = logging.getLogger(__name__)


def open_items_carry(
    *, job: SummaryJob, result: SummaryResult, messages: Sequence[ChatMessage]
) -> tuple[SummaryResult, rules.Carry | None]:
    """A scheduled job's result with its schedule's earlier open items of this channel that `messages` left
    open, as "Still open" (the SCHEDULE_OPEN_ITEMS_MAX most recent); and the settlement to record once the
    summary is stored. Any other job: the result as it is, and None."""
    carried = _settle(job, messages)
    if carried is None:
        return result, None
    shown = carried.still_open[-settings.SCHEDULE_OPEN_ITEMS_MAX:] if settings.SCHEDULE_OPEN_ITEMS_MAX else []
    return rules.with_still_open(result, shown), carried


def open_items_settle(*, job: SummaryJob, messages: Sequence[ChatMessage]) -> None:
    """A scheduled run too quiet to summarize still settles its earlier items: a "done" said on a quiet day
    counts (the next run's window starts after it)."""
    carried = _settle(job, messages)
    if carried is not None and carried.resolved:
        _mark_resolved(carried)


def _settle(job: SummaryJob, messages: Sequence[ChatMessage]) -> rules.Carry | None:
    """The schedule's items of this channel still open, raised within the horizon before the run's end,
    settled against the run's messages (all of them: those not shown are settled too)."""
    if job.source != JobSource.SCHEDULE or job.schedule_id is None or job.channel_id is None:
        return None
    end = job.until or timezone.now()
    rows = OpenItem.objects.filter(
        schedule_id=job.schedule_id, channel_id=job.channel_id, resolved_at__isnull=True,
        raised_at__gte=end - timedelta(days=settings.SCHEDULE_OPEN_ITEMS_DAYS), raised_at__lt=end,
    ).order_by("raised_at", "pk")
    earlier = [
        rules.OpenItem(
            section=row.section, text=row.text, message_id=row.message_id, channel_id=row.message_channel_id,
            owner=row.owner or None, owner_id=row.owner_id, raised_by_id=row.raised_by_id, raised_at=row.raised_at,
            key=row.pk,
        )
        for row in rows
    ]
    return rules.resolve(earlier, _counted(job, messages))


def _counted(job: SummaryJob, messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """The messages that may settle an item: those a summary may read (not of a member who opted out, not
    starting with the opt-out marker, no bot's or system message)."""
    rules_of_summaries = SummaryOptions(
        opt_out_marker=job.guild.opt_out_marker, opted_out_user_ids=opted_out_user_ids(guild_id=job.guild_id)
    )
    return [message for message in messages if exclusion_reason(message, rules_of_summaries) is None]


def _mark_resolved(carried: rules.Carry) -> None:
    for resolution in carried.resolved:
        OpenItem.objects.filter(pk=resolution.item.key, resolved_at__isnull=True).update(
            resolved_at=resolution.at, resolved_by_message_id=resolution.message_id, resolution=resolution.how,
            updated_at=timezone.now(),
        )


def open_items_record(
    *, job: SummaryJob, summary: Summary, result: SummaryResult, messages: Sequence[ChatMessage],
    carried: rules.Carry | None,
) -> None:
    """After a scheduled job's summary is stored: mark the earlier items its window resolved, and keep the
    action items and open questions of its own summary (those the same window already resolved, resolved)."""
    if carried is None or job.schedule_id is None or job.channel_id is None:
        return
    raised = rules.items_raised(result, messages)
    fresh = rules.resolve(raised, _counted(job, messages))
    with transaction.atomic():
        _mark_resolved(carried)
        settled = {(r.item.section, r.item.message_id): r for r in fresh.resolved}
        # One row per section and message: two points raised in one message are carried as the first.
        first = {(item.section, item.message_id): item for item in reversed(raised)}
        OpenItem.objects.bulk_create(
            [_row(job, summary, item, settled.get(key)) for key, item in reversed(first.items())],
            ignore_conflicts=True,  # listed by an earlier summary: that row stands, open or resolved
        )
    logger.info(
        "open items settled",
        extra={"job_id": str(job.pk), "schedule_id": job.schedule_id, "resolved": len(carried.resolved),
               "still_open": len(carried.still_open), "raised": len(raised)},
    )


def _row(job: SummaryJob, summary: Summary, item: rules.OpenItem, resolution: rules.Resolution | None) -> OpenItem:
    return OpenItem(
        schedule_id=job.schedule_id, channel_id=job.channel_id, message_id=item.message_id,
        message_channel_id=item.channel_id, section=item.section, text=item.text, owner=(item.owner or "")[:100],
        owner_id=item.owner_id, raised_by_id=item.raised_by_id, raised_at=item.raised_at or summary.window_end,
        summary=summary,
        resolved_at=resolution.at if resolution else None,
        resolved_by_message_id=resolution.message_id if resolution else None,
        resolution=resolution.how if resolution else "",
    )
