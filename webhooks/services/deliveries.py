"""Deliveries: each event of a summary job sent to each destination that wants it, at least once, logged.

- `deliveries_create` is called by the worker once a job has finished (its summary stored, or failed). It
  makes one Delivery per enabled destination subscribed to the event; a unique constraint on (job,
  destination, event) makes a rerun of the job create nothing new. Each delivery is a django-q2 task.
- `delivery_attempt` claims a due delivery with one conditional UPDATE (two workers never send the same
  one at once), writes the attempt row before the request goes out, sends through the destination's
  transport, and records the outcome only while it still holds the claim: a delivery succeeds once.
- Failures follow the schedule below (Svix's): a permanent error (a 4xx other than 408/409/425/429, a
  refused URL) ends the delivery as failed; after the last attempt it is dead. A Retry-After on 429/503
  is honoured when longer than the schedule's wait. A destination with nothing but failures for five days
  is disabled and its guild told.
- `deliveries_sweep` runs every minute: it queues due retries, queues again the deliveries whose task was
  lost with a worker (after DELIVERY_REQUEUE_SECONDS), and takes back deliveries whose worker died
  mid-attempt (the receiver may have got that one: it sees the same webhook-id again). A task queued twice
  never sends twice: each attempt starts with the claim, and a claimed delivery is not due.
- `delivery_replay` sends a delivery again: same payload, same webhook-id, a new run of the schedule.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from summaries.models import JobStatus, Summary, SummaryJob
from summaries.selectors import api_summaries
from summarybot import metrics
from summarybot.errors import Conflict, SummaryBotError
from webhooks.models import Delivery, DeliveryAttempt, DeliveryEvent, DeliveryStatus, WebhookDestination
from webhooks.payloads import OutboundMessage, summary_event_data
from webhooks.services.destinations import destination_disable
from webhooks.transports import transport_for

logger = logging.getLogger(__name__)

# Wait before attempt n (1-based): immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
SCHEDULE: tuple[float, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
# Waits this short are slept by the task that just failed instead of waiting for the sweeper's next minute.
INLINE_RETRY_SECONDS = 10.0
# A claim older than this belongs to a worker that died: an attempt lasts at most ~30 s over HTTP, a few
# minutes through Discord's rate limits.
CLAIM_STALE = timedelta(minutes=10)
# A queued task that never ran is queued again after this whatever the queue's length says (the backstop
# of _lost_deliveries' count, which other tasks in the queue can hide a lost one from).
REQUEUE_AFTER = timedelta(minutes=10)
DISABLE_AFTER = timedelta(days=5)
RESPONSE_BODY_LOGGED = 2000
SWEEP_BATCH = 500


class DestinationDisabled(SummaryBotError):
    code = "destination_disabled"


class DeliveryCrashed(SummaryBotError):
    code = "internal_error"
    permanent = False


def webhook_id_for(*, job_id: object, destination_id: int, event: str) -> str:
    """Stable per (summary, destination, event): every retry and replay carries the same one."""
    return "msg_" + hashlib.sha256(f"{job_id}:{destination_id}:{event}".encode()).hexdigest()[:32]


def _enqueue(delivery_id: int) -> None:
    from django_q.tasks import async_task

    async_task("webhooks.tasks.send_delivery", delivery_id, task_name=f"delivery-{delivery_id}", group="deliveries")


def _enqueue_on_commit(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        transaction.on_commit(lambda delivery_id=delivery_id: _enqueue(delivery_id))


def deliveries_create(*, job: SummaryJob, event: str) -> list[Delivery]:
    """One delivery of `event` per enabled destination of the job's guild that subscribes to it; a job of a
    schedule that names destinations goes to those of them only.

    Only for summaries the guild's integrations may read (api_summaries' rule): a member's private summary
    never leaves for a guild webhook.
    """
    if not api_summaries(guild_id=job.guild_id).filter(pk=job.pk).exists():
        return []
    summary = Summary.objects.filter(job=job).first() if event == DeliveryEvent.SUMMARY_COMPLETED else None
    candidates = WebhookDestination.objects.filter(guild_id=job.guild_id, enabled=True)
    if job.schedule_id is not None:
        named = WebhookDestination.objects.filter(schedules__pk=job.schedule_id).values_list("pk", flat=True)
        if named.exists():
            candidates = candidates.filter(pk__in=named)
    destinations = [d for d in candidates.order_by("pk") if event in (d.events or [])]
    created: list[Delivery] = []
    now = timezone.now()
    with transaction.atomic():
        for destination in destinations:
            delivery, new = Delivery.objects.get_or_create(
                job=job, destination=destination, event=event,
                defaults={
                    "summary": summary, "next_attempt_at": now, "queued_at": now,
                    "message_id": webhook_id_for(job_id=job.pk, destination_id=destination.pk, event=event),
                    "max_attempts": len(SCHEDULE),
                },
            )
            if new:
                created.append(delivery)
        _enqueue_on_commit([d.pk for d in created])
    if created:
        logger.info("deliveries created", extra={"job_id": str(job.pk), "event": event, "count": len(created)})
    return created


@dataclass(frozen=True)
class AttemptOutcome:
    status: str  # the delivery's status after the attempt, or "skipped"
    retry_in: float | None = None  # seconds until the next attempt, when one is scheduled

    def __str__(self) -> str:
        return self.status if self.retry_in is None else f"{self.status} (next in {self.retry_in:.0f} s)"


SKIPPED = AttemptOutcome("skipped")


def _claim(delivery_id: int, now: datetime) -> tuple[Delivery, DeliveryAttempt] | None:
    token = uuid.uuid4()
    with transaction.atomic():
        claimed = Delivery.objects.filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
            pk=delivery_id, status__in=DeliveryStatus.due(), attempt_count__lt=F("max_attempts"),
        ).update(
            status=DeliveryStatus.IN_PROGRESS, claim_token=token, claimed_at=now, attempt_count=F("attempt_count") + 1,
        )
        if not claimed:
            return None
        delivery = Delivery.objects.select_related("destination", "job", "summary").get(pk=delivery_id)
        # Written before the request goes out: a worker killed mid-send leaves an attempt that says so.
        attempt = DeliveryAttempt.objects.create(delivery=delivery, number=delivery.attempt_count, started_at=now)
    return delivery, attempt


def outbound_message(delivery: Delivery) -> OutboundMessage:
    return OutboundMessage(
        webhook_id=delivery.message_id, event=delivery.event, timestamp=delivery.created_at,
        data=summary_event_data(job=delivery.job, summary=delivery.summary),
        job=delivery.job, summary=delivery.summary,
    )


def delivery_attempt(*, delivery_id: int) -> AttemptOutcome:
    """One attempt, if the delivery is due and nobody else holds it."""
    now = timezone.now()
    claim = _claim(delivery_id, now)
    if claim is None:
        return SKIPPED
    delivery, attempt = claim
    destination = delivery.destination
    if not destination.enabled:
        disabled = DestinationDisabled(f"The destination is disabled ({destination.disabled_reason or 'by an admin'}).")
        return _record_failure(delivery, attempt, disabled, latency_ms=0, count_against_destination=False)
    started = time.monotonic()
    try:
        receipt = transport_for(destination).deliver(outbound_message(delivery))
    except SummaryBotError as exc:
        return _record_failure(delivery, attempt, exc, latency_ms=_ms(started))
    except Exception as exc:  # noqa: BLE001  a bug of ours: logged with its traceback, and retried like an outage
        logger.exception("delivery attempt crashed", extra={"delivery_id": delivery.pk})
        return _record_failure(delivery, attempt, DeliveryCrashed(f"Internal error ({type(exc).__name__})."),
                               latency_ms=_ms(started))
    return _record_success(delivery, attempt, receipt.status_code, receipt.body, latency_ms=_ms(started))


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _held(delivery: Delivery) -> Q:
    return Q(pk=delivery.pk, status=DeliveryStatus.IN_PROGRESS, claim_token=delivery.claim_token)


def _record_success(
    delivery: Delivery, attempt: DeliveryAttempt, status_code: int | None, body: str, *, latency_ms: int
) -> AttemptOutcome:
    now = timezone.now()
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=now, succeeded=True, status_code=status_code, latency_ms=latency_ms,
            response_body=body[:RESPONSE_BODY_LOGGED],
        )
        held = Delivery.objects.filter(_held(delivery)).update(
            status=DeliveryStatus.SUCCEEDED, delivered_at=now, response_code=status_code, error="",
            next_attempt_at=None, claim_token=None,
        )
        WebhookDestination.objects.filter(pk=delivery.destination_id).update(consecutive_failures=0, failing_since=None)
    if not held:
        logger.warning("delivery sent after its claim was taken back", extra={"delivery_id": delivery.pk})
        return SKIPPED
    logger.info("delivery succeeded", extra={"delivery_id": delivery.pk, "attempt": attempt.number})
    metrics.delivery_attempted(kind=delivery.destination.kind, result=DeliveryStatus.SUCCEEDED)
    return AttemptOutcome(DeliveryStatus.SUCCEEDED)


def next_wait(delivery: Delivery, retry_after: float | None) -> float | None:
    """Seconds before the next attempt, or None when this was the last one."""
    done = delivery.attempt_count - delivery.run_offset
    if delivery.attempt_count >= delivery.max_attempts or done >= len(SCHEDULE):
        return None
    wait = SCHEDULE[done]
    return max(wait, retry_after) if retry_after else wait


def _record_failure(
    delivery: Delivery, attempt: DeliveryAttempt, exc: SummaryBotError, *, latency_ms: int,
    count_against_destination: bool = True,
) -> AttemptOutcome:
    now = timezone.now()
    wait = None if exc.permanent else next_wait(delivery, getattr(exc, "retry_after", None))
    if wait is not None:
        status = DeliveryStatus.RETRYING
    else:
        status = DeliveryStatus.FAILED if exc.permanent else DeliveryStatus.DEAD
    status_code = getattr(exc, "status_code", None)
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=now, succeeded=False, status_code=status_code, latency_ms=latency_ms,
            response_body=str(getattr(exc, "body", ""))[:RESPONSE_BODY_LOGGED], error_code=exc.code[:64],
            error=exc.message[:1000],
        )
        held = Delivery.objects.filter(_held(delivery)).update(
            status=status, response_code=status_code, error=f"{exc.code}: {exc.message}"[:1000], claim_token=None,
            next_attempt_at=now + timedelta(seconds=wait) if wait is not None else None, queued_at=None,
        )
    if not held:
        return SKIPPED
    metrics.delivery_attempted(kind=delivery.destination.kind, result=status)
    logger.info(
        "delivery attempt failed",
        extra={"delivery_id": delivery.pk, "attempt": attempt.number, "error_code": exc.code, "status": status},
    )
    if getattr(exc, "unsubscribes", False):
        # A REST hook's target said 410 Gone (Zapier: the Zap is off): unsubscribed, not failing. Disabled
        # rather than deleted so this delivery's log stays; DELETE /api/v1/hooks/{id} removes it for good.
        destination_disable(destination=delivery.destination, reason=f"Unsubscribed: {exc.message}")
    elif count_against_destination:
        _destination_failed(delivery.destination, now)
    return AttemptOutcome(status, retry_in=wait)


def _destination_failed(destination: WebhookDestination, now: datetime) -> None:
    WebhookDestination.objects.filter(pk=destination.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    WebhookDestination.objects.filter(pk=destination.pk, failing_since__isnull=True).update(failing_since=now)
    destination.refresh_from_db(fields=["failing_since", "enabled", "consecutive_failures"])
    if destination.enabled and destination.failing_since is not None and now - destination.failing_since >= DISABLE_AFTER:
        reason = f"Every delivery failed for {DISABLE_AFTER.days} days (since {destination.failing_since:%Y-%m-%d %H:%M} UTC)."
        if destination_disable(destination=destination, reason=reason):
            _tell_guild(destination, reason)


def _tell_guild(destination: WebhookDestination, reason: str) -> None:
    """Say so in the guild's log channel when it has one (Guild.log_channel_id, from another change);
    without it the warning in our log and the destination's disabled_reason are what an admin sees."""
    channel_id = getattr(destination.guild, "log_channel_id", None)
    logger.warning(
        "destination disabled after failing for days",
        extra={"guild_id": destination.guild_id, "destination_id": destination.pk, "log_channel_id": channel_id},
    )
    if not channel_id:
        return
    import asyncio

    from summarybot.discord.client import DiscordRest

    async def post() -> None:
        async with DiscordRest() as rest:
            await rest.delivery.send_message(
                channel_id, content=f"⚠ Summary destination **{destination.name}** was disabled: {reason} "
                "Fix the receiver, then enable it again.",
            )

    try:
        asyncio.run(post())
    except SummaryBotError as exc:
        logger.info("could not tell the guild", extra={"destination_id": destination.pk, "error_code": exc.code})


