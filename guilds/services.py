"""Guild and channel configuration, the gateway mirror of guilds and channels, and members' opt-outs.

The mirror functions take plain dataclasses, never discord.py objects: the bot cog converts, so these
rules stay testable without a gateway and usable from the worker or the admin.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from guilds.activity import activity_forget_member
from guilds.audit import audit_diff, audit_record, audit_snapshot
from guilds.models import Channel, ChannelKind, Guild, MemberOptOut
from guilds.selectors import LOG_CHANNEL_KINDS, guild_get
from summarybot.errors import InvalidInput, NotFound

logger = logging.getLogger(__name__)

DEMO_GUILD_ID = 100000000000000001
DEMO_CHANNEL_ID = 100000000000000002

# Discord channel type numbers -> our kinds (https://discord.com/developers/docs/resources/channel).
_KIND_BY_DISCORD_TYPE: dict[int, str] = {
    0: ChannelKind.TEXT,
    2: ChannelKind.VOICE,
    4: ChannelKind.CATEGORY,
    5: ChannelKind.ANNOUNCEMENT,
    10: ChannelKind.ANNOUNCEMENT_THREAD,
    11: ChannelKind.PUBLIC_THREAD,
    12: ChannelKind.PRIVATE_THREAD,
    13: ChannelKind.STAGE,
    15: ChannelKind.FORUM,
    16: ChannelKind.MEDIA,
}
_THREAD_KINDS = ChannelKind.threads()
# Threads that anyone who sees their channel sees: they are exactly as locked as it.
_OPEN_THREAD_KINDS = (ChannelKind.PUBLIC_THREAD, ChannelKind.ANNOUNCEMENT_THREAD)

# What a server's managers may change on a guild (/summary-config sets the first six, the dashboard all);
# the rest is operator-only.
GUILD_CONFIG_FIELDS = frozenset(
    {
        "default_format",
        "default_language",
        "redact_pii",
        "opt_out_marker",
        "reaction_trigger_emoji",
        "member_cooldown_seconds",
        "monthly_token_budget",
        "monthly_cost_budget_usd",
        "log_channel_id",
        # The guild's own OpenAI key (write-only: no front door shows it back).
        "llm_api_key",
    }
)
# Write-only: the audit log says it was set, changed or cleared, never what it is.
GUILD_SECRET_FIELDS = frozenset({"llm_api_key"})
_MAX_API_KEY_LENGTH = 512
CHANNEL_CONFIG_FIELDS = frozenset(
    {"enabled", "allow_when_locked", "format_override", "language_override", "redact_pii_override"}
)


def channel_kind(discord_type: int) -> str:
    return _KIND_BY_DISCORD_TYPE.get(discord_type, ChannelKind.OTHER)


@dataclass(frozen=True, slots=True)
class ChannelData:
    """A channel or thread as the gateway described it, reduced to what the mirror keeps."""

    id: int
    name: str
    kind: str
    parent_id: int | None = None
    is_locked: bool = False


@dataclass(frozen=True, slots=True)
class GuildData:
    id: int
    name: str
    icon_hash: str = ""
    owner_id: int | None = None


_CUSTOM_EMOJI = re.compile(r"^(?:<a?:\w{2,32}:\d{15,21}>|\w{2,32})$")


def _check_trigger_emoji(value: str) -> None:
    """A unicode emoji, a custom one as Discord writes it (<:name:id>), or a custom emoji's name."""
    if not value or _CUSTOM_EMOJI.match(value):
        return
    if len(value) <= 16 and not any(ch.isspace() for ch in value) and not value.isascii():
        return  # unicode emoji, including sequences joined with ZWJ or variation selectors
    raise InvalidInput(f"{value!r} is not an emoji; send the emoji itself, like 📝, or 'off'.")


def _check_log_channel(guild_id: int, channel_id: Any) -> None:
    try:
        channel_id = int(channel_id)
    except (TypeError, ValueError):
        raise InvalidInput("The log channel must be a channel id.", details={"log_channel_id": ["not an id"]}) from None
    if not Channel.objects.filter(
        pk=channel_id, guild_id=guild_id, deleted_at__isnull=True, kind__in=LOG_CHANNEL_KINDS
    ).exists():
        raise InvalidInput(
            "The log channel must be one of this server's text channels.",
            details={"log_channel_id": ["not a text channel of this server"]},
        )


def _check_llm_api_key(value: Any) -> None:
    if not isinstance(value, str) or len(value) > _MAX_API_KEY_LENGTH or any(ch.isspace() for ch in value):
        # Never echo the value: it is a secret.
        raise InvalidInput("That OpenAI key is malformed.", details={"llm_api_key": ["malformed key"]})


