"""How a schedule's runs end: counting them, pausing a schedule that keeps failing, telling the guild.

Shared by the per-channel runs (summaries/services/schedule_runs.py counts a run when its last job ends)
and the combined ones (summaries/services/digests.py counts a run when its digest is posted or not).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from summaries.models import Schedule
from summaries.schedule_times import describe
from summaries.selectors import schedule_timing
from summaries.services.schedules import schedule_materialize
from summarybot.discord.client import DiscordRest

logger = logging.getLogger(__name__)


def schedule_run_counted(*, schedule_id: int, slot: datetime, failure: str | None) -> None:
    """Count the run of `slot`: a failure adds one, a success resets; each run counts once, and a run
    older than one already counted is ignored. Pauses the schedule at the limit and tells the guild."""
    not_counted = Q(last_outcome_at__isnull=True) | Q(last_outcome_at__lt=slot)
    with transaction.atomic():
        if failure is None:
            Schedule.objects.filter(not_counted, pk=schedule_id).update(last_outcome_at=slot, consecutive_failures=0)
            return
        counted = Schedule.objects.filter(not_counted, pk=schedule_id).update(
            last_outcome_at=slot, consecutive_failures=F("consecutive_failures") + 1
        )
        schedule = Schedule.objects.select_related("guild").filter(pk=schedule_id).first()
        limit = settings.SCHEDULE_MAX_CONSECUTIVE_FAILURES
        if not counted or schedule is None or not schedule.enabled or schedule.consecutive_failures < limit:
            return
        reason = f"Paused after {schedule.consecutive_failures} failed runs in a row. Last: {failure}"
        if not Schedule.objects.filter(pk=schedule_id, enabled=True).update(
            enabled=False, paused_reason=reason[:200], next_run_at=None
        ):
            return
        schedule.enabled, schedule.paused_reason, schedule.next_run_at = False, reason[:200], None
        schedule_materialize(schedule=schedule)
        logger.warning("schedule paused after failures", extra={"schedule_id": schedule_id})
        notice = (
            f"⏸️ The schedule **{schedule.name}** ({describe(schedule_timing(schedule))}) is paused: its last "
            f"{schedule.consecutive_failures} runs failed. The last error: {failure}\n"
            "Fix the cause, then resume it with `/schedule resume` (or the API)."
        )
        transaction.on_commit(lambda: tell_guild(
            channel_id=schedule.guild.log_channel_id, text=notice, nonce_seed=f"paused:{schedule_id}:{slot.isoformat()}"
        ))


def tell_guild(*, channel_id: int | None, text: str, nonce_seed: str) -> bool:
    """Post an admin notice in the guild's log channel; best effort (the schedule row says it too).

    The nonce makes a repeated notice (a retried task) one message. Returns whether it was posted.
    """
    if not channel_id:
        return False
    nonce = hashlib.sha256(nonce_seed.encode()).hexdigest()[:25]

    async def post() -> None:
        async with DiscordRest() as rest:
            await rest.delivery.send_message(channel_id, content=text[:2000], nonce=nonce)

    try:
        asyncio.run(post())
    except Exception:  # noqa: BLE001  telling is best effort: the pause itself is recorded
        logger.warning("could not post an admin notice", extra={"channel_id": channel_id}, exc_info=True)
        return False
    return True
