"""Summary jobs: the one way every front door asks for a summary, and the job's state transitions."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from guilds.models import Channel, ChannelKind, Guild
from guilds.selectors import guild_get
from guilds.services import ChannelData, channel_sync
from summaries.engine.posted import PostedMessage, external_ids
from summaries.models import (
    DeliveryMode,
    Digest,
    JobSource,
    JobStatus,
    PostedTranscript,
    Schedule,
    SummaryJob,
    Visibility,
)
from summaries.services.usage import budget_check
from summaries.window import SummaryWindow
from summarybot import metrics
from summarybot.errors import IdempotencyKeyReused, InvalidInput, LimitExceeded, NotFound, PermissionDenied
from webhooks.models import ApiKey

logger = logging.getLogger(__name__)



def heartbeat_stale_after() -> timedelta:
    """A worker that has not touched its job for this long is presumed dead; the sweeper hands the job on."""
    return timedelta(seconds=settings.JOB_HEARTBEAT_STALE_SECONDS)


class ClaimLost(Exception):  # noqa: N818  a signal to stop quietly, not an error to report
    """This worker no longer holds the job (another one claimed it): stop, write nothing, post nothing."""


@dataclass(frozen=True)
class SummaryRequest:
    guild_id: int
    # None with `posted`: an integration's own messages instead of a channel.
    channel_id: int | None
    source: str
    requested_by_user_id: int | None = None
    api_key: ApiKey | None = None
    schedule: Schedule | None = None
    window: SummaryWindow = field(default_factory=SummaryWindow.count)
    format: str | None = None
    language: str | None = None
    visibility: str = Visibility.PRIVATE
    delivery_mode: str = DeliveryMode.HERE
    idempotency_key: str | None = None
    interaction_id: int | None = None
    application_id: int | None = None
    interaction_token: str = ""
    # Front doors that already checked per-member cooldowns (or have none, like schedules) skip it.
    enforce_cooldown: bool = True
    # A schedule's jobs wait in the worker queue instead of being refused by the guild's concurrency limit:
    # a digest of ten channels is ten jobs made at once, and nobody is there to try again later.
    enforce_concurrency: bool = True
    # Where a public result is shown when that is not the summarized channel (the command's channel).
    reply_channel_id: int | None = None
    # What the front door just saw of the channel on Discord: mirrored first when the mirror lacks it.
    channel_seen: ChannelData | None = None
    posted: tuple[PostedMessage, ...] | None = None
    # Part of a digest: the digest posts the result with the other channels', the job posts nothing.
    digest: Digest | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def request_fingerprint(request: SummaryRequest) -> str:
    """What the request asks for, as a digest: two requests with one idempotency key must match on it."""
    asked = {
        "channel_id": request.channel_id,
        "source": request.source,
        "window": {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in request.window.as_job_fields().items()},
        "format": request.format or "",
        "language": request.language or "",
        "visibility": request.visibility,
        "delivery_mode": request.delivery_mode,
    }
    if request.posted is not None:
        asked["posted"] = [message.to_dict() for message in request.posted]
    return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()


def _existing_job(request: SummaryRequest) -> SummaryJob | None:
    if request.interaction_id is not None:
        job = SummaryJob.objects.filter(interaction_id=request.interaction_id).first()
        if job is not None:
            return job
    if request.idempotency_key:
        job = SummaryJob.objects.filter(guild_id=request.guild_id, idempotency_key=request.idempotency_key).first()
        if job is not None and job.request_fingerprint and job.request_fingerprint != request_fingerprint(request):
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used for a different request; use a new key for a new request.",
                details={"summary_id": str(job.pk)},
            )
        return job
    return None


def _check_source(guild: Guild, request: SummaryRequest) -> Channel | None:
    """What is summarized, checked: the channel's row, or None for an integration's posted messages."""
    if request.posted is None:
        if request.channel_id is None:
            raise InvalidInput("Name a channel (channel_id) or post the messages to summarize.")
        return _check_channel(guild, request.channel_id, request.channel_seen)
    if request.channel_id is not None:
        raise InvalidInput("Give a channel or posted messages, not both.")
    if request.source not in (JobSource.API, JobSource.WEBHOOK):
        raise InvalidInput("Only an integration (the REST API or an inbound webhook) can post messages to summarize.")
    if not request.posted:
        raise InvalidInput("There are no messages to summarize.")
    if len(request.posted) > settings.SUMMARY_MAX_WINDOW_MESSAGES:
        raise InvalidInput(f"At most {settings.SUMMARY_MAX_WINDOW_MESSAGES:,} messages can be posted in one request.")
    return None


def _posted_store(job: SummaryJob, posted: tuple[PostedMessage, ...]) -> None:
    PostedTranscript.objects.create(
        job=job, messages=[message.to_dict() for message in posted], message_ids=external_ids(posted)
    )


def _check_channel(guild: Guild, channel_id: int, seen: ChannelData | None = None) -> Channel:
    """The channel's row, once every channel rule holds for it; fails closed on a channel it does not know.

    A channel missing from the mirror (an archived thread, one created while the bot was offline) is
    mirrored first from `seen`, what the front door just saw of it on Discord; without that it is refused.
    A thread follows its channel: a thread of a disabled or locked-and-not-allowed channel is refused.
    """
    channel = Channel.objects.filter(pk=channel_id).first()
    if channel is None and seen is not None and seen.id == channel_id:
        channel = channel_sync(guild_id=guild.id, channel=seen)
    if channel is None:
        raise NotFound(
            f"I don't know channel {channel_id} yet (a channel made while I was offline, or an old thread). "
            "Ask from inside it, or pick it with the channel option."
        )
    if channel.guild_id != guild.id:
        # Same answer as an unknown channel: a guild's caller learns nothing about another guild.
        raise NotFound(f"Channel {channel_id} is not in this server.")
    if channel.deleted_at is not None:
        raise NotFound(f"Channel {channel_id} was deleted.")
    if not channel.enabled:
        raise PermissionDenied(f"Summaries are turned off in #{channel.name}. A server admin can enable them.")
    parent = _thread_parent(guild, channel)
    if parent is not None:
        if not parent.enabled:
            raise PermissionDenied(
                f"Summaries are turned off in #{parent.name}, and so in its threads. A server admin can enable them."
            )
        if parent.is_locked and not parent.allow_when_locked:
            raise PermissionDenied(
                f"#{parent.name} is private (@everyone cannot see it), so summaries are off there and in its "
                "threads unless a server admin enables them for it."
            )
    # A public thread is exactly as locked as its channel (checked above); a private thread is locked itself.
    locked_itself = channel.kind == ChannelKind.PRIVATE_THREAD or not channel.is_thread
    if locked_itself and channel.is_locked and not channel.allow_when_locked:
        raise PermissionDenied(
            f"#{channel.name} is private (@everyone cannot see it), so summaries are off there unless a server "
            "admin enables them for it."
        )
    return channel


def _thread_parent(guild: Guild, channel: Channel) -> Channel | None:
    """A thread's channel (None for a channel that is no thread); NotFound when it is not mirrored."""
    if not channel.is_thread:
        return None
    parent = (
        Channel.objects.filter(pk=channel.parent_id, guild=guild, deleted_at__isnull=True).first()
        if channel.parent_id
        else None
    )
    if parent is None:
        raise NotFound(f"I don't know the channel thread #{channel.name} belongs to, so I can't check its settings.")
    return parent


