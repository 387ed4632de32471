"""Destinations: where a guild's summaries go. Creating, changing, rotating secrets, testing, disabling.

Every rule is here, whichever front door calls (the REST API today, the dashboard later): the kind must
have a transport, a URL must pass the outbound guard (HTTPS, a public address) when it is saved and again
at every connection, a Discord channel must be one of the guild's own, and a signed webhook's secret is
made here, shown once, and rotated with an overlap during which both secrets sign.
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from guilds.audit import audit_created, audit_deleted, audit_diff, audit_record, audit_snapshot
from guilds.models import Channel
from summarybot.errors import InvalidInput, SummaryBotError
from webhooks.http import check_url
from webhooks.models import DeliveryEvent, DestinationKind, WebhookDestination
from webhooks.payloads import OutboundMessage, test_event_data
from webhooks.transports import TRANSPORTS, supported_kinds, transport_for

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
# After a rotation the previous secret keeps signing (a second signature) this long, so receivers can
# switch to the new secret without dropping a single event.
ROTATION_OVERLAP = timedelta(hours=24)
MAX_HEADERS = 10
# Headers the transport sets itself, or that would change how the request is framed or routed.
RESERVED_HEADERS = frozenset({
    "host", "content-length", "content-type", "transfer-encoding", "connection", "user-agent", "accept-encoding",
    "webhook-id", "webhook-timestamp", "webhook-signature",
})
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
DISCORD_WEBHOOK_HOSTS = frozenset({"discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com"})
_DISCORD_WEBHOOK_PATH = re.compile(r"^/api(/v\d+)?/webhooks/\d+/[A-Za-z0-9_-]+/?$")


# What the audit log keeps of a destination. Write-only ones (a URL can itself be a credential, headers may
# carry auth) appear as set, changed or cleared.
_AUDITED_FIELDS = (
    "name", "kind", "url", "discord_channel_id", "events", "headers", "config", "credentials", "enabled",
    "disabled_reason",
)
SECRET_FIELDS = frozenset({"url", "headers", "credentials", "secret", "previous_secret"})


def _record(action: str, destination: WebhookDestination, changes: dict[str, Any] | None = None) -> None:
    audit_record(
        action=action, guild_id=destination.guild_id, target_type="destination", target_id=destination.pk,
        target_label=destination.name, changes=changes,
    )


@dataclass(frozen=True)
class CreatedDestination:
    destination: WebhookDestination
    secret: str | None  # the signing secret, shown once (signed webhooks only)


def _new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _events(events: list[str] | None) -> list[str]:
    chosen = list(dict.fromkeys(events or [DeliveryEvent.SUMMARY_COMPLETED]))
    unknown = sorted(set(chosen) - set(DeliveryEvent.values))
    if unknown:
        raise InvalidInput(f"Unknown events: {', '.join(unknown)}", details={"valid_events": list(DeliveryEvent.values)})
    return chosen


def _headers(headers: dict[str, Any]) -> dict[str, str]:
    if len(headers) > MAX_HEADERS:
        raise InvalidInput(f"At most {MAX_HEADERS} extra headers.")
    clean: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name) or name.lower() in RESERVED_HEADERS:
            raise InvalidInput(f"{name!r} cannot be an extra header.", details={"reserved": sorted(RESERVED_HEADERS)})
        if not isinstance(value, str) or len(value) > 1000 or "\r" in value or "\n" in value:
            raise InvalidInput(f"The value of header {name!r} must be one line of at most 1000 characters.")
        clean[name] = value
    return clean


def _check_discord_webhook_url(url: str) -> None:
    parts = urlsplit(url)
    hosts = set(DISCORD_WEBHOOK_HOSTS)
    if settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS:
        # Development and tests: a local fake of Discord stands where discord.com would.
        hosts.add(urlsplit(settings.DISCORD_API_BASE_URL).hostname or "")
    if (parts.hostname or "").lower() not in hosts or not _DISCORD_WEBHOOK_PATH.match(parts.path):
        raise InvalidInput("A Discord webhook URL looks like https://discord.com/api/webhooks/<id>/<token>.")


def _validate(destination: WebhookDestination) -> None:
    """The whole destination, as it would be saved. Raises InvalidInput (or DestinationRefused: 400 too)."""
    if destination.kind not in TRANSPORTS:
        raise InvalidInput(
            f"Destinations of kind {destination.kind!r} are not available yet; use one of: {', '.join(supported_kinds())}."
        )
    if not destination.name.strip():
        raise InvalidInput("A destination needs a name.")
    destination.name = destination.name.strip()
    destination.events = _events(destination.events)
    destination.headers = _headers(destination.headers or {})
    if destination.headers and destination.kind != DestinationKind.WEBHOOK:
        raise InvalidInput("Extra headers are for signed webhooks only.")
    # The kind's own settings (a Notion database, a Confluence space, their credentials); may set the url.
    TRANSPORTS[destination.kind].clean(destination)
    if destination.kind == DestinationKind.DISCORD_CHANNEL:
        destination.url = ""
        if destination.discord_channel_id is None:
            raise InvalidInput("A Discord channel destination needs config.channel_id.")
        if not Channel.objects.filter(pk=destination.discord_channel_id, guild_id=destination.guild_id).exists():
            raise InvalidInput(f"Channel {destination.discord_channel_id} is not a channel of this server.")
    else:
        destination.discord_channel_id = None
        if not destination.url:
            raise InvalidInput("This destination needs a url.")
        if len(destination.url) > 2000:
            raise InvalidInput("The url is longer than 2000 characters.")
        if destination.kind == DestinationKind.DISCORD_WEBHOOK:
            _check_discord_webhook_url(destination.url)
        destination.url = check_url(destination.url)


def destination_kind_choices() -> list[tuple[str, str]]:
    """(kind, label) of the kinds that can be created now: those with a transport."""
    kinds = set(supported_kinds())
    return [(value, label) for value, label in DestinationKind.choices if value in kinds]


def destination_create(
    *,
    guild_id: int,
    kind: str,
    name: str,
    url: str = "",
    discord_channel_id: int | None = None,
    events: list[str] | None = None,
    headers: dict[str, str] | None = None,
    config: dict[str, Any] | None = None,
    credentials: dict[str, Any] | None = None,
    enabled: bool = True,
) -> CreatedDestination:
    destination = WebhookDestination(
        guild_id=guild_id, kind=kind, name=name, url=url or "", discord_channel_id=discord_channel_id,
        events=events or [], headers=headers or {}, config=config or {}, credentials=credentials or {},
        enabled=enabled,
    )
    _validate(destination)
    secret = _new_secret() if destination.kind == DestinationKind.WEBHOOK else None
    destination.secret = secret or ""
    destination.full_clean()
    with transaction.atomic():
        destination.save()
        _record(
            "destination.create", destination,
            audit_created(audit_snapshot(destination, (*_AUDITED_FIELDS, "secret")), secrets=SECRET_FIELDS),
        )
    logger.info("destination created", extra={"guild_id": guild_id, "destination_id": destination.pk, "kind": kind})
    return CreatedDestination(destination=destination, secret=secret)


UPDATABLE = frozenset({"name", "url", "discord_channel_id", "events", "headers", "config", "credentials", "enabled"})


def destination_update(*, destination: WebhookDestination, changes: dict[str, Any]) -> WebhookDestination:
    """Change some fields; the kind is fixed (a new kind is a new destination). Enabling clears the failure
    streak, so a fixed receiver gets its five days again. `config` is merged key by key (change one property
    name without restating the database); `credentials` are replaced whole."""
    unknown = sorted(set(changes) - UPDATABLE)
    if unknown:
        raise InvalidInput(f"These fields cannot be changed: {', '.join(unknown)}")
    was_enabled = destination.enabled
    before = audit_snapshot(destination, _AUDITED_FIELDS)
    for name, value in changes.items():
        setattr(destination, name, {**(destination.config or {}), **value} if name == "config" else value)
    _validate(destination)
    if destination.enabled and not was_enabled:
        destination.disabled_reason, destination.consecutive_failures, destination.failing_since = "", 0, None
    destination.full_clean()
    with transaction.atomic():
        destination.save()
        diff = audit_diff(before, audit_snapshot(destination, _AUDITED_FIELDS), secrets=SECRET_FIELDS)
        if diff:
            _record("destination.update", destination, diff)
    logger.info("destination updated", extra={"destination_id": destination.pk, "fields": sorted(changes)})
    return destination


def destination_delete(*, destination: WebhookDestination) -> None:
    logger.info("destination deleted", extra={"guild_id": destination.guild_id, "destination_id": destination.pk})
    with transaction.atomic():
        _record(
            "destination.delete", destination,
            audit_deleted(audit_snapshot(destination, (*_AUDITED_FIELDS, "secret")), secrets=SECRET_FIELDS),
        )
        destination.delete()


def destination_rotate_secret(*, destination: WebhookDestination) -> str:
    """A new signing secret (returned once); the current one keeps signing for ROTATION_OVERLAP."""
    if destination.kind != DestinationKind.WEBHOOK:
        raise InvalidInput("Only signed webhook destinations have a signing secret.")
    secret = _new_secret()
    with transaction.atomic():
        locked = WebhookDestination.objects.select_for_update().get(pk=destination.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
        locked.secret = secret
        locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
        _record("destination.rotate_secret", locked, {"secret": "changed"})
    destination.refresh_from_db()
    logger.info("destination secret rotated", extra={"destination_id": destination.pk})
    return secret


def destination_disable(*, destination: WebhookDestination, reason: str) -> bool:
    with transaction.atomic():
        changed = WebhookDestination.objects.filter(pk=destination.pk, enabled=True).update(
            enabled=False, disabled_reason=reason[:200]
        )
        if changed:
            _record("destination.disable", destination, audit_diff(
                {"enabled": True, "disabled_reason": destination.disabled_reason},
                {"enabled": False, "disabled_reason": reason[:200]},
            ))
    destination.refresh_from_db(fields=["enabled", "disabled_reason"])
    if changed:
        logger.warning("destination disabled", extra={"destination_id": destination.pk, "reason": reason})
    return bool(changed)


def destination_enable(*, destination: WebhookDestination) -> bool:
    with transaction.atomic():
        reason = WebhookDestination.objects.filter(pk=destination.pk).values_list("disabled_reason", flat=True).first()
        changed = WebhookDestination.objects.filter(pk=destination.pk, enabled=False).update(
            enabled=True, disabled_reason="", consecutive_failures=0, failing_since=None
        )
        if changed:
            _record("destination.enable", destination, audit_diff(
                {"enabled": False, "disabled_reason": reason}, {"enabled": True, "disabled_reason": ""}
            ))
    destination.refresh_from_db(fields=["enabled", "disabled_reason", "consecutive_failures", "failing_since"])
    return bool(changed)


@dataclass(frozen=True)
class TestResult:
    ok: bool
    webhook_id: str
    status_code: int | None
    latency_ms: int
    body: str
    error_code: str
    error: str


def destination_test(*, destination: WebhookDestination) -> TestResult:
    """Send an example `summary.completed` event now and return the receiver's answer (nothing is logged as a
    delivery: it is not an event of any summary). Goes through the same transport and guard as real ones."""
    message = OutboundMessage(
        webhook_id=f"msg_test_{secrets.token_hex(8)}", event=DeliveryEvent.SUMMARY_COMPLETED,
        timestamp=timezone.now(), data=test_event_data(guild_id=destination.guild_id), test=True,
    )
    started = time.monotonic()
    try:
        receipt = transport_for(destination).deliver(message)
    except SummaryBotError as exc:
        return TestResult(
            ok=False, webhook_id=message.webhook_id, status_code=getattr(exc, "status_code", None),
            latency_ms=round((time.monotonic() - started) * 1000), body=getattr(exc, "body", ""),
            error_code=exc.code, error=exc.message,
        )
    return TestResult(
        ok=True, webhook_id=message.webhook_id, status_code=receipt.status_code,
        latency_ms=round((time.monotonic() - started) * 1000), body=receipt.body, error_code="", error="",
    )
