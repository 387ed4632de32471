"""DiscordRest against the fake Discord: paging, rate limits, permissions, sending, interactions."""

from __future__ import annotations

import aiohttp
import pytest

from botrunner.discord_rest import DiscordRest
from summarybot.discord.errors import (
    DiscordAuthFailed,
    DiscordCannotMessageUser,
    DiscordInteractionExpired,
    DiscordInvalidRequest,
    DiscordMissingAccess,
)
from summarybot.errors import PermissionDenied
from tests.fakes.discord import ChannelType, FakeDiscord, MessageType, Overwrite, Permission, RateLimitPolicy

HISTORY = r"^/channels/\d+/messages$"


def history_requests(fake: FakeDiscord) -> int:
    return len(fake.requests_matching("GET", HISTORY))


@pytest.fixture
def world(discord_settings: FakeDiscord):  # type: ignore[no-untyped-def]
    fake = discord_settings
    guild = fake.add_guild("Guild")
    alice = fake.add_member(guild, username="alice", global_name="Alice A.")
    bob = fake.add_member(guild, username="bob")
    channel = fake.add_channel(guild, "general")
    return fake, guild, channel, alice, bob


# ------------------------------------------------------------------------------- history paging
async def test_full_history_comes_oldest_first_in_one_request_per_hundred(world):
    fake, guild, channel, *_ = world
    stored = fake.add_messages(channel, 1050)
    pages: list[int] = []

    async with DiscordRest() as rest:
        messages = await rest.fetch_history(channel.id, on_page=pages.append)

    assert [m.id for m in messages] == [m.id for m in stored]
    assert messages[0].content == "message 0" and messages[-1].guild_id == guild.id
    # The channel's last_message_id tells us page 11 is the end: no empty request after it.
    assert history_requests(fake) == 11
    assert pages == [100 * n for n in range(1, 11)] + [1050]


async def test_limit_alone_returns_the_latest_messages(world):
    fake, _, channel, *_ = world
    stored = fake.add_messages(channel, 1000)

    async with DiscordRest() as rest:
        messages = await rest.fetch_history(channel.id, limit=250)

    assert [m.id for m in messages] == [m.id for m in stored[-250:]]
    assert history_requests(fake) == 3


async def test_after_and_before_ids_bound_the_window(world):
    fake, _, channel, *_ = world
    stored = fake.add_messages(channel, 600)

    async with DiscordRest() as rest:
        messages = await rest.fetch_history(channel.id, after_id=stored[99].id, before_id=stored[350].id)

    assert [m.id for m in messages] == [m.id for m in stored[100:350]]
    assert history_requests(fake) == 3


async def test_lower_bound_with_limit_keeps_the_first_messages_after_the_cursor(world):
    fake, _, channel, *_ = world
    stored = fake.add_messages(channel, 600)

    async with DiscordRest() as rest:
        messages = await rest.fetch_history(channel.id, after_id=stored[9].id, limit=150)

    assert [m.id for m in messages] == [m.id for m in stored[10:160]]
    assert history_requests(fake) == 2


async def test_since_includes_messages_sent_at_that_moment(world):
    fake, _, channel, *_ = world
    stored = fake.add_messages(channel, 300)

    async with DiscordRest() as rest:
        messages = await rest.fetch_history(channel.id, since=stored[120].created_at)

    assert [m.id for m in messages] == [m.id for m in stored[120:]]
    assert history_requests(fake) == 2


async def test_since_and_until_bound_a_time_range(world):
    fake, _, channel, *_ = world
    stored = fake.add_messages(channel, 300)

    async with DiscordRest() as rest:
        messages = await rest.fetch_history(channel.id, since=stored[50].created_at, until=stored[180].created_at)

    # From the message sent at `since` up to, not including, the one sent at `until`.
    assert [m.id for m in messages] == [m.id for m in stored[50:180]]


async def test_nothing_new_after_the_cursor_costs_no_history_request(world):
    fake, _, channel, *_ = world
    stored = fake.add_messages(channel, 30)

    async with DiscordRest() as rest:
        assert await rest.fetch_history(channel.id, after_id=stored[-1].id) == []

    assert history_requests(fake) == 0