def _open_to_everyone(guild: Guild, channel: Channel) -> bool:
    """Whether @everyone can read the channel (a thread: a public one in a channel @everyone can read)."""
    if channel.is_locked or channel.kind == ChannelKind.PRIVATE_THREAD:
        return False
    parent = _thread_parent(guild, channel)
    return parent is None or not parent.is_locked


def _check_audience(guild: Guild, channel: Channel, request: SummaryRequest) -> None:
    """A public result is shown only where everyone who sees it can read its source.

    Posted in the summarized channel itself (or in a new thread of it) it reaches that channel's readers;
    posted anywhere else it is allowed only for a channel @everyone can read.
    """
    if request.visibility != Visibility.PUBLIC or request.delivery_mode != DeliveryMode.HERE:
        return
    shown_in = request.reply_channel_id
    if request.schedule is not None and request.schedule.discord_channel_id:
        shown_in = request.schedule.discord_channel_id
    if shown_in is None or shown_in == channel.id or _open_to_everyone(guild, channel):
        return
    raise PermissionDenied(
        f"Not everyone who can see <#{shown_in}> can read #{channel.name}, so I won't post its summary there. "
        f"Ask for it with visibility \"only me\", or ask in #{channel.name} itself."
    )


def _check_limits(guild: Guild, request: SummaryRequest) -> None:
    now = timezone.now()
    if request.enforce_cooldown and request.requested_by_user_id is not None and guild.member_cooldown_seconds:
        last = (
            SummaryJob.objects.filter(guild=guild, requested_by_user_id=request.requested_by_user_id)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        if last is not None:
            wait = guild.member_cooldown_seconds - (now - last).total_seconds()
            if wait > 0:
                raise LimitExceeded(
                    f"You can ask for another summary in {int(wait) + 1} s.", retry_after=wait, details={"cooldown": True}
                )
    running = SummaryJob.objects.filter(
        guild=guild, status__in=[JobStatus.QUEUED, *JobStatus.running()], created_at__gte=now - timedelta(hours=1)
    ).count() if request.enforce_concurrency else 0
    if request.enforce_concurrency and running >= guild.max_concurrent_jobs:
        raise LimitExceeded(
            f"This server already has {running} summaries in progress (limit {guild.max_concurrent_jobs}). "
            "Try again in a minute.",
            retry_after=30,
        )
    budget_check(guild=guild)


def summary_request(*, request: SummaryRequest) -> tuple[SummaryJob, bool]:
    """Create (or find, for a repeated interaction or idempotency key) the job; enqueue it after commit.

    Returns (job, created). Raises a SummaryBotError explaining any refusal; a refusal writes nothing.
    """
    existing = _existing_job(request)
    if existing is not None:
        return existing, False

    guild = guild_get(guild_id=request.guild_id)
    channel = _check_source(guild, request)
    request.window.check_requester(request.requested_by_user_id)
    _check_limits(guild, request)

    if request.visibility not in Visibility.values:
        raise InvalidInput(f"visibility must be one of: {', '.join(Visibility.values)}.")
    if request.delivery_mode not in DeliveryMode.values:
        raise InvalidInput(f"delivery must be one of: {', '.join(DeliveryMode.values)}.")
    if request.source not in JobSource.values:
        raise InvalidInput(f"Unknown source {request.source!r}.")
    if channel is not None:
        _check_audience(guild, channel, request)

    job = SummaryJob(
        guild=guild,
        channel_id=request.channel_id,
        source=request.source,
        requested_by_user_id=request.requested_by_user_id,
        api_key=request.api_key,
        schedule=request.schedule,
        format=request.format or (channel and channel.format_override) or guild.default_format,
        language=request.language or (channel and channel.language_override) or guild.default_language,
        visibility=request.visibility,
        delivery_mode=request.delivery_mode,
        idempotency_key=request.idempotency_key or None,
        request_fingerprint=request_fingerprint(request) if request.idempotency_key else "",
        interaction_id=request.interaction_id,
        application_id=request.application_id,
        interaction_token=request.interaction_token,
        digest=request.digest,
        **request.window.as_job_fields(),
    )
    try:
        # Not the foreign keys (the guild was just read, the key authenticated, the schedule is the caller's
        # row) nor uniqueness (a repeat is answered by the IntegrityError branch below): three queries a
        # request that the database's own constraints make redundant.
        job.full_clean(exclude=["guild", "api_key", "schedule"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput("The summary request is not valid.", details=exc.message_dict) from None

    try:
        with transaction.atomic():
            job.save()
            if request.posted is not None:
                _posted_store(job, request.posted)
            transaction.on_commit(lambda: enqueue_job(job_id=job.pk))
    except IntegrityError:
        # Two deliveries of the same interaction or key raced: the other one won, use its job.
        existing = _existing_job(request)
        if existing is None:
            raise
        return existing, False
    logger.info("summary job created", extra={"job_id": str(job.pk), "guild_id": guild.id, "source": job.source})
    return job, True


def integration_summary_request(
    *,
    guild_id: int,
    source: str,
    channel_id: int | None,
    window: SummaryWindow,
    format: str | None,
    language: str | None,
    posted: Sequence[PostedMessage] | None = None,
    api_key: ApiKey | None = None,
    idempotency_key: str | None = None,
) -> tuple[SummaryJob, bool]:
    """A summary asked for by an integration (REST API, inbound webhook): private, read back over the API
    (or delivered to destinations), never posted to Discord, and with no member cooldown to apply.

    `posted`, instead of a channel: messages that are not on Discord (a Notion page's comments, a chat log).
    """
    return summary_request(
        request=SummaryRequest(
            guild_id=guild_id,
            channel_id=channel_id,
            posted=tuple(posted) if posted is not None else None,
            source=source,
            api_key=api_key,
            window=window,
            format=format,
            language=language,
            visibility=Visibility.PRIVATE,
            delivery_mode=DeliveryMode.NONE,
            idempotency_key=idempotency_key,
            enforce_cooldown=False,
        )
    )


def enqueue_job(*, job_id: Any) -> None:
    from django_q.tasks import async_task

    async_task("summaries.tasks.run_summary_job", str(job_id), task_name=f"summary-{job_id}", group="summaries")


def job_retry(*, job: SummaryJob) -> SummaryJob:
    """A new job linked to a failed one, same request; the failed job stays as the record of what happened."""
    if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.PARTIAL):
        raise InvalidInput(f"Only failed, partial or cancelled jobs can be retried; this one is {job.status}.")
    retry = SummaryJob(
        guild_id=job.guild_id,
        channel_id=job.channel_id,
        source=job.source,
        requested_by_user_id=job.requested_by_user_id,
        api_key=job.api_key,
        schedule=job.schedule,
        **SummaryWindow.from_job(job).as_job_fields(),
        format=job.format,
        language=job.language,
        visibility=job.visibility,
        delivery_mode=job.delivery_mode,
        application_id=job.application_id,
        interaction_token=job.interaction_token,
        parent=job,
    )
    posted = PostedTranscript.objects.filter(job=job).first()
    if posted is not None and not posted.messages:
        raise InvalidInput("The posted messages of this summary were erased once it was made; post them again.")
    with transaction.atomic():
        retry.save()
        if posted is not None:
            PostedTranscript.objects.create(job=retry, messages=posted.messages, message_ids=posted.message_ids)
        transaction.on_commit(lambda: enqueue_job(job_id=retry.pk))
    logger.info("summary job retried", extra={"job_id": str(retry.pk), "parent_id": str(job.pk)})
    return retry


def job_claim(
    *, job_id: Any, worker: str = "", on_give_up: Callable[[SummaryJob], None] | None = None
) -> SummaryJob | None:
    """Take the job for this worker: a queued job, or a running one whose worker stopped beating.

    Returns None when someone else holds it or it has finished: a redelivered task then does nothing.
    A job already tried JOB_MAX_ATTEMPTS times (its workers kept dying) is failed instead, and
    `on_give_up` is called with it so that its requester can be told.
    """
    now = timezone.now()
    stale = now - heartbeat_stale_after()
    claimable = Q(status=JobStatus.QUEUED) | (Q(status__in=JobStatus.running()) & (Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True)))
    job = SummaryJob.objects.filter(pk=job_id).filter(claimable).first()
    if job is None:
        return None
    if job.attempts >= settings.JOB_MAX_ATTEMPTS:
        job_fail(
            job=job, code="worker_lost",
            message=f"The summary was interrupted {job.attempts} times by a worker failure; giving up. "
            "The operators were told; please try again later.",
        )
        if on_give_up is not None and job.status == JobStatus.FAILED and job.error_code == "worker_lost":
            on_give_up(job)
        return None
    token = uuid.uuid4()
    # The claim token changes hands with the same conditional update: two workers can never both hold it.
    changed = SummaryJob.objects.filter(
        pk=job.pk, status=job.status, attempts=job.attempts, claim_token=job.claim_token
    ).update(
        status=JobStatus.FETCHING if job.status == JobStatus.QUEUED else job.status,
        attempts=job.attempts + 1,
        heartbeat_at=now,
        started_at=job.started_at or now,
        claim_token=token,
    )
    if changed != 1:
        return None
    job.refresh_from_db()
    logger.info("summary job claimed", extra={"job_id": str(job.pk), "worker": worker, "attempt": job.attempts})
    return job


def _held(job: SummaryJob) -> Any:
    """The job's row while `job` (as this worker read or claimed it) still holds it and it is not finished.

    Every write after the claim goes through this filter: a worker whose claim was taken over updates no
    row, and learns so from the count.
    """
    return SummaryJob.objects.filter(pk=job.pk, claim_token=job.claim_token).exclude(status__in=JobStatus.finished())


def _refresh_keeping_claim(job: SummaryJob) -> None:
    """Re-read the job but keep the token this worker holds: adopting another worker's token would let
    this worker's next write pass."""
    token = job.claim_token
    job.refresh_from_db()
    job.claim_token = token


def job_progress(
    *, job: SummaryJob, status: str | None = None, progress: int | None = None, detail: str | None = None
) -> bool:
    """Record progress (and that the worker is alive); never moves a finished job.

    Returns False when this worker no longer holds the job (finished, or claimed by another worker).
    """
    fields: dict[str, Any] = {"heartbeat_at": timezone.now()}
    if status is not None:
        fields["status"] = status
    if progress is not None:
        fields["progress"] = max(0, min(100, progress))
    if detail is not None:
        fields["progress_detail"] = detail[:200]
    return _held(job).update(**fields) == 1


def job_delivery_step(*, job: SummaryJob, thread_id: int | None = None) -> None:
    """Record, before a delivery side effect, that it is about to happen (and the thread made for it).

    Raises ClaimLost when this worker no longer holds the job: it must not post.
    """
    now = timezone.now()
    fields: dict[str, Any] = {"heartbeat_at": now}
    if job.delivery_started_at is None:
        fields["delivery_started_at"] = now
    if thread_id is not None:
        fields["delivery_thread_id"] = thread_id
    if _held(job).update(**fields) != 1:
        raise ClaimLost(str(job.pk))
    job.delivery_started_at = job.delivery_started_at or now
    if thread_id is not None:
        job.delivery_thread_id = thread_id


def job_delivered(*, job: SummaryJob, message_id: int | None) -> None:
    """The result is posted (`message_id`: where); a rerun of the job will not post it again."""
    now = timezone.now()
    if _held(job).update(delivered_at=now, discord_message_id=message_id, heartbeat_at=now) != 1:
        raise ClaimLost(str(job.pk))
    job.delivered_at, job.discord_message_id = now, message_id


def job_finish(
    *, job: SummaryJob, status: str = JobStatus.DONE, detail: str = "", error_code: str = "", error_message: str = ""
) -> None:
    """Done, or partial: the summary exists but a delivery failed (the error says which)."""
    now = timezone.now()
    changed = _held(job).update(
        status=status, progress=100, progress_detail=detail[:200], finished_at=now, heartbeat_at=now,
        error_code=error_code[:64], error_message=error_message,
    )
    _refresh_keeping_claim(job)
    if changed:
        _count_ended(job, status=status, now=now)


def job_fail(*, job: SummaryJob, code: str, message: str) -> None:
    """Fail the job, if `job` still holds it (a worker that lost its claim fails nothing)."""
    now = timezone.now()
    changed = _held(job).update(
        status=JobStatus.FAILED, error_code=code[:64], error_message=message, finished_at=now, heartbeat_at=now
    )
    _refresh_keeping_claim(job)
    if changed:
        logger.warning("summary job failed", extra={"job_id": str(job.pk), "error_code": code})
        _count_ended(job, status=JobStatus.FAILED, now=now)


def _count_ended(job: SummaryJob, *, status: str, now: datetime) -> None:
    """summary_requests_total and summary_processing_seconds: once per job, by the write that ended it."""
    started = job.started_at
    metrics.summary_job_ended(
        source=job.source, status=status, seconds=(now - started).total_seconds() if started else None
    )


def jobs_unstarted() -> list[SummaryJob]:
    """Queued jobs that no worker has claimed within JOB_START_DEADLINE_SECONDS of being asked for."""
    deadline = timezone.now() - timedelta(seconds=settings.JOB_START_DEADLINE_SECONDS)
    return list(SummaryJob.objects.filter(status=JobStatus.QUEUED, created_at__lt=deadline).order_by("created_at")[:500])


def jobs_sweep_stalled() -> int:
    """Re-enqueue running jobs whose worker died (no heartbeat), and queued jobs whose task was lost with
    a worker; returns how many were handed on.

    A job is re-enqueued at most once per stale window: while the task enqueued last time may still be
    waiting for a worker, a second one would only make two workers race for the claim.
    """
    now = timezone.now()
    stale = now - heartbeat_stale_after()
    stalled = list(
        SummaryJob.objects.filter(status__in=JobStatus.running(), heartbeat_at__lt=stale)
        .filter(Q(requeued_at__isnull=True) | Q(requeued_at__lt=stale))
        .values_list("pk", "requeued_at")
    )
    handed_on = 0
    for job_id, requeued_at in stalled:
        # Conditional, like a claim: two sweepers running at once enqueue the job once.
        if SummaryJob.objects.filter(pk=job_id, requeued_at=requeued_at).update(requeued_at=now) == 1:
            enqueue_job(job_id=job_id)
            handed_on += 1
    handed_on += _requeue_lost_tasks(now=now, stale=stale)
    if handed_on:
        logger.warning("re-enqueued stalled jobs", extra={"count": handed_on})
    return handed_on


def _requeue_lost_tasks(*, now: datetime, stale: datetime) -> int:
    """Enqueue again the queued jobs whose task left the queue without a worker claiming the job.

    A killed worker loses the tasks it had taken off the queue and not yet started: Redis hands a task over
    once (no acknowledgement, no redelivery), and the ORM broker brings it back only after Q_TIMEOUT + 60 s,
    past JOB_START_DEADLINE_SECONDS. The queue cannot be searched for one job's task, so it is counted:
    while it holds as many tasks as there are queued jobs, none is presumed lost. Otherwise the oldest of
    those waiting longer than the stale window are enqueued again, each at most once per window; a copy
    whose original was only waiting in a live worker finds the job claimed or finished and does nothing.
    """
    from django_q.brokers import get_broker

    waiting = SummaryJob.objects.filter(status=JobStatus.QUEUED)
    queued = waiting.count()
    if not queued:
        return 0
    missing = queued - (get_broker().queue_size() or 0)
    if missing <= 0:
        return 0
    lost = list(
        waiting.filter(created_at__lt=stale)
        .filter(Q(requeued_at__isnull=True) | Q(requeued_at__lt=stale))
        .order_by("created_at")
        .values_list("pk", "requeued_at")[:missing]
    )
    handed_on = 0
    for job_id, requeued_at in lost:
        if SummaryJob.objects.filter(
            pk=job_id, status=JobStatus.QUEUED, requeued_at=requeued_at
        ).update(requeued_at=now) == 1:
            enqueue_job(job_id=job_id)
            handed_on += 1
    return handed_on
