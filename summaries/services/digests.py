"""Digests: one post with a section per channel, made from the channels' own summary jobs.

A combined schedule run and a member's multi-channel catch-up each open a Digest and ask for one normal
job per channel (every channel rule, privacy rule and budget applies to each); the jobs post nothing. When
the last of them ends, whoever ended it claims the digest (a conditional update: one claimer) and posts it:
channels with nothing new are left out, channels that failed are named in a note. Every message carries a
nonce derived from the digest, so a rerun after a crash (the sweeper resumes stalled digests) posts nothing
twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from guilds.models import Channel
from summaries.engine.render.digest import DigestSection, render_digest_discord, render_digest_markdown
from summaries.models import (
    DeliveryMode,
    Digest,
    DigestKind,
    DigestStatus,
    JobSource,
    JobStatus,
    Schedule,
    Summary,
    SummaryJob,
    Visibility,
)
from summaries.selectors import summary_result
from summaries.services.catchup import catch_up_window
from summaries.services.discord_results import interaction_usable
from summaries.services.jobs import SummaryRequest, summary_request
from summaries.services.schedule_outcomes import schedule_run_counted
from summarybot.discord.client import DiscordRest
from summarybot.discord.errors import DiscordInteractionExpired
from summarybot.errors import InvalidInput, LimitExceeded, NothingNew, SummaryBotError

logger = logging.getLogger(__name__)

# A catch-up digest covers at most this many of the member's most active channels.
CATCH_UP_CHANNELS = 5


# --- Opening ------------------------------------------------------------------------------------------


def digest_for_schedule_run(*, schedule: Schedule, slot: Any) -> Digest:
    """The digest of a combined schedule run (the same one for a repeated run of the slot)."""
    digest, _ = Digest.objects.get_or_create(
        schedule=schedule, slot=slot,
        defaults={"guild_id": schedule.guild_id, "kind": DigestKind.SCHEDULE, "post_channel_id": schedule.discord_channel_id},
    )
    return digest


def digest_channels_set(*, digest: Digest, channel_ids: Sequence[int]) -> None:
    """The channels whose jobs were made, in section order; a digest with none has failed already."""
    digest.channel_ids = list(channel_ids)
    fields = ["channel_ids", "updated_at"]
    if not channel_ids:
        digest.status, digest.error_message = DigestStatus.FAILED, "No channel of its scope could be summarized."
        fields += ["status", "error_message"]
    digest.save(update_fields=fields)


def catch_up_digest_request(
    *,
    guild_id: int,
    user_id: int,
    channel_ids: Sequence[int],
    interaction_id: int,
    application_id: int | None,
    interaction_token: str,
    format: str | None = None,
) -> Digest:
    """A member's catch-up of their most active channels (`channel_ids`: those they can read, busiest first).

    One private catch-up job per channel, each from where the member left that channel; the member's
    cooldown applies once. Channels the rules refuse are left out; if none is left, nothing is written.
    """
    existing = Digest.objects.filter(interaction_id=interaction_id).first()
    if existing is not None:
        return existing
    if not channel_ids:
        raise InvalidInput(
            "I haven't seen you write in any channel I can summarize in the last 30 days. "
            "Pick one with /catchup channel:#…"
        )
    with transaction.atomic():
        digest = Digest.objects.create(
            guild_id=guild_id, kind=DigestKind.CATCH_UP, requested_by_user_id=user_id, interaction_id=interaction_id,
            application_id=application_id, interaction_token=interaction_token,
        )
        made: list[int] = []
        for channel_id in channel_ids[:CATCH_UP_CHANNELS]:
            try:
                summary_request(request=SummaryRequest(
                    guild_id=guild_id, channel_id=channel_id, source=JobSource.SLASH_COMMAND,
                    requested_by_user_id=user_id, window=catch_up_window(channel_id=channel_id, user_id=user_id),
                    format=format, visibility=Visibility.PRIVATE, delivery_mode=DeliveryMode.HERE,
                    idempotency_key=f"catchup:{interaction_id}:{channel_id}",
                    # One request of the member's: its cooldown is checked once, its channels are not a flood.
                    enforce_cooldown=not made, enforce_concurrency=False, digest=digest,
                ))
            except LimitExceeded:
                raise
            except SummaryBotError as exc:
                logger.info("catch-up left a channel out", extra={"channel_id": channel_id, "error_code": exc.code})
                continue
            made.append(channel_id)
        if not made:
            raise InvalidInput("None of your recent channels can be summarized right now (turned off or private).")
        digest_channels_set(digest=digest, channel_ids=made)
    return digest


# --- Finishing ----------------------------------------------------------------------------------------


def digest_job_finished(*, job: SummaryJob) -> None:
    """One of the digest's jobs ended: when it was the last, claim the digest and post it."""
    if job.digest_id is None:
        return
    if SummaryJob.objects.filter(digest_id=job.digest_id).exclude(status__in=JobStatus.finished()).exists():
        return
    if _claim(Digest.objects.filter(pk=job.digest_id, status=DigestStatus.COLLECTING)):
        digest_deliver(digest_id=job.digest_id)