def delivery_run(*, delivery_id: int, sleep: Callable[[float], None] = time.sleep) -> str:
    """The task body: attempt, and while the next wait is a few seconds, wait here and attempt again."""
    outcome = delivery_attempt(delivery_id=delivery_id)
    while outcome.retry_in is not None and outcome.retry_in <= INLINE_RETRY_SECONDS:
        sleep(outcome.retry_in)
        outcome = delivery_attempt(delivery_id=delivery_id)
    return str(outcome)


def deliveries_sweep() -> int:
    """Take back deliveries whose worker died mid-attempt, and queue every due one. Returns how many were queued."""
    now = timezone.now()
    for delivery in Delivery.objects.filter(status=DeliveryStatus.IN_PROGRESS, claimed_at__lt=now - CLAIM_STALE):
        DeliveryAttempt.objects.filter(delivery=delivery, finished_at__isnull=True).update(
            finished_at=now, error_code="interrupted", error="The worker stopped during this attempt.",
        )
        wait = next_wait(delivery, None)
        Delivery.objects.filter(_held(delivery)).update(
            status=DeliveryStatus.RETRYING if wait is not None else DeliveryStatus.DEAD, claim_token=None,
            next_attempt_at=now if wait is not None else None, queued_at=None,
            error="interrupted: the worker stopped mid-attempt",
        )
        logger.warning("took back an interrupted delivery", extra={"delivery_id": delivery.pk})
    due = list(
        Delivery.objects.filter(status__in=DeliveryStatus.due(), next_attempt_at__lte=now)
        .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=now - REQUEUE_AFTER))
        .order_by("next_attempt_at").values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    Delivery.objects.filter(pk__in=due).update(queued_at=now)
    for delivery_id in due:
        _enqueue(delivery_id)
    return len(due) + _requeue_lost(now=now)


