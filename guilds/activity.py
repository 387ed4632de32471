"""Member activity per channel and day: counted by the bot, read by the catch-up digest.

The bot counts messages in memory and flushes the counts every few seconds, so a busy server costs one
small write per flush rather than one per message. One guild's messages all arrive at one bot process
(its shard), so adding to the stored counts needs no lock across processes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import NamedTuple

from django.db import transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone

from guilds.models import ChannelActivity, Guild, MemberOptOut

# What "recently active" means for a catch-up digest; older days are deleted.
ACTIVE_DAYS = 30


class ActivityKey(NamedTuple):
    guild_id: int
    channel_id: int
    user_id: int
    day: date


def activity_record(*, counts: Mapping[ActivityKey, int]) -> int:
    """Add these message counts to the stored ones; returns how many rows were written.

    Opted-out members and guilds that are not registered are skipped.
    """
    if not counts:
        return 0
    guild_ids = {key.guild_id for key in counts}
    known = set(Guild.objects.filter(pk__in=guild_ids).values_list("pk", flat=True))
    opted_out = set(
        MemberOptOut.objects.filter(Q(guild_id__in=guild_ids) | Q(guild__isnull=True)).values_list("guild_id", "user_id")
    )
    wanted = {
        key: count
        for key, count in counts.items()
        if key.guild_id in known and (key.guild_id, key.user_id) not in opted_out and (None, key.user_id) not in opted_out
    }
    if not wanted:
        return 0
    with transaction.atomic():
        existing = {
            ActivityKey(row.guild_id, row.channel_id, row.user_id, row.day): row
            for row in ChannelActivity.objects.select_for_update().filter(
                channel_id__in={key.channel_id for key in wanted},
                user_id__in={key.user_id for key in wanted},
                day__in={key.day for key in wanted},
            )
        }
        updated, created = [], []
        for key, count in wanted.items():
            row = existing.get(key)
            if row is not None:
                row.messages += count
                updated.append(row)
            else:
                created.append(ChannelActivity(**key._asdict(), messages=count))
        ChannelActivity.objects.bulk_update(updated, ["messages"])
        ChannelActivity.objects.bulk_create(created)
    return len(wanted)


def activity_forget_old() -> int:
    """Delete the days older than ACTIVE_DAYS; returns how many rows went."""
    cutoff = timezone.now().date() - timedelta(days=ACTIVE_DAYS)
    deleted, _ = ChannelActivity.objects.filter(day__lt=cutoff).delete()
    return deleted


def member_active_channels(*, guild_id: int, user_id: int, limit: int) -> list[int]:
    """The channels (and threads) the member wrote most in over the last ACTIVE_DAYS, busiest first."""
    since = timezone.now().date() - timedelta(days=ACTIVE_DAYS)
    return list(
        ChannelActivity.objects.filter(guild_id=guild_id, user_id=user_id, day__gte=since)
        .values("channel_id")
        .annotate(total=Sum("messages"), latest=Max("day"))
        .order_by("-total", "-latest", "channel_id")
        .values_list("channel_id", flat=True)[:limit]
    )


def activity_forget_member(*, user_id: int, guild_id: int | None = None) -> int:
    """A member who opts out leaves no activity behind (in one guild, or everywhere)."""
    rows = ChannelActivity.objects.filter(user_id=user_id)
    if guild_id is not None:
        rows = rows.filter(guild_id=guild_id)
    deleted, _ = rows.delete()
    return deleted
