"""Reads the front doors share: API keys and inbound secrets (the apikey command, the dashboard later), a
guild's destinations and deliveries (the REST API). Every read of a guild's rows is filtered to that guild:
another guild's destination or delivery looks exactly like a missing one."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlsplit

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from summaries.models import JobStatus
from summaries.selectors import api_summaries
from summarybot.errors import NotFound
from webhooks.models import (
    ApiKey,
    Delivery,
    DeliveryEvent,
    DeliveryStatus,
    DestinationKind,
    InboundSecret,
    WebhookDestination,
)
from webhooks.payloads import OutboundMessage, summary_event_data, test_event_data


def api_key_list(*, guild_id: int) -> QuerySet[ApiKey]:
    """A guild's keys, newest first, revoked and expired ones included (the list says which)."""
    return ApiKey.objects.filter(guild_id=guild_id).order_by("-created_at", "-pk")


def api_key_get_by_prefix(*, prefix: str) -> ApiKey:
    api_key = ApiKey.objects.select_related("guild").filter(prefix=prefix.strip()).first()
    if api_key is None:
        raise NotFound(f"No API key has the prefix {prefix!r}.")
    return api_key


def api_key_of_guild(*, guild_id: int, prefix: str) -> ApiKey:
    """One of the guild's keys; another guild's key looks exactly like a missing one."""
    api_key = ApiKey.objects.filter(guild_id=guild_id, prefix=prefix.strip()).first()
    if api_key is None:
        raise NotFound("No such API key in this server.")
    return api_key


def inbound_secret_list(*, guild_id: int) -> QuerySet[InboundSecret]:
    """A guild's inbound secrets, newest first, revoked ones included."""
    return InboundSecret.objects.filter(guild_id=guild_id).order_by("-created_at", "-pk")


def inbound_secret_get(*, secret_id: int) -> InboundSecret:
    inbound_secret = InboundSecret.objects.filter(pk=secret_id).first()
    if inbound_secret is None:
        raise NotFound(f"No inbound secret has the id {secret_id}.")
    return inbound_secret


def mask_url(url: str) -> str:
    """A destination URL as lists show it: scheme, host and the last four characters (it may hold a token)."""
    if not url:
        return ""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/…{url[-4:]}"


def destination_list(*, guild_id: int) -> QuerySet[WebhookDestination]:
    return WebhookDestination.objects.filter(guild_id=guild_id)


def _pk(value: int | str) -> int | None:
    """An id from a URL path: digits within a database integer, or None (answered as not found)."""
    text = str(value).strip()
    return int(text) if text.isdigit() and 0 < int(text) < 2**63 else None


def destination_get(*, guild_id: int, destination_id: int | str) -> WebhookDestination:
    pk = _pk(destination_id)
    destination = WebhookDestination.objects.filter(guild_id=guild_id, pk=pk).first() if pk else None
    if destination is None:
        raise NotFound(f"No destination {destination_id}.")
    return destination


def hook_get(*, guild_id: int, hook_id: int | str) -> WebhookDestination:
    """A REST hook (a zapier destination) of the guild; any other destination is not a hook."""
    pk = _pk(hook_id)
    hook = (
        WebhookDestination.objects.filter(guild_id=guild_id, kind=DestinationKind.ZAPIER, pk=pk).first() if pk else None
    )
    if hook is None:
        raise NotFound(f"No hook {hook_id}.")
    return hook


SAMPLES = 3


def hook_samples(*, guild_id: int, event: str) -> list[dict[str, Any]]:
    """Zapier's perform-list: the guild's latest events of this type (at most SAMPLES, newest first), each the
    very document a hook receives; an example in that shape (`data.test` true) while there is none yet.

    The summaries are those a delivery would send (api_summaries' rule: no member's private summary); the
    `timestamp` is when the job finished (a delivery stamps the moment it was queued, a moment later).
    """
    jobs = api_summaries(guild_id=guild_id)
    if event == DeliveryEvent.SUMMARY_COMPLETED:
        jobs = jobs.filter(status__in=[JobStatus.DONE, JobStatus.PARTIAL], summary__isnull=False)
    else:
        jobs = jobs.filter(status=JobStatus.FAILED)
    documents = []
    for job in jobs.order_by(F("finished_at").desc(nulls_last=True), "-created_at")[:SAMPLES]:
        summary = job.summary if event == DeliveryEvent.SUMMARY_COMPLETED else None
        message = OutboundMessage(webhook_id="", event=event, timestamp=job.finished_at or job.created_at,
                                  data=summary_event_data(job=job, summary=summary))
        documents.append(json.loads(message.body()))
    if documents:
        return documents
    data = test_event_data(guild_id=guild_id)
    if event == DeliveryEvent.SUMMARY_FAILED:
        data |= {
            "status": "failed", "window": None, "markdown": None, "items": [], "usage": None,
            "error": {"code": "no_messages", "message": "Example: there were no messages in the window."},
        }
    example = OutboundMessage(webhook_id="", event=event, timestamp=timezone.now(), data=data, test=True)
    return [json.loads(example.body())]


# The API's delivery statuses: an attempt in flight shows as what it was before it (pending or retrying).
_IN_FLIGHT = Q(status=DeliveryStatus.IN_PROGRESS)
API_DELIVERY_FILTERS: dict[str, Q] = {
    "pending": Q(status=DeliveryStatus.PENDING) | (_IN_FLIGHT & Q(attempt_count__lte=1)),
    "retrying": Q(status=DeliveryStatus.RETRYING) | (_IN_FLIGHT & Q(attempt_count__gt=1)),
    "succeeded": Q(status=DeliveryStatus.SUCCEEDED),
    "failed": Q(status=DeliveryStatus.FAILED),
    "dead": Q(status=DeliveryStatus.DEAD),
}


def delivery_api_status(delivery: Delivery) -> str:
    if delivery.status == DeliveryStatus.IN_PROGRESS:
        return "pending" if delivery.attempt_count <= 1 else "retrying"
    return str(delivery.status)


def delivery_list(
    *, guild_id: int, destination_id: int | None = None, job_id: uuid.UUID | None = None, status: str | None = None
) -> QuerySet[Delivery]:
    deliveries = Delivery.objects.filter(destination__guild_id=guild_id)
    if destination_id is not None:
        deliveries = deliveries.filter(destination_id=destination_id)
    if job_id is not None:
        deliveries = deliveries.filter(job_id=job_id)
    if status is not None:
        deliveries = deliveries.filter(API_DELIVERY_FILTERS[status])
    return deliveries


def delivery_get(*, guild_id: int, delivery_id: int | str) -> Delivery:
    pk = _pk(delivery_id)
    delivery = (
        Delivery.objects.filter(destination__guild_id=guild_id, pk=pk).prefetch_related("attempts").first()
        if pk else None
    )
    if delivery is None:
        raise NotFound(f"No delivery {delivery_id}.")
    return delivery