async def test_a_429_in_the_middle_of_a_fetch_is_waited_out(world):
    fake, _, channel, *_ = world
    fake.add_messages(channel, 350)
    fake.fail_next("GET", HISTORY, status=429, retry_after=0.3, skip=2)

    async with DiscordRest() as rest:
        messages = await rest.fetch_history(channel.id)

    assert len(messages) == 350
    calls = fake.requests_matching("GET", HISTORY)
    assert [c.status for c in calls] == [200, 200, 429, 200, 200]
    assert calls[3].time - calls[2].time >= 0.3


async def test_a_502_is_retried(world):
    fake, _, channel, *_ = world
    fake.add_messages(channel, 150)
    fake.fail_next("GET", HISTORY, status=502, skip=1)

    async with DiscordRest() as rest:
        messages = await rest.fetch_history(channel.id)

    assert len(messages) == 150
    assert [c.status for c in fake.requests_matching("GET", HISTORY)] == [200, 502, 200]


async def test_wrong_token_is_an_auth_failure(world, settings):
    settings.DISCORD_TOKEN = "not-the-token"
    with pytest.raises(DiscordAuthFailed) as caught:
        async with DiscordRest():
            pass
    assert caught.value.permanent


# ----------------------------------------------------------------------------------- permissions
async def test_channel_hidden_from_the_bot_raises_missing_access_naming_view_channel(world):
    fake, guild, channel, *_ = world
    fake.add_messages(channel, 10)
    channel.overwrites.append(Overwrite(id=fake.bot_role(guild).id, deny=Permission.VIEW_CHANNEL))

    async with DiscordRest() as rest:
        with pytest.raises(DiscordMissingAccess) as caught:
            await rest.fetch_history(channel.id)
        computed = await rest.bot_missing_permissions(channel.id, guild_id=guild.id)

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
        assert await rest.bot_missing_permissions(channel.id) == ["read_message_history"]
        # Discord answers an empty page rather than an error: the client must not summarize "nothing".
        with pytest.raises(DiscordMissingAccess) as caught:
            await rest.fetch_history(channel.id)

    assert caught.value.missing_permissions == ["read_message_history"]


async def test_delivery_permissions_come_from_overwrites_and_threads_use_the_parent(world):
    fake, guild, channel, *_ = world
    bot_role = fake.bot_role(guild)
    guild.everyone.permissions = 0
    channel.overwrites.append(Overwrite(id=bot_role.id, deny=Permission.EMBED_LINKS))
    thread = fake.add_thread(channel, "talk")

    async with DiscordRest() as rest:
        assert await rest.bot_missing_permissions(channel.id, delivery=True) == ["embed_links"]
        assert await rest.bot_missing_permissions(thread.id, delivery=True) == ["embed_links"]
        with pytest.raises(DiscordMissingAccess) as caught:
            await rest.send_message(channel.id, embeds=[{"title": "Summary"}])

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
        assert await rest.everyone_can_view(hidden.id, guild_id=guild.id) is False
        assert await rest.member_can_view(hidden.id, guild.owner_id, guild_id=guild.id) is True
        with pytest.raises(DiscordMissingAccess):
            await rest.everyone_can_view(hidden.id)
        locked.overwrites.append(Overwrite(id=fake.bot_role(guild).id, allow=Permission.VIEW_CHANNEL))
        assert await rest.everyone_can_view(channel.id) is True
        assert await rest.everyone_can_view(locked.id) is False
        assert await rest.everyone_can_view(locked_thread.id) is False
        assert await rest.member_can_view(locked.id, alice.id) is True
        assert await rest.member_can_view(locked.id, bob.id) is False
        assert await rest.member_can_view(channel.id, outsider.id) is False
        assert await rest.member_can_view(locked_thread.id, alice.id) is True


async def test_private_thread_is_visible_to_its_members_only(world):
    fake, guild, channel, alice, bob = world
    private = fake.add_thread(channel, "secret", private=True, members=[alice])

    async with DiscordRest() as rest:
        assert await rest.member_can_view(private.id, alice.id) is True
        assert await rest.member_can_view(private.id, bob.id) is False
        assert await rest.everyone_can_view(private.id) is False