def _validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in exc.message_dict.items())
    return " ".join(exc.messages)


@transaction.atomic
def demo_guild_seed() -> Guild:
    guild, _ = Guild.objects.get_or_create(pk=DEMO_GUILD_ID, defaults={"name": "Demo Server", "bot_present": False})
    Channel.objects.get_or_create(
        pk=DEMO_CHANNEL_ID, defaults={"guild": guild, "name": "general", "kind": ChannelKind.TEXT}
    )
    return guild


# ------------------------------------------------------------------------------------- mirror
def _mirrored(guild_id: int, data: ChannelData) -> dict[str, Any]:
    """The columns the gateway owns; an admin's configuration columns are never touched by the mirror."""
    return {
        "guild_id": guild_id,
        "name": data.name[:100],
        "kind": data.kind,
        "parent_id": data.parent_id,
        "is_locked": data.is_locked,
        "deleted_at": None,
    }


def _channel_upsert(guild_id: int, data: ChannelData) -> Channel:
    channel, _ = Channel.objects.update_or_create(pk=data.id, defaults=_mirrored(guild_id, data))
    _threads_follow([data])
    return channel


def _threads_follow(channels: Sequence[ChannelData]) -> None:
    """Public threads take their channel's lock: a channel whose permissions changed takes its threads
    with it, archived ones too (no gateway event lists those)."""
    for locked in (True, False):
        parents = [c.id for c in channels if c.is_locked == locked and c.kind not in _THREAD_KINDS]
        if parents:
            Channel.objects.filter(parent_id__in=parents, kind__in=_OPEN_THREAD_KINDS).exclude(
                is_locked=locked
            ).update(is_locked=locked, updated_at=timezone.now())


_MIRRORED_FIELDS = ("guild_id", "name", "kind", "parent_id", "is_locked", "deleted_at")


def _channels_mirror(guild_id: int, channels: Sequence[ChannelData], now: datetime) -> None:
    """Bring a guild's channel rows in line with the full list, in a few queries whatever its size.

    Every (re)connection replays GUILD_CREATE for every guild: when nothing changed this is one SELECT.
    """
    existing = Channel.objects.in_bulk([c.id for c in channels])
    created: list[Channel] = []
    changed: list[Channel] = []
    for data in channels:
        wanted = _mirrored(guild_id, data)
        row = existing.get(data.id)
        if row is None:
            created.append(Channel(id=data.id, **wanted))
        elif any(getattr(row, name) != value for name, value in wanted.items()):
            for name, value in wanted.items():
                setattr(row, name, value)
            row.updated_at = now  # bulk_update skips auto_now
            changed.append(row)
    Channel.objects.bulk_create(created, batch_size=500)
    Channel.objects.bulk_update(changed, [*_MIRRORED_FIELDS, "updated_at"], batch_size=500)
    moved = {row.id for row in (*created, *changed)}
    _threads_follow([data for data in channels if data.id in moved])
    gone = (
        Channel.objects.filter(guild_id=guild_id, deleted_at__isnull=True)
        .exclude(pk__in=[c.id for c in channels])
        .exclude(kind__in=_THREAD_KINDS)
        .update(deleted_at=now, updated_at=now)
    )
    if created or changed or gone:
        logger.info(
            "channels mirrored",
            extra={
                "guild_id": guild_id,
                "channels_created": len(created),
                "channels_changed": len(changed),
                "channels_gone": gone,
            },
        )


@transaction.atomic
def guild_sync(*, guild: GuildData, channels: Sequence[ChannelData] | None = None) -> Guild:
    """Mirror a guild the bot is in (GUILD_CREATE, GUILD_UPDATE); keeps its configuration.

    With `channels` (GUILD_CREATE carries the full list) the guild's channels are upserted and the ones
    no longer listed are marked deleted. Threads are left alone: GUILD_CREATE lists only active ones.
    """
    now = timezone.now()
    row = Guild.objects.select_for_update().filter(pk=guild.id).first()
    wanted = {
        "name": guild.name[:100],
        "icon_hash": guild.icon_hash or "",
        "owner_id": guild.owner_id,
        "bot_present": True,
        "left_at": None,
    }
    if row is None:
        row = Guild(pk=guild.id, joined_at=now, **wanted)
        row.save()
    elif any(getattr(row, name) != value for name, value in wanted.items()):
        if not row.bot_present:
            row.joined_at = now  # back after being removed
        for name, value in wanted.items():
            setattr(row, name, value)
        row.save()
    if channels is not None:
        _channels_mirror(guild.id, channels, now)
    logger.info("guild mirrored", extra={"guild_id": guild.id, "channels": None if channels is None else len(channels)})
    return row


