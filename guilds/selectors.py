"""Reads of guilds that several services share."""

from __future__ import annotations

from django.db.models import QuerySet

from guilds.models import Guild
from summarybot.errors import NotFound

# The bot registers a guild when Discord announces it (GUILD_CREATE); a command can arrive a moment earlier.
GUILD_NOT_REGISTERED = "This server is not registered with Summary Bot yet; try again in a minute."


def guild_get(*, guild_id: int, queryset: QuerySet[Guild] | None = None) -> Guild:
    """The guild, or NotFound in the one wording every front door shows."""
    guild = (queryset if queryset is not None else Guild.objects.all()).filter(pk=guild_id).first()
    if guild is None:
        raise NotFound(GUILD_NOT_REGISTERED)
    return guild