# --------------------------------------------------------------------------------------- sending
async def test_send_message_with_embed_and_file_and_no_pings(world):
    fake, _, channel, alice, _ = world

    async with DiscordRest() as rest:
        message_id = await rest.send_message(
            channel.id,
            content=f"Summary for <@{alice.id}> @everyone",
            embeds=[{"title": "Summary", "description": "Three topics", "fields": [{"name": "A", "value": "B"}]}],
            file=("summary.md", b"# Summary\n"),
        )

    stored = fake.message(channel, message_id)
    assert stored.author_id == fake.bot_user.id
    assert stored.embeds[0]["title"] == "Summary" and stored.embeds[0]["fields"][0]["value"] == "B"
    assert [(a.filename, a.data) for a in stored.attachments] == [("summary.md", b"# Summary\n")]
    assert stored.mentions == []  # allowed_mentions none: quoted names are not pinged
    post = fake.requests_matching("POST", r"/messages$")[-1]
    assert post.json["allowed_mentions"] == {"parse": []}
    assert post.files == (("summary.md", b"# Summary\n"),)


async def test_content_over_2000_characters_is_rejected_like_discord(world):
    fake, _, channel, *_ = world

    async with DiscordRest() as rest:
        with pytest.raises(DiscordInvalidRequest) as caught:
            await rest.send_message(channel.id, content="x" * 2001)
        with pytest.raises(DiscordInvalidRequest):
            await rest.send_message(channel.id, embeds=[{"description": "y" * 4000}, {"description": "z" * 2500}])

    assert caught.value.permanent and caught.value.discord_code == 50035
    assert fake.channel_messages(channel) == []


async def test_dm_and_closed_dms(world):
    fake, guild, _, alice, _ = world
    closed = fake.add_member(guild, fake.add_user("private-person", accepts_dms=False))

    async with DiscordRest() as rest:
        message_id = await rest.send_dm(alice.id, content="Your summary is ready")
        with pytest.raises(DiscordCannotMessageUser):
            await rest.send_dm(closed.id, content="hello")

    dm = fake.add_dm(alice)
    assert fake.message(dm, message_id).content == "Your summary is ready"


async def test_thread_creation_from_a_message_in_a_channel_and_in_a_forum(world):
    fake, guild, channel, alice, _ = world
    starter = fake.add_message(channel, alice, "let's plan")
    forum = fake.add_channel(guild, "summaries", type=ChannelType.FORUM)

    async with DiscordRest() as rest:
        from_message = await rest.create_thread(channel.id, name="Plan", message_id=starter.id)
        standalone = await rest.create_thread(channel.id, name="Weekly summary " + "x" * 200)
        post = await rest.create_thread(forum.id, name="Week 12", embeds=[{"title": "Summary"}])
        await rest.send_message(standalone, content="in the thread")

    assert from_message == starter.id  # Discord gives the thread the message's id
    assert fake.channels[standalone].parent_id == channel.id
    assert fake.channels[standalone].name == "Weekly summary " + "x" * 85
    assert fake.channel_messages(standalone)[0].content == "in the thread"
    assert fake.channels[post].parent_id == forum.id
    assert fake.channel_messages(post)[0].embeds[0]["title"] == "Summary"


# ---------------------------------------------------------------------------------- interactions
async def _defer(fake: FakeDiscord, payload: dict) -> None:
    """What the gateway bot does within 3 s: acknowledge with a deferred ("thinking") response."""
    url = f"{fake.api_base}/interactions/{payload['id']}/{payload['token']}/callback?with_response=1"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"type": 5, "data": {"flags": 64}}) as response:
            assert response.status == 200


async def test_followup_and_edit_until_the_token_expires(world):
    fake, _, channel, alice, _ = world
    payload = fake.slash_command_payload(channel=channel, user=alice, name="summarize", options={"hours": 4})
    await _defer(fake, payload)
    app_id, token = fake.application.id, payload["token"]

    async with DiscordRest() as rest:
        original = await rest.edit_original_response(app_id, token, content="Working… 40%")
        followup = await rest.interaction_followup(
            app_id, token, embeds=[{"title": "Summary"}], file=("s.md", b"text"), ephemeral=True
        )
        fake.expire_interaction(payload)
        with pytest.raises(DiscordInteractionExpired) as caught:
            await rest.interaction_followup(app_id, token, content="too late")
        with pytest.raises(DiscordInteractionExpired):
            await rest.edit_original_response(app_id, token, content="too late")

    assert caught.value.permanent
    sent = fake.interaction_messages(payload)
    assert [m.id for m in sent] == [original, followup]
    assert sent[0].content == "Working… 40%" and not sent[0].flags & (1 << 7)  # no longer "thinking"
    assert sent[1].flags & (1 << 6) and sent[1].attachments[0].filename == "s.md"
    assert fake.channel_messages(channel) == []  # ephemeral messages never enter the channel's history


