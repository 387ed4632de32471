"""Running one summary job in the worker: fetch → summarize → store → deliver, exactly once.

The worker is sync (django-q2); the network work runs in one `asyncio.run` per phase with its clients
created and closed inside it. ORM work never happens on the event loop: progress goes through
`sync_to_async`, storing happens after the loop has finished.

A job whose worker dies is claimed again (stale heartbeat) and resumes: a stored Summary is not
recomputed, a delivered result is not posted twice. While a worker runs a job, a lease thread keeps its
heartbeat fresh through every step (login, fetch, LLM calls, delivery), so no second worker takes a job
that is merely slow; every write is conditional on the claim token, so a worker that did lose the job
stops quietly. LLM usage is recorded call by call, so a killed attempt's spend is counted too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import socket
import threading
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from guilds.models import Guild
from summaries.chunk_cache import DjangoChunkCache, chunk_timeout
from summaries.engine.costs import cost_usd
from summaries.engine.estimate import Estimate
from summaries.engine.pipeline import summarize
from summaries.engine.posted import chat_messages
from summaries.engine.types import CallUsage, ChatMessage, SummaryResult
from summaries.models import DeliveryMode, JobSource, JobStatus, Schedule, Summary, SummaryJob, WindowKind
from summaries.selectors import last_summary_in_channel, posted_messages
from summaries.services import discord_results
from summaries.services.catchup import catch_up_record
from summaries.services.digests import digest_job_finished
from summaries.services.engine_setup import engine_setup
from summaries.services.jobs import (
    ClaimLost,
    job_claim,
    job_fail,
    job_finish,
    job_progress,
    jobs_unstarted,
)
from summaries.services.open_items import open_items_carry, open_items_record, open_items_settle
from summaries.services.schedule_runs import schedule_job_finished, schedule_job_options
from summaries.services.store import summary_store
from summaries.services.usage import budget_check, usage_record
from summaries.window import HistoryQuery, SummaryWindow
from summarybot.discord.client import DiscordRest
from summarybot.discord.errors import DiscordMissingAccess
from summarybot.errors import InvalidInput, NothingNew, PermissionDenied, SummaryBotError
from summarybot.logs import log_context
from webhooks.models import DeliveryEvent
from webhooks.services.deliveries import deliveries_create

logger = logging.getLogger(__name__)

# How often a running job writes its heartbeat and progress (DB, dashboard, Discord).
PROGRESS_INTERVAL = 1.5
# Job progress bands: fetching, then summarizing, then delivering.
FETCH_BAND = (0, 30)
SUMMARIZE_BAND = (30, 90)


@dataclass
class _Progress:
    """Written by sync callbacks on the loop, flushed by one coroutine: no ORM on the event loop."""

    status: str = JobStatus.FETCHING
    percent: int = 0
    detail: str = "Fetching messages…"
    version: int = 0
    flushed: int = -1

    def set(self, *, status: str, percent: int, detail: str) -> None:
        self.status, self.percent, self.detail = status, percent, detail
        self.version += 1


class _QuietWindow(Exception):  # noqa: N818  an outcome, not an error
    """A scheduled job's window has fewer members' messages than its schedule's min_messages: skip it."""

    def __init__(self, count: int, minimum: int, messages: list[ChatMessage]) -> None:
        super().__init__(f"{count} < {minimum}")
        self.count, self.minimum, self.messages = count, minimum, messages


@dataclass(frozen=True)
class _Fetched:
    messages: list[ChatMessage]
    channel_name: str
    window_capped: bool
    posted: bool = False


def job_run(*, job_id: Any) -> str:
    """The task body. Returns a short outcome for django-q2's task log; never raises.

    Whatever breaks, inside the job's own code or around it (the claim, the database, the cache), the job
    ends in a state its requester sees, with a readable reason; an exception escaping to django-q2 would
    leave the job queued or running with nobody told. Every log record of the run carries the job's id.
    """
    with log_context(job_id=job_id):
        return _run(job_id)


