"""Guilds and channels mirrored into the database from gateway events."""

from __future__ import annotations

import pytest

from guilds.models import Channel as ChannelRow
from guilds.models import Guild as GuildRow
from guilds.services import channel_config_update
from tests.botrunner.bot_support import BotWorld, db, eventually
from tests.fakes.discord import ChannelType, Permission

# The bot fixtures (bot_world) live in a module of their own; the shared conftest files stay untouched.
pytest_plugins = ["tests.botrunner.conftest_bot"]

pytestmark = pytest.mark.django_db(transaction=True)


async def channel_row(channel_id: int) -> ChannelRow | None:
    return await db(ChannelRow.objects.filter(pk=channel_id).first)()


async def test_guild_create_mirrors_the_guild_and_its_channels(bot_world: BotWorld) -> None:
    w = bot_world
    guild = await db(GuildRow.objects.get)(pk=w.guild.id)
    assert (guild.name, guild.owner_id, guild.bot_present) == ("Summary Test Guild", w.owner.id, True)
    assert guild.joined_at is not None
    general = await channel_row(w.channel.id)
    assert general is not None
    assert (general.name, general.kind, general.is_locked, general.guild_id) == ("general", "text", False, w.guild.id)


async def test_a_guild_joined_later_is_mirrored_with_locked_channels(bot_world: BotWorld) -> None:
    w = bot_world
    other = w.fake.add_guild("Second Guild")
    category = w.fake.add_channel(other, "Staff area", type=ChannelType.CATEGORY)
    staff = w.fake.add_channel(other, "staff", parent=category)
    w.fake.lock_channel(staff)
    w.fake.add_channel(other, "help", type=ChannelType.FORUM)
    await w.fake.dispatch_async("GUILD_CREATE", w.fake.guild_payload(other))

    await eventually(lambda: db(GuildRow.objects.filter(pk=other.id, bot_present=True).exists)())
    rows = {c.name: c for c in await db(lambda: list(ChannelRow.objects.filter(guild_id=other.id)))()}
    assert rows["staff"].is_locked and rows["staff"].parent_id == category.id
    assert rows["Staff area"].kind == "category" and not rows["Staff area"].is_locked
    assert rows["help"].kind == "forum"


async def test_channel_update_locks_renames_and_keeps_the_configuration(bot_world: BotWorld) -> None:
    w = bot_world
    await db(channel_config_update)(guild_id=w.guild.id, channel_id=w.channel.id, changes={"allow_when_locked": True})
    w.fake.lock_channel(w.channel)
    w.channel.name = "general-private"
    await w.fake.dispatch_async("CHANNEL_UPDATE", w.fake.channel_payload(w.channel))

    row = await eventually(lambda: db(ChannelRow.objects.filter(pk=w.channel.id, is_locked=True).first)())
    assert row.name == "general-private"
    assert row.allow_when_locked  # an admin's choice survives the mirror
    assert row.summaries_allowed


async def test_everyone_role_without_view_channel_locks_channels_without_overwrites(bot_world: BotWorld) -> None:
    w = bot_world
    everyone = w.fake.guilds[w.guild.id].everyone
    everyone.permissions &= ~Permission.VIEW_CHANNEL
    role_json = everyone.to_json()
    await w.fake.dispatch_async("GUILD_ROLE_UPDATE", {"guild_id": str(w.guild.id), "role": role_json})
    assert (await eventually(lambda: db(ChannelRow.objects.filter(pk=w.channel.id, is_locked=True).first)())).is_locked


async def test_channel_and_thread_lifecycle(bot_world: BotWorld) -> None:
    w = bot_world
    created = w.fake.add_channel(w.guild, "announcements", type=ChannelType.NEWS)
    await w.fake.dispatch_async("CHANNEL_CREATE", w.fake.channel_payload(created))
    assert (await eventually(lambda: channel_row(created.id))).kind == "announcement"

    thread = w.fake.add_thread(w.channel, "release plan")
    await w.fake.dispatch_async("THREAD_CREATE", {**w.fake.channel_payload(thread), "newly_created": True})
    row = await eventually(lambda: channel_row(thread.id))
    assert (row.kind, row.parent_id, row.is_locked) == ("public_thread", w.channel.id, False)

    await w.fake.dispatch_async("CHANNEL_DELETE", w.fake.channel_payload(w.channel))
    gone = await eventually(lambda: db(ChannelRow.objects.filter(pk=w.channel.id, deleted_at__isnull=False).first)())
    assert gone is not None
    # Its threads went with it.
    assert (await channel_row(thread.id)).deleted_at is not None  # type: ignore[union-attr]


async def test_guild_update_and_removal(bot_world: BotWorld) -> None:
    w = bot_world
    w.fake.guilds[w.guild.id].name = "Renamed Guild"
    await w.fake.dispatch_async("GUILD_UPDATE", w.fake.guilds[w.guild.id].to_json())
    await eventually(lambda: db(GuildRow.objects.filter(pk=w.guild.id, name="Renamed Guild").exists)())

    await w.fake.dispatch_async("GUILD_DELETE", {"id": str(w.guild.id)})
    row = await eventually(lambda: db(GuildRow.objects.filter(pk=w.guild.id, bot_present=False).first)())
    assert row.left_at is not None
    # Configuration and channels stay for when the bot comes back.
    assert await db(ChannelRow.objects.filter(guild_id=w.guild.id).exists)()