# ------------------------------------------------------------------------------------ conversion
async def test_conversion_of_mentions_attachments_embeds_reactions_replies_and_system_messages(world):
    fake, guild, channel, alice, bob = world
    role = fake.add_role(guild, "Designers")
    other = fake.add_channel(guild, "design")
    first = fake.add_message(
        channel, alice, "first", attachments=[("plan.png", b"\x89PNG")], reactions={"👍": 3, "🎉": 1}
    )
    reply = fake.add_message(
        channel,
        bob,
        f"<@{alice.id}> ask <@&{role.id}> in <#{other.id}>",
        reply_to=first.id,
        embeds=[{"type": "rich", "title": "Spec", "description": "v2", "url": "https://example.com/spec"}],
    )
    join = fake.add_message(channel, bob, "", type=MessageType.USER_JOIN)

    async with DiscordRest() as rest:
        messages = await rest.fetch_history(channel.id)
        single = await rest.fetch_message(channel.id, reply.id)

    by_id = {m.id: m for m in messages}
    m1, m2, m3 = by_id[first.id], by_id[reply.id], by_id[join.id]
    assert m1.author.shown_name == "Alice A." and m1.kind == "default" and m1.reactions == 4
    assert m1.attachments[0].filename == "plan.png" and m1.attachments[0].content_type == "image/png"
    assert m1.attachments[0].size == 4 and m1.guild_id == guild.id and m1.channel_id == channel.id
    assert m2.kind == "reply" and m2.reply_to == first.id
    assert m2.user_mentions == {alice.id: "Alice A."}
    assert m2.role_mentions == {role.id: "Designers"}
    assert m2.channel_mentions == {other.id: "design"}
    assert m2.embeds[0].title == "Spec" and m2.embeds[0].url == "https://example.com/spec"
    assert m3.kind == "system" and "bob" in m3.content
    assert single == m2


async def test_without_the_message_content_intent_only_the_bots_own_content_is_readable(world):
    fake, _, channel, alice, _ = world
    fake.add_message(channel, alice, "secret words")
    fake.add_message(channel, fake.bot_user, "bot summary")
    fake.set_message_content_intent(False)

    async with DiscordRest() as rest:
        messages = await rest.fetch_history(channel.id)

    assert [m.content for m in messages] == ["", "bot summary"]


async def test_rate_limit_headers_make_the_client_wait_instead_of_hitting_429(world):
    fake, _, channel, *_ = world
    fake.add_messages(channel, 1000)
    fake.rate_limit = RateLimitPolicy(limit=4, window=0.2)

    async with DiscordRest() as rest:
        messages = await rest.fetch_history(channel.id)

    calls = fake.requests_matching("GET", HISTORY)
    assert len(messages) == 1000 and len(calls) == 10
    assert all(c.status == 200 for c in calls)  # discord.py paused on Remaining: 0 each time
    assert calls[-1].time - calls[0].time >= 0.4


# ------------------------------------------------------------------- the fake's own Discord rules
async def test_fake_history_pages_are_ordered_like_discord(world):
    fake, _, channel, *_ = world
    ids = [m.id for m in fake.add_messages(channel, 300)]
    headers = {"Authorization": f"Bot {fake.bot_token}"}
    url = f"{fake.api_base}/channels/{channel.id}/messages"

    async def page(**query: int) -> list[int]:
        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.get(url, params={k: str(v) for k, v in query.items()}) as response:
                assert response.headers["Content-Type"] == "application/json"
                return [int(m["id"]) for m in await response.json()]

    # Always newest first; `after` gives the messages right after the id, `before` right before it.
    assert await page(limit=3) == ids[:-4:-1]
    assert await page(limit=3, after=ids[10]) == [ids[13], ids[12], ids[11]]
    assert await page(limit=3, before=ids[10]) == [ids[9], ids[8], ids[7]]
    assert await page(limit=4, around=ids[10]) == [ids[12], ids[11], ids[10], ids[9]]
    assert len(await page()) == 50  # Discord's default page size
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.get(url, params={"limit": "101"}) as response:
            assert response.status == 400 and (await response.json())["code"] == 50035
