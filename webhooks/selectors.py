"""Reads of API keys and inbound secrets that the front doors (the apikey command, the dashboard later) share."""

from __future__ import annotations

from django.db.models import QuerySet

from summarybot.errors import NotFound
from webhooks.models import ApiKey, InboundSecret


def api_key_list(*, guild_id: int) -> QuerySet[ApiKey]:
    """A guild's keys, newest first, revoked and expired ones included (the list says which)."""
    return ApiKey.objects.filter(guild_id=guild_id).order_by("-created_at", "-pk")


def api_key_get_by_prefix(*, prefix: str) -> ApiKey:
    api_key = ApiKey.objects.select_related("guild").filter(prefix=prefix.strip()).first()
    if api_key is None:
        raise NotFound(f"No API key has the prefix {prefix!r}.")
    return api_key


def inbound_secret_list(*, guild_id: int) -> QuerySet[InboundSecret]:
    """A guild's inbound secrets, newest first, revoked ones included."""
    return InboundSecret.objects.filter(guild_id=guild_id).order_by("-created_at", "-pk")


def inbound_secret_get(*, secret_id: int) -> InboundSecret:
    inbound_secret = InboundSecret.objects.filter(pk=secret_id).first()
    if inbound_secret is None:
        raise NotFound(f"No inbound secret has the id {secret_id}.")
    return inbound_secret
