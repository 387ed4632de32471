"""API keys and inbound secrets: issuing, authenticating, revoking."""

from __future__ import annotations

import base64
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from guilds.audit import audit_created, audit_record, audit_snapshot
from guilds.models import Guild
from summarybot.crypto import keyed_digest
from summarybot.errors import InvalidInput, PermissionDenied
from webhooks.models import ApiKey, ApiScope, InboundSecret

logger = logging.getLogger(__name__)

KEY_PREFIX = "sbk_"
INBOUND_SECRET_PREFIX = "whsec_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


class AuthenticationFailed(PermissionDenied):
    code = "authentication_failed"
    http_status = 401


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    plaintext: str  # shown once, never stored


def api_key_issue(
    *,
    guild: Guild,
    name: str,
    scopes: list[str],
    created_by: AbstractBaseUser | None = None,
    created_by_discord_id: int | None = None,
    expires_at: datetime | None = None,
) -> IssuedKey:
    unknown = sorted(set(scopes) - set(ApiScope.values))
    if unknown:
        raise InvalidInput(f"Unknown scopes: {', '.join(unknown)}", details={"valid_scopes": list(ApiScope.values)})
    if not scopes:
        raise InvalidInput("An API key needs at least one scope.")
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("expires_at must be in the future.")
    if not name.strip():
        raise InvalidInput("An API key needs a name.")

    prefix = KEY_PREFIX + secrets.token_hex(4)
    plaintext = f"{prefix}.{secrets.token_urlsafe(32)}"
    api_key = ApiKey(
        guild=guild,
        name=name.strip(),
        prefix=prefix,
        digest=keyed_digest(plaintext),
        scopes=sorted(set(scopes)),
        created_by=created_by if created_by and created_by.is_authenticated else None,
        created_by_discord_id=created_by_discord_id,
        expires_at=expires_at,
    )
    api_key.full_clean()
    with transaction.atomic():
        api_key.save()
        # The digest is never recorded: the prefix names the key.
        audit_record(
            action="apikey.create",
            guild_id=guild.id,
            target_type="apikey",
            target_id=prefix,
            target_label=api_key.name,
            changes=audit_created(audit_snapshot(api_key, ("name", "scopes", "expires_at"))),
        )
    logger.info("api key issued", extra={"guild_id": guild.id, "key_prefix": prefix})
    return IssuedKey(api_key=api_key, plaintext=plaintext)


def api_key_authenticate(*, raw_key: str) -> ApiKey:
    """The key for `raw_key`, or AuthenticationFailed: unknown, wrong, revoked and expired look the same."""
    try:
        # get() on the unique digest, without the guild: compiling an ORDER BY and a join, and decrypting the
        # guild's LLM key on every request, tripled the cost of authentication (1.1 ms -> 0.3-0.5 ms).
        api_key = ApiKey.objects.get(digest=keyed_digest(raw_key.strip())) if raw_key else None
    except ApiKey.DoesNotExist:
        api_key = None
    if api_key is None or not api_key.is_active:
        raise AuthenticationFailed("Invalid API key.")
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        # At most one write a minute per key, and never a lost update racing another request.
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def api_key_revoke(*, api_key: ApiKey) -> bool:
    """Revoke; returns False when it was already revoked."""
    now = timezone.now()
    with transaction.atomic():
        changed = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now)
        if changed:
            audit_record(
                action="apikey.revoke",
                guild_id=api_key.guild_id,
                target_type="apikey",
                target_id=api_key.prefix,
                target_label=api_key.name,
                changes={"revoked_at": [None, now]},
            )
    api_key.refresh_from_db(fields=["revoked_at"])
    if changed:
        logger.info("api key revoked", extra={"guild_id": api_key.guild_id, "key_prefix": api_key.prefix})
    return bool(changed)


@dataclass(frozen=True)
class IssuedSecret:
    inbound_secret: InboundSecret
    plaintext: str  # shown once; stored encrypted


def inbound_secret_create(*, guild: Guild, name: str) -> IssuedSecret:
    """A new `whsec_<base64 of 32 random bytes>` signing secret for the guild's inbound webhooks."""
    if not name.strip():
        raise InvalidInput("An inbound secret needs a name.")
    plaintext = INBOUND_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
    inbound_secret = InboundSecret(guild=guild, name=name.strip(), secret=plaintext)
    inbound_secret.full_clean()
    with transaction.atomic():
        inbound_secret.save()
        audit_record(
            action="inbound_secret.create",
            guild_id=guild.id,
            target_type="inbound_secret",
            target_id=inbound_secret.pk,
            target_label=inbound_secret.name,
            changes={"secret": "set"},
        )
    logger.info("inbound secret created", extra={"guild_id": guild.id, "inbound_secret_id": inbound_secret.pk})
    return IssuedSecret(inbound_secret=inbound_secret, plaintext=plaintext)


def inbound_secret_revoke(*, inbound_secret: InboundSecret) -> bool:
    """Revoke; returns False when it was already revoked."""
    now = timezone.now()
    with transaction.atomic():
        changed = InboundSecret.objects.filter(pk=inbound_secret.pk, revoked_at__isnull=True).update(revoked_at=now)
        if changed:
            audit_record(
                action="inbound_secret.revoke",
                guild_id=inbound_secret.guild_id,
                target_type="inbound_secret",
                target_id=inbound_secret.pk,
                target_label=inbound_secret.name,
                changes={"revoked_at": [None, now]},
            )
    inbound_secret.refresh_from_db(fields=["revoked_at"])
    if changed:
        logger.info(
            "inbound secret revoked",
            extra={"guild_id": inbound_secret.guild_id, "inbound_secret_id": inbound_secret.pk},
        )
    return bool(changed)
