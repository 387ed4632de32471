"""Showing a job's progress and result in Discord, where it was asked for.

While the interaction token is valid (15 minutes) the deferred response is edited in place: private
summaries stay ephemeral. After that, a public summary goes to the channel and a private one by DM.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.utils import timezone

from guilds.models import Channel
from summaries.engine.render.discord import DiscordRendering, render_discord
from summaries.models import DeliveryMode, Digest, Schedule, Summary, SummaryJob, Visibility
from summaries.selectors import summary_result
from summaries.services.jobs import job_delivered, job_delivery_step
from summarybot.discord.client import DiscordRest
from summarybot.discord.errors import DiscordError, DiscordInteractionExpired
from summarybot.discord.pager import PagerPosition
from summarybot.errors import ExternalServiceError, NotFound, PermissionDenied

logger = logging.getLogger(__name__)

# Discord keeps interaction tokens 15 minutes; leave a margin for the request in flight.
INTERACTION_TOKEN_LIFETIME = timedelta(minutes=14, seconds=30)


def interaction_usable(asked: SummaryJob | Digest) -> bool:
    """Whether the interaction a job (or a digest) answers can still be edited or followed up."""
    return bool(asked.interaction_token and asked.application_id) and (
        timezone.now() - asked.created_at < INTERACTION_TOKEN_LIFETIME
    )


def summary_title(summary: Summary, channel_name: str | None = None) -> str:
    return f"Summary of #{channel_name}" if channel_name else "Summary"


def render_for_discord(summary: Summary, *, title: str) -> DiscordRendering:
    return render_discord(summary_result(summary=summary), title=title)


def public_target(job: SummaryJob) -> int:
    """Where a public result is posted without an interaction: its schedule's channel, else the channel itself.

    Sync (it may read the schedule): reading `job.schedule` on the event loop would be ORM in a coroutine.
    """
    if job.schedule_id is not None:
        target = Schedule.objects.filter(pk=job.schedule_id).values_list("discord_channel_id", flat=True).first()
        if target:
            return target
    return job.channel_id


def delivery_nonce(job: SummaryJob, target: str | int) -> str:
    """The nonce of the job's message to `target`: the same on every rerun, 25 characters (Discord's maximum)."""
    return hashlib.sha256(f"{job.pk}:{target}".encode()).hexdigest()[:25]


async def deliver(*, job: SummaryJob, summary: Summary) -> None:
    """Post the result once, even across a worker that died halfway and the rerun that follows.

    Before each side effect the attempt is recorded (which also checks that this worker still holds the
    job: one that lost it raises ClaimLost and posts nothing); a thread's id is stored before anything is
    posted into it and reused by a rerun; every message carries a nonce derived from the job and its target,
    so Discord answers a rerun's post with the message the first attempt made. Editing the interaction's
    response is idempotent by nature.
    """
    step = sync_to_async(job_delivery_step)
    async with DiscordRest() as rest:
        channel = await rest.history.channel_info(job.channel_id)
        title = summary_title(summary, channel.name)
        rendering = await sync_to_async(render_for_discord)(summary, title=title)
        first = rendering.pages[0]
        pager = PagerPosition(summary.pk, 0, len(rendering.pages))
        file = (rendering.attachment.filename, rendering.attachment.content.encode()) if rendering.attachment else None
        message_id: int | None = None
        pointer: str | None = None

        async def post(target: int) -> int:
            await step(job=job)
            return await rest.delivery.send_message(
                target, embeds=first, file=file, pager=pager, nonce=delivery_nonce(job, target)
            )

        async def direct_message() -> int:
            if job.requested_by_user_id is None:
                raise ExternalServiceError("A private summary needs a member to send it to.", permanent=True)
            await step(job=job)
            return await rest.delivery.send_dm(
                job.requested_by_user_id, embeds=first, file=file, pager=pager,
                nonce=delivery_nonce(job, f"dm:{job.requested_by_user_id}"),
            )

        if job.delivery_mode == DeliveryMode.THREAD:
            thread_id = job.delivery_thread_id
            if thread_id is None:
                await step(job=job)
                thread_id = await rest.delivery.create_thread(job.channel_id, name=title)
                await step(job=job, thread_id=thread_id)
            message_id = await post(thread_id)
            pointer = f"The summary is in <#{thread_id}>."
        elif job.delivery_mode == DeliveryMode.DM:
            message_id = await direct_message()
            pointer = "I sent you the summary by direct message."
        else:
            if interaction_usable(job):
                await step(job=job)
                try:
                    message_id = await rest.interactions.edit_original_response(
                        job.application_id, job.interaction_token, content="", embeds=first, file=file,
                        pager=pager,
                    )
                except DiscordInteractionExpired:
                    message_id = None
            if message_id is None:
                # Too late to answer in place: a private summary must not land in the channel.
                if job.visibility == Visibility.PRIVATE:
                    message_id = await direct_message()
                else:
                    message_id = await post(await sync_to_async(public_target)(job))
        if pointer and interaction_usable(job):
            try:
                await rest.interactions.edit_original_response(job.application_id, job.interaction_token, content=pointer, embeds=[])
            except DiscordError as exc:
                logger.info("could not point to the result", extra={"job_id": str(job.pk), "error_code": exc.code})
    await sync_to_async(job_delivered)(job=job, message_id=message_id)


async def show_progress(*, job: SummaryJob, rest: DiscordRest, detail: str, percent: int) -> None:
    if not interaction_usable(job):
        return
    filled = max(0, min(10, percent // 10))
    bar = "▰" * filled + "▱" * (10 - filled)
    try:
        await rest.interactions.edit_original_response(job.application_id, job.interaction_token, content=f"{bar} {detail}")
    except DiscordError as exc:
        # Progress is best effort; the result delivery has its own fallbacks.
        logger.info("progress edit failed", extra={"job_id": str(job.pk), "error_code": exc.code})


async def report_failure(*, job: SummaryJob, message: str) -> None:
    if not interaction_usable(job):
        return
    async with DiscordRest() as rest:
        await rest.interactions.edit_original_response(job.application_id, job.interaction_token, content=f"❌ {message}", embeds=[])


@dataclass(frozen=True, slots=True)
class SummaryPage:
    summary_id: int
    page: int  # 0-based, like the worker's page buttons
    pages: int
    embeds: list[dict[str, Any]]


def summary_page(
    *, summary_id: int, page: int, user_id: int, guild_id: int | None, message_id: int | None
) -> SummaryPage:
    """Render page `page` of a summary for `user_id`, clicked on message `message_id`; NotFound or
    PermissionDenied explain a refusal.

    Every read is bound: to the summary's server (a click in a DM: only the member it was sent to), to a
    request behind the summary (one without is nobody's to show), and to the message the summary was
    posted on, so its custom_id copied onto another message (or typed by hand) turns no page. Only the
    requester may page a private summary; anyone who sees a public (or scheduled) one may.
    """
    summary = Summary.objects.select_related("job").filter(pk=summary_id).first()
    job = summary.job if summary is not None else None
    if guild_id is None:
        shown = job is not None and job.requested_by_user_id == user_id  # a DM goes to the requester only
    else:
        shown = summary is not None and summary.guild_id == guild_id
    if summary is None or not shown:
        raise NotFound("This summary is no longer stored (old summaries are removed after a while).")
    if job is None:
        raise PermissionDenied("This summary's request is no longer stored, so its pages can't be turned; ask for a new one.")
    if job.discord_message_id is None or job.discord_message_id != message_id:
        raise PermissionDenied("These buttons don't belong to this message; use the ones under the summary itself.")
    if job.visibility == Visibility.PRIVATE and job.requested_by_user_id != user_id:
        raise PermissionDenied("Only the member who asked for this summary can turn its pages.")
    channel_name = Channel.objects.filter(pk=summary.channel_id).values_list("name", flat=True).first()
    rendering = render_for_discord(summary, title=summary_title(summary, channel_name))
    count = len(rendering.pages)
    page = max(0, min(page, count - 1))
    embeds = [dict(embed) for embed in rendering.pages[page]]
    if summary.stale and embeds:
        # Say so on every page: the points may no longer match what the channel shows.
        footer = dict(embeds[-1].get("footer") or {})
        footer["text"] = (
            f"⚠ {summary.stale_reason or 'Sources changed'} since this summary was made · {footer.get('text', '')}"[
                :2048
            ]
        )
        embeds[-1] = {**embeds[-1], "footer": footer}
    return SummaryPage(summary_id=summary.pk, page=page, pages=count, embeds=embeds)
