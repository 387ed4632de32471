"""Inbound webhooks: verify a signed event for a guild, then act on it once.

The sender signs with one of the guild's inbound secrets (`whsec_…`), either the Standard Webhooks way
(`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
several space-separated signatures allowed, timestamps within 5 minutes) or GitHub's way
(`X-Signature-256` or `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, keyed with the whole
`whsec_…` string). Every active secret of the guild is tried, so a rotation has no gap.

Each event type has a handler in `HANDLERS`; `IGNORED_EVENTS` are acknowledged and do nothing;
`NOT_YET_SUPPORTED` and any other type are refused with the list of supported ones. An event that was
acted on is recorded under its `webhook-id` (unique per guild), so a replay gets the first answer and has
no second effect. A refused event is not recorded: the sender's retry with the same id is tried again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from guilds.audit import Actor, audit_actor
from guilds.models import ActorKind, Guild
from summaries.models import JobSource
from summaries.selectors import api_status
from summaries.serializers.schedules import ScheduleOutput, ScheduleUpdatedEventInput
from summaries.serializers.summaries import SummaryCreateInput
from summaries.services.jobs import integration_summary_request
from summaries.services.schedules import schedule_update
from summarybot.errors import InvalidInput
from webhooks.models import InboundEvent, InboundSecret
from webhooks.services import AuthenticationFailed

logger = logging.getLogger(__name__)

# One answer for every verification failure: which part failed is not the sender's business.
NOT_VERIFIED = "The webhook could not be verified."
MAX_WEBHOOK_ID = 128
GITHUB_SIGNATURE_HEADERS = ("X-Signature-256", "X-Hub-Signature-256")
GITHUB_DELIVERY_HEADER = "X-GitHub-Delivery"


@dataclass(frozen=True)
class Verified:
    guild: Guild
    secret: InboundSecret
    webhook_id: str


@dataclass(frozen=True)
class InboundResult:
    status_code: int
    body: dict[str, Any]
    replayed: bool


def _github_signature_ok(secret: str, body: bytes, header: str) -> bool:
    scheme, _, digest = header.strip().partition("=")
    if scheme != "sha256" or not digest:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, digest.strip().lower())


def _standard_signature_ok(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, dict(headers), json_parse=False)
    except (WebhookVerificationError, ValueError):
        # ValueError: a malformed signature list, bad base64, a body that is not UTF-8.
        return False
    return True


def inbound_verify(*, guild_id: int, body: bytes, headers: Mapping[str, str]) -> Verified:
    """The guild and the secret that signed `body`, or AuthenticationFailed with one generic message."""
    headers = {name.lower(): value for name, value in headers.items()}
    guild = Guild.objects.filter(pk=guild_id).first()
    secrets = [s for s in InboundSecret.objects.filter(guild_id=guild_id, revoked_at__isnull=True) if s.secret]
    github = next((headers[h.lower()] for h in GITHUB_SIGNATURE_HEADERS if h.lower() in headers), None)
    standard = "webhook-signature" in headers
    for secret in secrets if guild is not None else []:
        if standard and _standard_signature_ok(secret.secret, body, headers):
            webhook_id = headers["webhook-id"].strip()
        elif not standard and github is not None and _github_signature_ok(secret.secret, body, github):
            # No signed timestamp: the delivery id (or else the body itself) is what makes a replay harmless.
            webhook_id = (headers.get("webhook-id") or headers.get(GITHUB_DELIVERY_HEADER.lower()) or "").strip()
            webhook_id = webhook_id or "sha256:" + hashlib.sha256(body).hexdigest()
        else:
            continue
        if not webhook_id or len(webhook_id) > MAX_WEBHOOK_ID:
            break
        return Verified(guild=guild, secret=secret, webhook_id=webhook_id)
    logger.info("inbound webhook not verified", extra={"guild_id": guild_id})
    raise AuthenticationFailed(NOT_VERIFIED)


# --- Handlers: each takes the verified event's data and returns (status, body, job or None) ---

Handled = tuple[int, dict[str, Any], Any]


def _summary_requested(*, verified: Verified, data: Any) -> Handled:
    """`data`: the REST API's summary request (channel_id, one window, format, language)."""
    parsed = SummaryCreateInput(data=data)
    if not parsed.is_valid():
        raise InvalidInput("The event's data is not a valid summary request.", details=parsed.errors)
    job, _ = integration_summary_request(guild_id=verified.guild.id, source=JobSource.WEBHOOK, **parsed.validated_data)
    return 202, {"summary_id": str(job.pk), "status": api_status(job)}, job


