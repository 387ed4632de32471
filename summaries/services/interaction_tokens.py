"""Interaction tokens are kept only while they can be used.

A slash command's token lets the worker answer the member for Discord's 15 minutes, and is a credential
for that long. Once its job has finished and the token has expired it is of no use to us and of none to
keep, so the sweeper erases it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from summaries.models import Digest, JobStatus, SummaryJob
from summaries.services.discord_results import INTERACTION_TOKEN_LIFETIME

logger = logging.getLogger(__name__)


def interaction_tokens_clear_expired(*, now: datetime | None = None) -> int:
    """Erase the interaction token of every finished job whose token can no longer be used; returns how many."""
    cutoff = (now or timezone.now()) - INTERACTION_TOKEN_LIFETIME
    cleared = (
        SummaryJob.objects.filter(status__in=JobStatus.finished(), created_at__lt=cutoff)
        .exclude(interaction_token="")
        .update(interaction_token="")
    )
    cleared += Digest.objects.filter(created_at__lt=cutoff).exclude(interaction_token="").update(interaction_token="")
    if cleared:
        logger.info("expired interaction tokens erased", extra={"count": cleared})
    return cleared