def guild_left(*, guild_id: int) -> None:
    """The bot was removed (or the guild deleted): keep the configuration and history, mark it absent."""
    changed = Guild.objects.filter(pk=guild_id, bot_present=True).update(bot_present=False, left_at=timezone.now())
    if changed:
        logger.info("guild left", extra={"guild_id": guild_id})


def channel_sync(*, guild_id: int, channel: ChannelData) -> Channel | None:
    """Mirror one created or updated channel/thread; its summary configuration is kept.

    Returns None when the guild is not mirrored (an event racing the bot's own GUILD_CREATE).
    """
    if not Guild.objects.filter(pk=guild_id).exists():
        logger.info("channel event for an unknown guild", extra={"guild_id": guild_id, "channel_id": channel.id})
        return None
    with transaction.atomic():
        return _channel_upsert(guild_id, channel)


def channel_deleted(*, channel_id: int) -> None:
    """Mark a channel (and, when it is a parent, its threads) deleted; rows stay for history."""
    now = timezone.now()
    Channel.objects.filter(pk=channel_id, deleted_at__isnull=True).update(deleted_at=now)
    Channel.objects.filter(parent_id=channel_id, kind__in=_THREAD_KINDS, deleted_at__isnull=True).update(deleted_at=now)


# -------------------------------------------------------------------------------- configuration
@transaction.atomic
def guild_config_update(*, guild_id: int, changes: Mapping[str, Any]) -> Guild:
    """Change a guild's summary settings; raises InvalidInput naming each bad value, NotFound if unknown."""
    unknown = set(changes) - GUILD_CONFIG_FIELDS
    if unknown:
        raise InvalidInput(f"These settings cannot be changed here: {', '.join(sorted(unknown))}.")
    guild = guild_get(guild_id=guild_id, queryset=Guild.objects.select_for_update())
    if "reaction_trigger_emoji" in changes:
        _check_trigger_emoji(str(changes["reaction_trigger_emoji"]))
    if changes.get("log_channel_id") is not None:
        _check_log_channel(guild_id, changes["log_channel_id"])
    if "llm_api_key" in changes:
        _check_llm_api_key(changes["llm_api_key"])
    before = audit_snapshot(guild, changes)
    for name, value in changes.items():
        setattr(guild, name, value)
    try:
        guild.full_clean()
    except ValidationError as exc:
        raise InvalidInput(_validation_message(exc), details=getattr(exc, "message_dict", {})) from None
    guild.save(update_fields=[*changes, "updated_at"])
    diff = audit_diff(before, audit_snapshot(guild, changes), secrets=GUILD_SECRET_FIELDS)
    if diff:
        audit_record(
            action="guild.settings.update", guild_id=guild_id, target_type="guild", target_id=guild_id,
            target_label=guild.name, changes=diff,
        )
    logger.info("guild config changed", extra={"guild_id": guild_id, "fields": sorted(changes)})
    return guild


@transaction.atomic
def channel_config_update(*, guild_id: int, channel_id: int, changes: Mapping[str, Any]) -> Channel:
    """Change one channel's summary settings (enable/disable, allow a locked channel, overrides)."""
    unknown = set(changes) - CHANNEL_CONFIG_FIELDS
    if unknown:
        raise InvalidInput(f"These channel settings cannot be changed here: {', '.join(sorted(unknown))}.")
    channel = (
        Channel.objects.select_for_update().filter(pk=channel_id, guild_id=guild_id, deleted_at__isnull=True).first()
    )
    if channel is None:
        raise NotFound(f"Channel {channel_id} is not known in this server.")
    before, was_allowed = audit_snapshot(channel, changes), channel.summaries_allowed
    for name, value in changes.items():
        setattr(channel, name, value)
    try:
        channel.full_clean()
    except ValidationError as exc:
        raise InvalidInput(_validation_message(exc), details=getattr(exc, "message_dict", {})) from None
    channel.save(update_fields=[*changes, "updated_at"])
    diff = audit_diff(before, audit_snapshot(channel, changes))
    if diff:
        audit_record(
            action=_channel_action(channel, was_allowed=was_allowed), guild_id=guild_id, target_type="channel",
            target_id=channel_id, target_label=f"#{channel.name}", changes=diff,
        )
    logger.info(
        "channel config changed", extra={"guild_id": guild_id, "channel_id": channel_id, "fields": sorted(changes)}
    )
    return channel