def _schedule_updated(*, verified: Verified, data: Any) -> Handled:
    """`data`: `schedule_id` and the fields to change, as `PATCH /api/v1/schedules/{id}` takes them."""
    parsed = ScheduleUpdatedEventInput(data=data, partial=True)
    if not parsed.is_valid():
        raise InvalidInput("The event's data is not a valid schedule change.", details=parsed.errors)
    changes = dict(parsed.validated_data)
    schedule = schedule_update(guild_id=verified.guild.id, schedule_id=changes.pop("schedule_id"), **changes)
    return 200, {"schedule": ScheduleOutput(schedule).data}, None


HANDLERS: dict[str, Callable[..., Handled]] = {
    "summary.requested": _summary_requested,
    "schedule.updated": _schedule_updated,
}
# Acknowledged with 200 and no effect (a sender's connectivity check).
IGNORED_EVENTS: tuple[str, ...] = ("ping",)
# Named in the refusal so senders know they are coming.
NOT_YET_SUPPORTED: tuple[str, ...] = ()


def _parse_event(body: bytes) -> tuple[str, Any]:
    try:
        event = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("The body is not valid JSON.") from None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise InvalidInput('The body must be a JSON object with a "type" and its "data".')
    return event["type"], event.get("data", {})


def _unsupported(event_type: str) -> InvalidInput:
    supported = sorted(HANDLERS) + list(IGNORED_EVENTS)
    return InvalidInput(
        f"Unsupported event type {event_type[:64]!r}; supported: {', '.join(supported)}.",
        details={"supported_events": supported, "not_yet_supported": list(NOT_YET_SUPPORTED)},
    )


def inbound_actor(verified: Verified) -> Actor:
    """Who the audit log names for an event's effects: the guild's inbound secret that signed it."""
    return Actor(kind=ActorKind.INBOUND_WEBHOOK, id=str(verified.secret.pk), name=verified.secret.name)


def inbound_receive(*, verified: Verified, body: bytes) -> InboundResult:
    """Act once on an event `inbound_verify` accepted: a replay of an acted-on `webhook-id` gets the first answer.

    Two steps, so that the front door can count a guild's verified events (its throttle) in between: a
    stranger's unsigned requests never use up a guild's allowance.
    """
    first = InboundEvent.objects.filter(guild=verified.guild, webhook_id=verified.webhook_id).first()
    if first is not None:
        return InboundResult(status_code=first.status_code, body=first.result, replayed=True)

    event_type, data = _parse_event(body)
    handler = HANDLERS.get(event_type)
    if handler is None and event_type not in IGNORED_EVENTS:
        raise _unsupported(event_type)
    try:
        with transaction.atomic(), audit_actor(inbound_actor(verified)):
            if handler is None:
                status_code, result, job = 200, {"ignored": True}, None
            else:
                status_code, result, job = handler(verified=verified, data=data)
            result = {"webhook_id": verified.webhook_id, "type": event_type, **result}
            InboundEvent.objects.create(
                guild=verified.guild, webhook_id=verified.webhook_id, event_type=event_type, secret=verified.secret,
                job=job, status_code=status_code, result=result,
            )
    except IntegrityError:
        # The same delivery raced in twice: this one's effect was rolled back; answer with the winner's.
        first = InboundEvent.objects.filter(guild=verified.guild, webhook_id=verified.webhook_id).first()
        if first is None:
            raise
        return InboundResult(status_code=first.status_code, body=first.result, replayed=True)
    logger.info(
        "inbound webhook handled",
        extra={"guild_id": verified.guild.id, "webhook_id": verified.webhook_id, "event_type": event_type},
    )
    return InboundResult(status_code=status_code, body=result, replayed=False)