def _requeue_lost(*, now: datetime) -> int:
    """Queue again the deliveries whose task left the queue without a worker claiming them.

    A killed worker loses the tasks it had taken off the queue and not yet run (Redis hands a task over once).
    The queue cannot be searched for one delivery's task, so it is counted, as jobs_sweep_stalled counts it:
    while it holds as many tasks as there are queued jobs and deliveries waiting, none is presumed lost (a
    long queue is a backlog, and doubling its tasks would only lengthen it). Otherwise the oldest of those
    waiting longer than DELIVERY_REQUEUE_SECONDS are queued again, each once per window. A copy whose
    original was only slow finds the delivery claimed or sent and does nothing.
    """
    from django_q.brokers import get_broker

    window = now - timedelta(seconds=settings.DELIVERY_REQUEUE_SECONDS)
    waiting = Delivery.objects.filter(
        status__in=DeliveryStatus.due(), next_attempt_at__lte=now, queued_at__isnull=False,
    )
    expected = waiting.count() + SummaryJob.objects.filter(status=JobStatus.QUEUED).count()
    missing = min(expected - (get_broker().queue_size() or 0), SWEEP_BATCH)
    if missing <= 0:
        return 0
    lost = list(waiting.filter(queued_at__lt=window).order_by("queued_at").values_list("pk", "queued_at")[:missing])
    requeued = 0
    for delivery_id, queued_at in lost:
        # Conditional, like a claim: two sweeps at once queue it once.
        if Delivery.objects.filter(pk=delivery_id, queued_at=queued_at).update(queued_at=now) == 1:
            _enqueue(delivery_id)
            requeued += 1
    if requeued:
        logger.warning("queued again deliveries whose task was lost", extra={"count": requeued})
    return requeued


def delivery_replay(*, delivery: Delivery) -> Delivery:
    """Send it again (same payload and webhook-id), with a fresh run of the retry schedule."""
    now = timezone.now()
    with transaction.atomic():
        changed = Delivery.objects.filter(pk=delivery.pk).exclude(status=DeliveryStatus.IN_PROGRESS).update(
            status=DeliveryStatus.PENDING, run_offset=F("attempt_count"),
            max_attempts=F("attempt_count") + len(SCHEDULE), next_attempt_at=now, queued_at=now, error="",
        )
        if not changed:
            raise Conflict("This delivery is being sent right now; replay it once this attempt is over.")
        _enqueue_on_commit([delivery.pk])
    delivery.refresh_from_db()
    logger.info("delivery replayed", extra={"delivery_id": delivery.pk})
    return delivery
