"""Permission checks against the fake Discord: what the bot lacks, what members and @everyone can see."""

from __future__ import annotations

import pytest

from summarybot.discord.client import DiscordRest
from summarybot.discord.errors import DiscordMissingAccess
from summarybot.errors import PermissionDenied
from tests.fakes.discord import Overwrite, Permission


async def test_channel_hidden_from_the_bot_raises_missing_access_naming_view_channel(world):
    fake, guild, channel, *_ = world
    fake.add_messages(channel, 10)
    channel.overwrites.append(Overwrite(id=fake.bot_role(guild).id, deny=Permission.VIEW_CHANNEL))

    async with DiscordRest() as rest:
        with pytest.raises(DiscordMissingAccess) as caught:
            await rest.history.fetch_history(channel.id)
        computed = await rest.access.bot_missing_permissions(channel.id, guild_id=guild.id)

    err = caught.value
    assert isinstance(err, PermissionDenied) and err.permanent
    assert err.missing_permissions == ["view_channel"]
    assert "view_channel" in err.message
    assert computed == ["view_channel", "read_message_history"]


async def test_missing_read_message_history_is_detected(world):
    fake, guild, channel, *_ = world
    fake.add_messages(channel, 10)
    fake.bot_role(guild).permissions &= ~Permission.READ_MESSAGE_HISTORY
    guild.everyone.permissions &= ~Permission.READ_MESSAGE_HISTORY

    async with DiscordRest() as rest:
        assert await rest.access.bot_missing_permissions(channel.id) == ["read_message_history"]
        # Discord answers an empty page rather than an error: the client must not summarize "nothing".
        with pytest.raises(DiscordMissingAccess) as caught:
            await rest.history.fetch_history(channel.id)

    assert caught.value.missing_permissions == ["read_message_history"]


async def test_delivery_permissions_come_from_overwrites_and_threads_use_the_parent(world):
    fake, guild, channel, *_ = world
    bot_role = fake.bot_role(guild)
    guild.everyone.permissions = 0
    channel.overwrites.append(Overwrite(id=bot_role.id, deny=Permission.EMBED_LINKS))
    thread = fake.add_thread(channel, "talk")

    async with DiscordRest() as rest:
        assert await rest.access.bot_missing_permissions(channel.id, delivery=True) == ["embed_links"]
        assert await rest.access.bot_missing_permissions(thread.id, delivery=True) == ["embed_links"]
        with pytest.raises(DiscordMissingAccess) as caught:
            await rest.delivery.send_message(channel.id, embeds=[{"title": "Summary"}])

    assert caught.value.missing_permissions == ["embed_links"]


async def test_locked_channel_is_visible_only_to_allowed_roles(world):
    fake, guild, channel, alice, bob = world
    mods = fake.add_role(guild, "mods")
    guild.members[alice.id].roles.append(mods.id)
    locked = fake.add_channel(guild, "mods-only")
    fake.lock_channel(locked)
    locked.overwrites.append(Overwrite(id=mods.id, allow=Permission.VIEW_CHANNEL))
    locked_thread = fake.add_thread(locked, "plans")
    outsider = fake.add_user("outsider")
    hidden = fake.add_channel(guild, "admins")
    fake.lock_channel(hidden)  # the bot cannot see this one either

    async with DiscordRest() as rest:
        assert await rest.access.everyone_can_view(hidden.id, guild_id=guild.id) is False
        assert await rest.access.member_can_view(hidden.id, guild.owner_id, guild_id=guild.id) is True
        with pytest.raises(DiscordMissingAccess):
            await rest.access.everyone_can_view(hidden.id)
        locked.overwrites.append(Overwrite(id=fake.bot_role(guild).id, allow=Permission.VIEW_CHANNEL))
        assert await rest.access.everyone_can_view(channel.id) is True
        assert await rest.access.everyone_can_view(locked.id) is False
        assert await rest.access.everyone_can_view(locked_thread.id) is False
        assert await rest.access.member_can_view(locked.id, alice.id) is True
        assert await rest.access.member_can_view(locked.id, bob.id) is False
        assert await rest.access.member_can_view(channel.id, outsider.id) is False
        assert await rest.access.member_can_view(locked_thread.id, alice.id) is True


async def test_private_thread_is_visible_to_its_members_only(world):
    fake, guild, channel, alice, bob = world
    private = fake.add_thread(channel, "secret", private=True, members=[alice])

    async with DiscordRest() as rest:
        assert await rest.access.member_can_view(private.id, alice.id) is True
        assert await rest.access.member_can_view(private.id, bob.id) is False
        assert await rest.access.everyone_can_view(private.id) is False
