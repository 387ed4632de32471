"""Reading channels against the fake Discord: history paging, message conversion, the fake's own paging rules."""

from __future__ import annotations

import aiohttp

from summarybot.discord.client import DiscordRest
from tests.fakes.discord import MessageType
from tests.summarybot.discord_support import history_requests


async def test_full_history_comes_oldest_first_in_one_request_per_hundred(world):
    fake, guild, channel, *_ = world
    stored = fake.add_messages(channel, 1050)
    pages: list[int] = []

    async with DiscordRest() as rest:
        messages = await rest.history.fetch_history(channel.id, on_page=pages.append)

    assert [m.id for m in messages] == [m.id for m in stored]
    assert messages[0].content == "message 0" and messages[-1].guild_id == guild.id
    # The channel's last_message_id tells us page 11 is the end: no empty request after it.
    assert history_requests(fake) == 11
    assert pages == [100 * n for n in range(1, 11)] + [1050]


async def test_limit_alone_returns_the_latest_messages(world):
    fake, _, channel, *_ = world
    stored = fake.add_messages(channel, 1000)

    async with DiscordRest() as rest:
        messages = await rest.history.fetch_history(channel.id, limit=250)

    assert [m.id for m in messages] == [m.id for m in stored[-250:]]
    assert history_requests(fake) == 3


async def test_after_and_before_ids_bound_the_window(world):
    fake, _, channel, *_ = world
    stored = fake.add_messages(channel, 600)

    async with DiscordRest() as rest:
        messages = await rest.history.fetch_history(channel.id, after_id=stored[99].id, before_id=stored[350].id)

    assert [m.id for m in messages] == [m.id for m in stored[100:350]]
    assert history_requests(fake) == 3


async def test_lower_bound_with_limit_keeps_the_first_messages_after_the_cursor(world):
    fake, _, channel, *_ = world
    stored = fake.add_messages(channel, 600)

    async with DiscordRest() as rest:
        messages = await rest.history.fetch_history(channel.id, after_id=stored[9].id, limit=150)

    assert [m.id for m in messages] == [m.id for m in stored[10:160]]
    assert history_requests(fake) == 2


async def test_since_includes_messages_sent_at_that_moment(world):
    fake, _, channel, *_ = world
    stored = fake.add_messages(channel, 300)

    async with DiscordRest() as rest:
        messages = await rest.history.fetch_history(channel.id, since=stored[120].created_at)

    assert [m.id for m in messages] == [m.id for m in stored[120:]]
    assert history_requests(fake) == 2


async def test_since_and_until_bound_a_time_range(world):
    fake, _, channel, *_ = world
    stored = fake.add_messages(channel, 300)

    async with DiscordRest() as rest:
        messages = await rest.history.fetch_history(
            channel.id, since=stored[50].created_at, until=stored[180].created_at
        )

    # From the message sent at `since` up to, not including, the one sent at `until`.
    assert [m.id for m in messages] == [m.id for m in stored[50:180]]


async def test_nothing_new_after_the_cursor_costs_no_history_request(world):
    fake, _, channel, *_ = world
    stored = fake.add_messages(channel, 30)

    async with DiscordRest() as rest:
        assert await rest.history.fetch_history(channel.id, after_id=stored[-1].id) == []

    assert history_requests(fake) == 0


async def test_conversion_of_mentions_attachments_embeds_reactions_replies_and_system_messages(world):
    fake, guild, channel, alice, bob = world
    role = fake.add_role(guild, "Designers")
    other = fake.add_channel(guild, "design")
    first = fake.add_message(
        channel, alice, "first", attachments=[("plan.png", b"\x89PNG")], reactions={"👍": 3, "🎉": 1, "shipit:4242": 2}
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
        messages = await rest.history.fetch_history(channel.id)
        single = await rest.history.fetch_message(channel.id, reply.id)

    by_id = {m.id: m for m in messages}
    m1, m2, m3 = by_id[first.id], by_id[reply.id], by_id[join.id]
    assert m1.author.shown_name == "Alice A." and m1.kind == "default" and m1.reactions == 6
    assert m1.reaction_emojis == {"👍": 3, "🎉": 1, "shipit": 2}  # by name, a custom emoji's too
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
        messages = await rest.history.fetch_history(channel.id)

    assert [m.content for m in messages] == ["", "bot summary"]


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