def digests_sweep() -> int:
    """Post the digests a crashed worker left: all jobs ended but unclaimed, or claimed and not posted since."""
    stale = timezone.now() - timedelta(seconds=settings.JOB_HEARTBEAT_STALE_SECONDS)
    resumed = 0
    collecting = Digest.objects.filter(status=DigestStatus.COLLECTING, created_at__lt=stale).exclude(
        jobs__status__in=[JobStatus.QUEUED, *JobStatus.running()]
    ).exclude(channel_ids=[])
    for digest_id in list(collecting.values_list("pk", flat=True)[:100]):
        if _claim(Digest.objects.filter(pk=digest_id, status=DigestStatus.COLLECTING)):
            digest_deliver(digest_id=digest_id)
            resumed += 1
    stalled = Digest.objects.filter(status=DigestStatus.DELIVERING, delivery_started_at__lt=stale)
    for digest_id, started in list(stalled.values_list("pk", "delivery_started_at")[:100]):
        if _claim(Digest.objects.filter(pk=digest_id, status=DigestStatus.DELIVERING, delivery_started_at=started)):
            digest_deliver(digest_id=digest_id)
            resumed += 1
    return resumed


def _claim(rows: Any) -> bool:
    return rows.update(status=DigestStatus.DELIVERING, delivery_started_at=timezone.now()) == 1


def digest_deliver(*, digest_id: int) -> str:
    """Assemble and post a claimed digest; record how it ended (and count its schedule's run)."""
    digest = Digest.objects.select_related("schedule").get(pk=digest_id)
    sections, notes = _sections(digest)
    title = _title(digest)
    digest.markdown = render_digest_markdown(title, sections, notes) if sections else ""
    failure: str | None = None
    try:
        if not sections:
            status = DigestStatus.EMPTY
            if digest.kind == DigestKind.CATCH_UP:
                text = "You're all caught up: nothing new in your channels since your last message or catch-up."
                if notes:
                    text += "\n" + "\n".join(notes)
                asyncio.run(_tell_member(digest, text))
        else:
            pages = render_digest_discord(title, sections, notes)
            digest.discord_message_id = asyncio.run(_post(digest, pages))
            digest.delivered_at = timezone.now()
            status = DigestStatus.DELIVERED
    except SummaryBotError as exc:
        status, failure = DigestStatus.FAILED, exc.message
        digest.error_message = f"The digest was made but could not be posted: {exc.message}"
        logger.warning("digest not posted", extra={"digest_id": digest.pk, "error_code": exc.code})
    digest.status = status
    digest.save(update_fields=["markdown", "status", "error_message", "discord_message_id", "delivered_at", "updated_at"])
    if digest.schedule_id is not None and digest.slot is not None:
        schedule_run_counted(schedule_id=digest.schedule_id, slot=digest.slot, failure=failure)
    return str(status)


def _title(digest: Digest) -> str:
    if digest.kind == DigestKind.CATCH_UP:
        return "What you missed"
    name = digest.schedule.name if digest.schedule is not None else "Digest"
    return f"{name} · {digest.slot:%Y-%m-%d %H:%M} UTC" if digest.slot else name


def _sections(digest: Digest) -> tuple[list[DigestSection], list[str]]:
    jobs = {job.channel_id: job for job in SummaryJob.objects.filter(digest=digest)}
    summaries = {summary.job_id: summary for summary in Summary.objects.filter(job__digest=digest)}
    names = dict(Channel.objects.filter(pk__in=digest.channel_ids).values_list("pk", "name"))
    sections: list[DigestSection] = []
    notes: list[str] = []
    for channel_id in digest.channel_ids:
        job = jobs.get(channel_id)
        if job is None:
            continue
        summary = summaries.get(job.pk)
        if job.status == JobStatus.DONE and summary is not None:
            sections.append(DigestSection(heading=f"#{names.get(channel_id, channel_id)}", result=summary_result(summary=summary)))
        elif job.status == JobStatus.FAILED and job.error_code not in (NothingNew.code,):
            notes.append(f"<#{channel_id}> was left out: {job.error_message or job.error_code}")
        # Done without a summary: a quiet channel, skipped like one with nothing new.
    if digest.kind == DigestKind.CATCH_UP:
        # What was said to the member first, in whichever channel.
        sections.sort(key=lambda section: not section.result.section("for_you"))
    return sections, notes


def _nonce(digest: Digest, page: int) -> str:
    return hashlib.sha256(f"digest:{digest.pk}:{page}".encode()).hexdigest()[:25]


async def _post(digest: Digest, pages: list[list[dict[str, Any]]]) -> int | None:
    async with DiscordRest() as rest:
        if digest.kind == DigestKind.SCHEDULE:
            if not digest.post_channel_id:
                raise InvalidInput("The schedule has no channel to post its digest in.")
            first = None
            for page, embeds in enumerate(pages):
                message_id = await rest.delivery.send_message(digest.post_channel_id, embeds=embeds, nonce=_nonce(digest, page))
                first = first or message_id
            return first
        return await _post_privately(rest, digest, pages)


async def _post_privately(rest: DiscordRest, digest: Digest, pages: list[list[dict[str, Any]]]) -> int | None:
    """A catch-up answers the member where they asked (ephemeral), or by DM once that answer expired."""
    if interaction_usable(digest):
        try:
            first = await rest.interactions.edit_original_response(
                digest.application_id, digest.interaction_token, content="", embeds=pages[0]
            )
            for embeds in pages[1:]:
                await rest.interactions.interaction_followup(
                    digest.application_id, digest.interaction_token, embeds=embeds, ephemeral=True
                )
            return first
        except DiscordInteractionExpired:
            pass
    if digest.requested_by_user_id is None:
        raise InvalidInput("A private digest needs a member to send it to.")
    first = None
    for page, embeds in enumerate(pages):
        message_id = await rest.delivery.send_dm(digest.requested_by_user_id, embeds=embeds, nonce=_nonce(digest, page))
        first = first or message_id
    return first


async def _tell_member(digest: Digest, text: str) -> None:
    if not interaction_usable(digest):
        return
    async with DiscordRest() as rest:
        await rest.interactions.edit_original_response(digest.application_id, digest.interaction_token, content=text, embeds=[])
