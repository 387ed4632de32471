"""Posting against the fake Discord: messages, files, DMs, threads and forum posts, never a ping."""

from __future__ import annotations

import pytest

from summarybot.discord.client import DiscordRest
from summarybot.discord.errors import DiscordCannotMessageUser, DiscordInvalidRequest
from summarybot.discord.pager import PagerPosition
from tests.fakes.discord import ChannelType


async def test_send_message_with_embed_and_file_and_no_pings(world):
    fake, _, channel, alice, _ = world

    async with DiscordRest() as rest:
        message_id = await rest.delivery.send_message(
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
            await rest.delivery.send_message(channel.id, content="x" * 2001)
        with pytest.raises(DiscordInvalidRequest):
            await rest.delivery.send_message(
                channel.id, embeds=[{"description": "y" * 4000}, {"description": "z" * 2500}]
            )

    assert caught.value.permanent and caught.value.discord_code == 50035
    assert fake.channel_messages(channel) == []


async def test_dm_and_closed_dms(world):
    fake, guild, _, alice, _ = world
    closed = fake.add_member(guild, fake.add_user("private-person", accepts_dms=False))

    async with DiscordRest() as rest:
        message_id = await rest.delivery.send_dm(alice.id, content="Your summary is ready")
        with pytest.raises(DiscordCannotMessageUser):
            await rest.delivery.send_dm(closed.id, content="hello")

    dm = fake.add_dm(alice)
    assert fake.message(dm, message_id).content == "Your summary is ready"


async def test_thread_creation_from_a_message_in_a_channel_and_in_a_forum(world):
    fake, guild, channel, alice, _ = world
    starter = fake.add_message(channel, alice, "let's plan")
    forum = fake.add_channel(guild, "summaries", type=ChannelType.FORUM)

    async with DiscordRest() as rest:
        from_message = await rest.delivery.create_thread(channel.id, name="Plan", message_id=starter.id)
        standalone = await rest.delivery.create_thread(channel.id, name="Weekly summary " + "x" * 200)
        post = await rest.delivery.create_thread(forum.id, name="Week 12", embeds=[{"title": "Summary"}])
        await rest.delivery.send_message(standalone, content="in the thread")

    assert from_message == starter.id  # Discord gives the thread the message's id
    assert fake.channels[standalone].parent_id == channel.id
    assert fake.channels[standalone].name == "Weekly summary " + "x" * 85
    assert fake.channel_messages(standalone)[0].content == "in the thread"
    assert fake.channels[post].parent_id == forum.id
    assert fake.channel_messages(post)[0].embeds[0]["title"] == "Summary"


async def test_a_summary_page_goes_out_with_its_pager_buttons_and_a_single_page_without(world):
    fake, _, channel, *_ = world

    async with DiscordRest() as rest:
        paged = await rest.delivery.send_message(channel.id, embeds=[{"title": "S"}], pager=PagerPosition(42, 0, 3))
        single = await rest.delivery.send_message(channel.id, embeds=[{"title": "S"}], pager=PagerPosition(43, 0, 1))

    buttons = fake.message(channel, paged).components[0]["components"]
    assert [(b["label"], b["custom_id"], b["disabled"]) for b in buttons] == [
        ("◀", "sumpage:42:-1", True),
        ("1/3", "sumpage:42:noop", True),
        ("▶", "sumpage:42:1", False),
    ]
    assert fake.message(channel, single).components == []
    assert "components" not in fake.requests_matching("POST", r"/messages$")[-1].json
