"""Each guild's `retention_days`, applied once a day to everything we store about its conversations.

Older than the guild's retention, deleted: summaries (their citations and deliveries with them), finished
jobs (their posted transcripts, deliveries and delivery attempts with them), digests, delivery logs that
outlived their job, Q&A reply records, catch-up positions, inbound webhook answers. Cached chunk summaries
expire at the same retention (summaries/chunk_cache.py); the expired rows of the database cache are purged
here. Kept: schedules and settings (configuration, not conversation), usage counters (tokens and cost per
day and model, nothing of anyone's). Interaction tokens are erased much earlier, by the minute sweeper, as
soon as they expire (summaries.services.interaction_tokens). Member activity counts have their own 30 days
(guilds.activity). Audit log entries are kept AUDIT_LOG_RETENTION_DAYS (365), whatever the guild's retention.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from guilds.audit import audit_prune
from guilds.models import Guild
from summaries.chunk_cache import chunk_cache_purge_expired
from summaries.models import CatchUp, Digest, JobStatus, QuestionReply, Summary, SummaryJob
from webhooks.models import Delivery, InboundEvent

logger = logging.getLogger(__name__)


def retention_apply(*, now: datetime | None = None) -> dict[str, int]:
    """Delete what is older than each guild's retention; returns the rows deleted, by model."""
    now = now or timezone.now()
    deleted: Counter[str] = Counter()
    for guild_id, days in Guild.objects.values_list("id", "retention_days").order_by("id"):
        counts = retention_apply_guild(guild_id=guild_id, cutoff=now - timedelta(days=days))
        deleted.update(counts)
        if any(counts.values()):
            logger.info("retention applied", extra={"guild_id": guild_id, "retention_days": days, **counts})
    deleted["cache entries"] += chunk_cache_purge_expired(now=now)
    # One retention for every guild's audit log, longer than their summaries' by default.
    audited = audit_prune(before=now - timedelta(days=settings.AUDIT_LOG_RETENTION_DAYS))
    if audited:
        deleted["audit entries"] += audited
        logger.info("audit log pruned", extra={"deleted": audited})
    return dict(deleted)


def retention_apply_guild(*, guild_id: int, cutoff: datetime) -> dict[str, int]:
    counts: Counter[str] = Counter()

    def delete(label: str, queryset) -> None:  # type: ignore[no-untyped-def]
        _, by_model = queryset.delete()
        for model, n in by_model.items():
            counts[model.rsplit(".", 1)[-1]] += n

    with transaction.atomic():
        delete("summaries", Summary.objects.filter(guild_id=guild_id, created_at__lt=cutoff))
        # A job still running is the sweeper's; it is deleted on a later day, once finished.
        delete("jobs", SummaryJob.objects.filter(
            guild_id=guild_id, created_at__lt=cutoff, status__in=JobStatus.finished()
        ))
        delete("digests", Digest.objects.filter(guild_id=guild_id, created_at__lt=cutoff))
        delete("deliveries", Delivery.objects.filter(destination__guild_id=guild_id, created_at__lt=cutoff))
        delete("replies", QuestionReply.objects.filter(guild_id=guild_id, created_at__lt=cutoff))
        delete("catch-ups", CatchUp.objects.filter(guild_id=guild_id, caught_up_at__lt=cutoff))
        delete("inbound", InboundEvent.objects.filter(guild_id=guild_id, created_at__lt=cutoff))
    return {model: n for model, n in counts.items() if n}
