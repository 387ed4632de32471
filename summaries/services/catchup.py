"""Catch-up: a member's private summary of what they missed in a channel, and where it left off."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from summaries.models import CatchUp, Summary, SummaryJob
from summaries.window import SummaryWindow


def catch_up_window(*, channel_id: int, user_id: int) -> SummaryWindow:
    """Since the member's last message in the channel or their last catch-up of it, whichever is later,
    reaching back at most CATCHUP_MAX_HOURS (the worker finds their last message while reading)."""
    last = (
        CatchUp.objects.filter(channel_id=channel_id, user_id=user_id).values_list("last_message_id", flat=True).first()
    )
    return SummaryWindow.catch_up(after_message_id=last, max_hours=settings.CATCHUP_MAX_HOURS)


def catch_up_record(*, job: SummaryJob, summary: Summary) -> None:
    """The member has now seen up to the summary's last message; a later catch-up starts after it.

    Only ever moves forward: an older job finishing late does not make the next catch-up repeat itself.
    """
    if job.requested_by_user_id is None or job.channel_id is None or summary.last_message_id is None:
        return
    with transaction.atomic():
        record, created = CatchUp.objects.select_for_update().get_or_create(
            channel_id=job.channel_id, user_id=job.requested_by_user_id,
            defaults={"guild_id": job.guild_id, "last_message_id": summary.last_message_id,
                      "caught_up_at": timezone.now()},
        )
        if not created and record.last_message_id < summary.last_message_id:
            record.last_message_id = summary.last_message_id
            record.caught_up_at = timezone.now()
            record.save(update_fields=["last_message_id", "caught_up_at"])