def _channel_action(channel: Channel, *, was_allowed: bool) -> str:
    """Turning summaries on in a channel @everyone cannot see is the change admins look for: its own action."""
    if channel.summaries_allowed and not was_allowed:
        return "channel.enable_locked" if channel.is_locked else "channel.enable"
    if was_allowed and not channel.summaries_allowed:
        return "channel.disable"
    return "channel.update"


class LockedChannelNeedsConfirmation(InvalidInput):
    """Turning on a channel that @everyone cannot see exposes it to summaries: the admin confirms first."""

    code = "confirmation_required"


def channel_summaries_set(
    *, guild_id: int, channel_id: int, on: bool, confirm_locked: bool = False, by_user_id: int | None = None
) -> Channel:
    """Turn summaries on or off in a channel as one switch.

    A locked channel (@everyone cannot see it) is on only when it is both enabled and allowed while locked:
    turning it on sets both, and needs `confirm_locked`; turning it off clears both, so turning it on again
    asks again.
    """
    channel = Channel.objects.filter(pk=channel_id, guild_id=guild_id, deleted_at__isnull=True).first()
    if channel is None:
        raise NotFound(f"Channel {channel_id} is not known in this server.")
    if on and channel.is_locked and not confirm_locked:
        raise LockedChannelNeedsConfirmation(
            f"#{channel.name} is private: @everyone cannot see it. Turning summaries on lets anyone who can "
            "use the bot there summarize it; confirm to go ahead."
        )
    changes: dict[str, Any] = {"enabled": on}
    if channel.is_locked or channel.allow_when_locked:
        changes["allow_when_locked"] = on
    updated = channel_config_update(guild_id=guild_id, channel_id=channel_id, changes=changes)
    logger.info(
        "channel summaries switched",
        extra={"guild_id": guild_id, "channel_id": channel_id, "on": on, "locked": channel.is_locked, "user_id": by_user_id},
    )
    return updated


DEV_LOGIN_USERNAME = "dev-admin"


def dev_login_user() -> Any:
    """The account of the development login (settings.DASHBOARD_DEV_LOGIN): no password, no staff rights."""
    from django.contrib.auth import get_user_model

    user, created = get_user_model().objects.get_or_create(username=DEV_LOGIN_USERNAME)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


# ------------------------------------------------------------------------------------ opt-outs
def member_optout_create(*, user_id: int, guild_id: int | None) -> bool:
    """Opt a member out (in one guild, or everywhere with guild_id None); False if already opted out."""
    if guild_id is not None:
        guild_get(guild_id=guild_id)
    try:
        with transaction.atomic():
            _, created = MemberOptOut.objects.get_or_create(user_id=user_id, guild_id=guild_id)
            if created:
                # The member's own choice: who and where, nothing of what they wrote.
                audit_record(action="member.optout", guild_id=guild_id, target_type="member", target_id=user_id)
    except IntegrityError:
        # A concurrent request created the same opt-out: the unique constraint answered for us.
        created = False
    if created:
        activity_forget_member(user_id=user_id, guild_id=guild_id)
        logger.info("member opted out", extra={"user_id": user_id, "guild_id": guild_id})
    return created


def member_optout_delete(*, user_id: int, guild_id: int | None) -> bool:
    """Remove the member's opt-out for this scope; False when there was none."""
    with transaction.atomic():
        deleted, _ = MemberOptOut.objects.filter(user_id=user_id, guild_id=guild_id).delete()
        if deleted:
            audit_record(action="member.optin", guild_id=guild_id, target_type="member", target_id=user_id)
    if deleted:
        logger.info("member opted in", extra={"user_id": user_id, "guild_id": guild_id})
    return bool(deleted)


# ------------------------------------------------------------------------------------- reads
def guild_reaction_emoji(*, guild_id: int) -> str:
    """The guild's reaction trigger emoji ("" when off or the guild is unknown)."""
    return Guild.objects.filter(pk=guild_id).values_list("reaction_trigger_emoji", flat=True).first() or ""


@dataclass(frozen=True, slots=True)
class GuildConfig:
    guild: Guild
    # Channels whose configuration differs from the defaults (disabled, locked-but-allowed, overrides).
    special_channels: list[Channel]
    locked_channels: list[Channel]


def guild_config_get(*, guild_id: int) -> GuildConfig:
    guild = guild_get(guild_id=guild_id)
    live = Channel.objects.filter(guild=guild, deleted_at__isnull=True).order_by("name")
    special = [
        c
        for c in live
        if not c.enabled
        or c.allow_when_locked
        or c.format_override
        or c.language_override
        or c.redact_pii_override is not None
    ]
    locked = [c for c in live if c.is_locked and not c.allow_when_locked and c.kind not in _THREAD_KINDS]
    return GuildConfig(guild=guild, special_channels=special, locked_channels=locked)