def _run(job_id: Any) -> str:
    try:
        job = job_claim(job_id=job_id, worker=_WORKER, on_give_up=_gave_up)
    except Exception as exc:  # noqa: BLE001  the task wrapper's last line, see above
        logger.exception("could not claim a summary job", extra={"job_id": str(job_id)})
        job = _job_or_none(job_id)
        return _fail(job, **_crash_reason(exc)) if job is not None else "failed: could not read the job"
    if job is None:
        return "skipped: finished or held by another worker"
    with _Lease(job), log_context(guild_id=job.guild_id):
        try:
            return _run_claimed(job)
        except ClaimLost:
            # Another worker claimed the job (ours looked dead): it finishes and posts; we write nothing.
            logger.warning("lost the claim on a summary job; stopping", extra={"job_id": str(job.pk)})
            return "skipped: claim lost to another worker"


def _run_claimed(job: SummaryJob) -> str:
    try:
        summary = Summary.objects.filter(job=job).first()
        if summary is None:
            try:
                summary = _produce(job)
            except _QuietWindow as quiet:
                open_items_settle(job=job, messages=quiet.messages)  # a "done" on a quiet day still counts
                job_finish(job=job, detail=(
                    f"Skipped: {quiet.count} message{'s' if quiet.count != 1 else ''} in the window, "
                    f"fewer than the schedule's minimum of {quiet.minimum}"
                ))
                _publish_sync(job)
                _schedule_outcome(job)
                return "done: skipped, quiet"
        detail = f"Summarized {summary.message_count} messages"
        # A digest's job posts nothing: its digest posts every channel's summary together.
        if job.delivery_mode != DeliveryMode.NONE and job.digest_id is None and job.delivered_at is None:
            if not job_progress(job=job, status=JobStatus.DELIVERING, progress=92, detail="Posting the summary…"):
                raise ClaimLost(str(job.pk))
            try:
                asyncio.run(discord_results.deliver(job=job, summary=summary))
            except SummaryBotError as exc:
                # The summary is stored (API, dashboard, a retry can post it): the job is partial, not failed.
                job_finish(job=job, status=JobStatus.PARTIAL, detail=detail, error_code=exc.code,
                           error_message=f"The summary was made but could not be posted: {exc.message}")
                _publish_sync(job)
                _schedule_outcome(job)
                _announce(job, DeliveryEvent.SUMMARY_COMPLETED)
                return f"partial: {exc.code}"
        if job.window_kind == WindowKind.CATCH_UP:
            catch_up_record(job=job, summary=summary)
        job_finish(job=job, detail=detail)
        _publish_sync(job)
        _schedule_outcome(job)
        _announce(job, DeliveryEvent.SUMMARY_COMPLETED)
        return "done"
    except SummaryBotError as exc:
        return _fail(job, code=exc.code, message=exc.message)
    except ClaimLost:
        raise
    except Exception as exc:  # noqa: BLE001  the task wrapper's last line: record, tell, never leave a job running
        logger.exception("summary job crashed", extra={"job_id": str(job.pk)})
        return _fail(job, **_crash_reason(exc))


# Who claimed a job, for the log: host and process.
_WORKER = f"{socket.gethostname()}:{os.getpid()}"


class _Lease:
    """Keeps this worker's claim alive for the whole job, from a thread of its own.

    One Discord call can take 120 s plus rate-limit waits, a login as long, an LLM call minutes: a heartbeat
    written only between steps lets the job look dead while it runs, and a second worker take it. The
    thread beats every quarter of the stale window until the job's code returns, whatever it waits on.
    """

    def __init__(self, job: SummaryJob) -> None:
        # Only the id and the claim token are read: the job object itself stays the runner's.
        self._job = SummaryJob(pk=job.pk, claim_token=job.claim_token)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{job.pk}", daemon=True)

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _beat(self) -> None:
        interval = settings.JOB_HEARTBEAT_STALE_SECONDS / 4
        try:
            while not self._stop.wait(interval):
                try:
                    if not job_progress(job=self._job):
                        return  # finished, or claimed by another worker: the runner's next write says so
                except Exception:  # noqa: BLE001  a database hiccup: the next beat tries again
                    logger.warning("job heartbeat failed", extra={"job_id": str(self._job.pk)}, exc_info=True)
        finally:
            connection.close()


