"""Reads of guilds that several services share."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.db.models import QuerySet

from guilds.models import AuditEntry, Channel, Guild
from summarybot.errors import NotFound

# The bot registers a guild when Discord announces it (GUILD_CREATE); a command can arrive a moment earlier.
GUILD_NOT_REGISTERED = "This server is not registered with Summary Bot yet; try again in a minute."


def guild_get(*, guild_id: int, queryset: QuerySet[Guild] | None = None) -> Guild:
    """The guild, or NotFound in the one wording every front door shows."""
    guild = (queryset if queryset is not None else Guild.objects.all()).filter(pk=guild_id).first()
    if guild is None:
        raise NotFound(GUILD_NOT_REGISTERED)
    return guild


# Channels the dashboard lists with an on/off switch: text-bearing channels and forums (threads follow theirs).
DASHBOARD_CHANNEL_KINDS = ("text", "announcement", "forum", "media", "voice", "stage")


def dashboard_channels(*, guild_id: int) -> QuerySet[Channel]:
    """A guild's live channels that summaries can be switched on or off in, by name."""
    return Channel.objects.filter(guild_id=guild_id, deleted_at__isnull=True, kind__in=DASHBOARD_CHANNEL_KINDS).order_by(
        "name", "id"
    )


# Where the log channel may be: somewhere the bot can post a message.
LOG_CHANNEL_KINDS = ("text", "announcement", "voice", "stage")


def log_channel_choices(*, guild_id: int) -> list[tuple[int, str]]:
    """(id, name) of the channels the bot could post problems to."""
    return list(
        Channel.objects.filter(
            guild_id=guild_id, deleted_at__isnull=True, kind__in=LOG_CHANNEL_KINDS
        )
        .order_by("name", "id")
        .values_list("id", "name")
    )


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def audit_entries(
    *,
    guild_id: int,
    actor_kind: str = "",
    action: str = "",
    target_type: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEntry]:
    """A guild's audit entries, newest first: by actor kind, action prefix, target type, and UTC days
    (`since` and `until` both included)."""
    entries = AuditEntry.objects.filter(guild_id=guild_id)
    if actor_kind:
        entries = entries.filter(actor_kind=actor_kind)
    if action:
        entries = entries.filter(action__startswith=action)
    if target_type:
        entries = entries.filter(target_type=target_type)
    if since is not None:
        entries = entries.filter(created_at__gte=_utc_midnight(since))
    if until is not None:
        entries = entries.filter(created_at__lt=_utc_midnight(until + timedelta(days=1)))
    return entries.order_by("-created_at", "-pk")
