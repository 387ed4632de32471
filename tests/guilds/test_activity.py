"""Member activity counts: added up across flushes, opt-outs respected, old days forgotten."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from guilds.activity import ActivityKey, activity_forget_old, activity_record, member_active_channels
from guilds.models import ChannelActivity
from guilds.services import member_optout_create
from guilds.tasks import forget_old_activity
from tests.factories import GuildFactory

pytestmark = pytest.mark.django_db

ALICE, BOB = 501, 502


def today(days_ago: int = 0):  # type: ignore[no-untyped-def]
    return timezone.now().date() - timedelta(days=days_ago)


def test_counts_add_up_across_flushes_and_skip_unknown_guilds():
    guild = GuildFactory()
    key = ActivityKey(guild.id, 10, ALICE, today())
    assert activity_record(counts={key: 3, ActivityKey(999, 10, ALICE, today()): 5}) == 1
    assert activity_record(counts={key: 2}) == 1
    (row,) = ChannelActivity.objects.all()
    assert (row.guild_id, row.channel_id, row.user_id, row.messages) == (guild.id, 10, ALICE, 5)


def test_most_active_channels_of_the_last_30_days_busiest_first():
    guild, other = GuildFactory(), GuildFactory()
    activity_record(counts={
        ActivityKey(guild.id, 10, ALICE, today()): 2,
        ActivityKey(guild.id, 11, ALICE, today(1)): 5,
        ActivityKey(guild.id, 11, ALICE, today(2)): 1,
        ActivityKey(guild.id, 12, ALICE, today(40)): 50,  # too long ago
        ActivityKey(guild.id, 13, BOB, today()): 9,  # someone else
        ActivityKey(other.id, 14, ALICE, today()): 9,  # another server
    })
    assert member_active_channels(guild_id=guild.id, user_id=ALICE, limit=5) == [11, 10]
    assert member_active_channels(guild_id=guild.id, user_id=ALICE, limit=1) == [11]


def test_opted_out_members_are_not_counted_and_opting_out_forgets_their_activity():
    guild = GuildFactory()
    activity_record(counts={ActivityKey(guild.id, 10, ALICE, today()): 4, ActivityKey(guild.id, 10, BOB, today()): 1})
    member_optout_create(user_id=ALICE, guild_id=guild.id)
    assert list(ChannelActivity.objects.values_list("user_id", flat=True)) == [BOB]
    activity_record(counts={ActivityKey(guild.id, 10, ALICE, today()): 4})
    assert not ChannelActivity.objects.filter(user_id=ALICE).exists()
    member_optout_create(user_id=BOB, guild_id=None)  # everywhere
    activity_record(counts={ActivityKey(guild.id, 10, BOB, today()): 4})
    assert not ChannelActivity.objects.exists()


def test_days_past_the_horizon_are_deleted_by_the_daily_task():
    guild = GuildFactory()
    activity_record(counts={ActivityKey(guild.id, 10, ALICE, today(31)): 1, ActivityKey(guild.id, 10, ALICE, today(30)): 1})
    assert forget_old_activity() == 1
    assert list(ChannelActivity.objects.values_list("day", flat=True)) == [today(30)]
    assert activity_forget_old() == 0