def jobs_fail_unstarted() -> int:
    """Fail the queued jobs that no worker started within JOB_START_DEADLINE_SECONDS, and tell their requesters.

    Their task was lost, or every worker is stuck: either way the member is told instead of waiting on
    "thinking…" forever. A worker that takes the task later finds the job finished and does nothing.
    """
    failed = 0
    for job in jobs_unstarted():
        minutes = max(1, settings.JOB_START_DEADLINE_SECONDS // 60)
        _fail(job, code="not_started", message=(
            f"No worker started this summary within {minutes} minutes, so it was cancelled. "
            "The operators were told; please try again later."
        ))
        failed += 1
    if failed:
        logger.error("failed summary jobs that no worker started", extra={"count": failed})
    return failed


# What a member reads when the job broke for a reason outside it; the log has the traceback.
_INFRASTRUCTURE_MESSAGE = (
    "The summary service could not reach its database or cache, so this summary was not made. "
    "The operators were told; please try again in a few minutes."
)
_INTERNAL_MESSAGE = "Something went wrong on our side, so this summary was not made; the operators were told."


def _is_infrastructure(exc: BaseException) -> bool:
    # The database cache raises DatabaseError too; Redis' errors derive from ConnectionError or RedisError.
    return isinstance(exc, DatabaseError | ConnectionError | TimeoutError) or type(exc).__module__.startswith("redis.")


def _crash_reason(exc: BaseException) -> dict[str, str]:
    if _is_infrastructure(exc):
        return {"code": "service_unavailable", "message": _INFRASTRUCTURE_MESSAGE}
    return {"code": "internal_error", "message": _INTERNAL_MESSAGE}


def _job_or_none(job_id: Any) -> SummaryJob | None:
    try:
        return SummaryJob.objects.filter(pk=job_id).first()
    except Exception:  # noqa: BLE001  already on the failure path; the log says why
        logger.exception("could not read a summary job to fail it", extra={"job_id": str(job_id)})
        return None


def _fail(job: SummaryJob, *, code: str, message: str) -> str:
    """Mark the job failed and tell its requester. Each step is guarded: this is the path taken when
    something is already broken, and a second failure must not hide the first."""
    try:
        job_fail(job=job, code=code, message=message)
    except Exception:  # noqa: BLE001  the sweeper hands the job on once the database answers again
        logger.exception("could not record a job failure", extra={"job_id": str(job.pk), "error_code": code})
        return f"failed: {code} (not recorded)"
    if job.status != JobStatus.FAILED or job.error_code != code[:64]:
        return f"skipped: already {job.status}"
    try:
        _publish_sync(job)
    except Exception:  # noqa: BLE001  live progress is a nicety
        logger.warning("could not publish a job failure", extra={"job_id": str(job.pk)}, exc_info=True)
    _tell_requester(job)
    _schedule_outcome(job)
    _announce(job, DeliveryEvent.SUMMARY_FAILED)
    return f"failed: {code}"


def _gave_up(job: SummaryJob) -> None:
    """job_claim failed a job whose workers kept dying: tell its requester, count its schedule's run."""
    try:
        _publish_sync(job)  # a job page following it over its websocket ends too
    except Exception:  # noqa: BLE001  live progress is a nicety
        logger.warning("could not publish a job failure", extra={"job_id": str(job.pk)}, exc_info=True)
    _tell_requester(job)
    _schedule_outcome(job)
    _announce(job, DeliveryEvent.SUMMARY_FAILED)


def _schedule_outcome(job: SummaryJob) -> None:
    """A job ended: a digest's last job posts the digest; a scheduled run is counted once all its jobs ended."""
    if job.digest_id is not None:
        try:
            digest_job_finished(job=job)
        except Exception:  # noqa: BLE001  the job's outcome is recorded; the sweeper posts a digest left behind
            logger.exception("could not post a digest", extra={"job_id": str(job.pk), "digest_id": job.digest_id})
        return
    if job.schedule_id is None:
        return
    try:
        schedule_job_finished(job=job)
    except Exception:  # noqa: BLE001  the job's own outcome is recorded; a missed count only delays a pause
        logger.exception("could not count a schedule run", extra={"job_id": str(job.pk), "schedule_id": job.schedule_id})


def _announce(job: SummaryJob, event: str) -> None:
    """Queue the event for the guild's destinations (webhooks, …). Idempotent: a rerun queues nothing new.
    Never fails the job: the summary is stored either way, and the API serves it."""
    try:
        deliveries_create(job=job, event=event)
    except Exception:  # noqa: BLE001  the job's own outcome is already recorded; the log has the traceback
        logger.exception("could not queue the job's deliveries", extra={"job_id": str(job.pk), "event": event})


def _tell_requester(job: SummaryJob) -> None:
    try:
        asyncio.run(discord_results.report_failure(job=job, message=job.error_message))
    except SummaryBotError as exc:
        logger.info("could not tell the requester about a failure", extra={"job_id": str(job.pk), "error_code": exc.code})
    except Exception:  # noqa: BLE001  telling is best effort; the job row already says what happened
        logger.exception("could not tell the requester about a failure", extra={"job_id": str(job.pk)})


def _produce(job: SummaryJob) -> Summary:
    guild = job.guild
    provider, options = engine_setup(
        guild=guild, channel_id=job.channel_id, format=job.format, language=job.language, source=job.source
    )
    if job.window_kind == WindowKind.CATCH_UP:
        options = dataclasses.replace(options, for_member_id=job.requested_by_user_id)
    options = schedule_job_options(job=job, options=options)  # a week reuses its days' chunk summaries
    posted = _posted(job)
    after_id = _since_last_summary(job) if posted is None else None
    progress = _Progress()
    result, fetched = asyncio.run(
        _fetch_and_summarize(job, guild, provider, options, after_id, progress, posted, _quiet_below(job))
    )
    if posted is not None:
        # The engine numbered the posted messages itself; nothing it cites lives on Discord, so no jump links.
        result = dataclasses.replace(result, channel_id=None, message_channels={})
    # A scheduled run: its earlier runs' action items and questions this window left open, as "Still open".
    result, carried = open_items_carry(job=job, result=result, messages=fetched.messages)
    with transaction.atomic():
        summary = _store(job, result, fetched)
        open_items_record(job=job, summary=summary, result=result, messages=fetched.messages, carried=carried)
    return summary


def _posted(job: SummaryJob) -> _Fetched | None:
    """An integration's posted messages, as if fetched; None for a job that reads a channel."""
    if job.channel_id is not None:
        return None
    posted = posted_messages(job=job)
    if not posted:
        raise InvalidInput("The posted messages of this summary are gone (erased once summarized); post them again.")
    return _Fetched(
        messages=chat_messages(posted, guild_id=job.guild_id), channel_name="", window_capped=False, posted=True
    )


def _record_call(*, job: SummaryJob, provider_name: str, model: str, call: CallUsage, options: Any) -> None:
    """One LLM call's spend, on the guild's meter at once: a job killed after it still counted it."""
    usage_record(
        guild_id=job.guild_id, provider=provider_name, model=model, prompt_tokens=call.prompt_tokens,
        completion_tokens=call.completion_tokens, llm_calls=1, summaries=0,
        cost_usd=(cost_usd(call.prompt_tokens, call.completion_tokens, model, options.prices)
                  or cost_usd(call.prompt_tokens, call.completion_tokens, options.model, options.prices))
        * call.price_factor,  # a batched call is billed at the batch price
    )


def _quiet_below(job: SummaryJob) -> int:
    """A scheduled job is skipped below its schedule's min_messages; any other job summarizes what there is."""
    if job.source != JobSource.SCHEDULE or job.schedule_id is None:
        return 0
    return Schedule.objects.filter(pk=job.schedule_id).values_list("min_messages", flat=True).first() or 0


def _since_last_summary(job: SummaryJob) -> int | None:
    """The last message the channel's previous summary covered, for a window that starts after it."""
    if not SummaryWindow.from_job(job).needs_previous_summary:
        return None
    last = last_summary_in_channel(guild_id=job.guild_id, channel_id=job.channel_id, exclude_job=job)
    return last.last_message_id if last is not None else None


async def _fetch_and_summarize(
    job: SummaryJob, guild: Guild, provider: Any, options: Any, after_id: int | None, progress: _Progress,
    posted: _Fetched | None,
    quiet_below: int = 0,
) -> tuple[SummaryResult, _Fetched]:
    stop = asyncio.Event()
    async with AsyncExitStack() as stack:
        # Posted messages need no Discord at all: an API-only deployment has no bot token.
        rest = None if posted is not None else await stack.enter_async_context(DiscordRest())
        work = asyncio.current_task()
        assert work is not None
        flusher = asyncio.create_task(_flush_progress(job, progress, stop, rest, work))
        try:
            if posted is not None:
                fetched = posted
            else:
                assert rest is not None
                fetched = await _fetch(job, rest, after_id, progress, quiet_below)

            async def check_budget(planned: Estimate) -> None:
                # On the plan summarize() will run: one preparation per job, and the budget sees its cost.
                await sync_to_async(budget_check)(
                    guild=guild, estimated_tokens=planned.prompt_tokens + planned.max_completion_tokens,
                    estimated_cost_usd=planned.cost_usd,
                )

            def on_progress(stage: str, done: int, total: int) -> None:
                low, high = SUMMARIZE_BAND
                share = done / total if total else 0
                detail = {
                    "preparing": "Preparing the conversation…",
                    "summarizing": f"Summarizing part {min(done + 1, total)} of {total}…" if total > 1 else "Summarizing…",
                    "reducing": "Combining the parts…",
                }.get(stage, "Summarizing…")
                progress.set(status=JobStatus.SUMMARIZING, percent=low + int((high - low) * share), detail=detail)

            async def on_call(call: CallUsage, model: str) -> None:
                await sync_to_async(_record_call)(
                    job=job, provider_name=getattr(provider, "name", "llm"), model=model, call=call, options=options
                )

            progress.set(status=JobStatus.SUMMARIZING, percent=SUMMARIZE_BAND[0], detail="Summarizing…")
            result = await summarize(
                fetched.messages, options, provider=provider, on_progress=on_progress,
                # Per guild, kept as long as its retention: findable and bounded (summaries/chunk_cache.py).
                cache=DjangoChunkCache(guild_id=guild.pk, timeout=chunk_timeout(guild.retention_days)),
                preflight=check_budget, on_call=on_call,
            )
        except asyncio.CancelledError:
            if flusher.done() and flusher.result() is False:
                raise ClaimLost(str(job.pk)) from None
            raise
        finally:
            stop.set()
            if not flusher.done():
                await flusher
            # Closed however the job ends, a refused or quiet fetch included.
            if provider is not None:
                await provider.aclose()
    return result, fetched


async def _fetch(
    job: SummaryJob, rest: DiscordRest, previous_summary_last_id: int | None, progress: _Progress,
    quiet_below: int = 0,
) -> _Fetched:
    channel = await rest.history.channel_info(job.channel_id)
    if channel.guild_id != job.guild_id:
        # Whatever let the id in (a crafted request, a stale mirror), one server's job never reads another's channel.
        raise PermissionDenied(f"Channel {job.channel_id} is not in this server; nothing was read from it.")
    missing = await rest.access.bot_missing_permissions(job.channel_id)
    if missing:
        raise DiscordMissingAccess(missing=missing, channel_id=job.channel_id)

    cap = settings.SUMMARY_MAX_WINDOW_MESSAGES
    fetched_so_far = 0

    def on_page(count: int) -> None:
        nonlocal fetched_so_far
        fetched_so_far = count
        low, high = FETCH_BAND
        progress.set(status=JobStatus.FETCHING, percent=low + min(high - low, count * (high - low) // max(cap, 1) + 1),
                     detail=f"Fetched {count:,} messages…")

    query = SummaryWindow.from_job(job).history(
        asked_at=job.created_at, asked_at_id=job.interaction_id, previous_summary_last_id=previous_summary_last_id
    )
    if query.to_requesters_last_message:
        messages = await _since_member_last_message(job, rest, query, on_page)
    else:
        messages = await rest.history.fetch_history(
            job.channel_id, limit=query.limit, after_id=query.after_id, before_id=query.before_id,
            since=query.since, until=query.until, on_page=on_page,
        )
    if query.after_requesters_last_message:
        messages = _after_last_message_of(job.requested_by_user_id, messages)
        if not messages:
            raise NothingNew(f"You're all caught up: nothing new in #{channel.name} since your last message or catch-up.")
    # Members' messages only: the schedule's own earlier posts and join notices don't make a channel busy.
    said = sum(1 for message in messages if not message.author.bot and message.kind != "system")
    if said < quiet_below:
        raise _QuietWindow(said, quiet_below, messages)
    if not messages:
        raise InvalidInput("There are no messages to summarize in that window.")
    capped = query.capped(len(messages))
    return _Fetched(messages=messages, channel_name=channel.name, window_capped=capped)


def _after_last_message_of(user_id: int | None, messages: list[ChatMessage]) -> list[ChatMessage]:
    for position in range(len(messages) - 1, -1, -1):
        if messages[position].author.id == user_id:
            return messages[position + 1:]
    return messages


async def _since_member_last_message(
    job: SummaryJob, rest: DiscordRest, query: HistoryQuery, on_page: Any
) -> list[ChatMessage]:
    """Walk back page by page until the member's own last message; keep what came after it."""
    collected: list[ChatMessage] = []
    before_id = query.before_id
    while len(collected) < query.limit:
        page = await rest.history.fetch_history(job.channel_id, limit=100, before_id=before_id)
        if not page:
            break
        for position in range(len(page) - 1, -1, -1):
            if page[position].author.id == job.requested_by_user_id:
                return page[position + 1:] + collected
        collected = page + collected
        on_page(len(collected))
        before_id = page[0].id
    if not collected:
        return []
    raise InvalidInput(
        f"You have not written in this channel within the last {len(collected):,} messages; "
        "pick a number of messages or hours instead."
    )


async def _flush_progress(
    job: SummaryJob, progress: _Progress, stop: asyncio.Event, rest: DiscordRest | None, work: asyncio.Task[Any]
) -> bool:
    """Heartbeat + progress, every PROGRESS_INTERVAL: the job row, the dashboard group, the Discord response.

    Returns False, after cancelling `work`, as soon as this worker no longer holds the job.
    """
    last_discord_edit = 0.0
    while True:
        try:
            await asyncio.wait_for(stop.wait(), timeout=PROGRESS_INTERVAL)
        except TimeoutError:
            pass
        changed = progress.version != progress.flushed
        held = await sync_to_async(job_progress)(
            job=job,
            status=progress.status if changed else None,
            progress=progress.percent if changed else None,
            detail=progress.detail if changed else None,
        )
        if not held:
            work.cancel()  # another worker has the job: stop fetching and spending on it
            return False
        if changed:
            progress.flushed = progress.version
            await _publish(job.pk, status=progress.status, percent=progress.percent, detail=progress.detail)
            # Discord edits share a rate limit with the result: at most one every 3 s.
            if rest is not None and time.monotonic() - last_discord_edit >= 3:
                last_discord_edit = time.monotonic()
                await discord_results.show_progress(job=job, rest=rest, detail=progress.detail, percent=progress.percent)
        if stop.is_set():
            return True


async def _publish(job_id: Any, *, status: str, percent: int, detail: str) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(
            f"job.{job_id}", {"type": "job.progress", "job_id": str(job_id), "status": status, "progress": percent,
                              "detail": detail},
        )
    except Exception as exc:  # noqa: BLE001  live progress is a nicety: a dead Redis must not fail the job
        logger.warning("progress publish failed", extra={"job_id": str(job_id), "error": type(exc).__name__})


def _publish_sync(job: SummaryJob) -> None:
    job.refresh_from_db(fields=["status", "progress", "progress_detail", "error_code"])
    asyncio.run(_publish(job.pk, status=job.status, percent=job.progress, detail=job.progress_detail or job.error_code))


def _store(job: SummaryJob, result: SummaryResult, fetched: _Fetched) -> Summary:
    return summary_store(
        guild_id=job.guild_id, channel_id=job.channel_id, result=result, messages=fetched.messages,
        title="Summary of the posted messages" if fetched.posted else f"Summary of #{fetched.channel_name}",
        job=job, window_capped=fetched.window_capped, calls_recorded=True,
    )
