"""An unmodified discord.py commands.Bot against the fake gateway: READY, events, app commands, RESUME."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import discord
import pytest
from discord.ext import commands

from summarybot.discord.session import apply_endpoint_settings
from tests.fakes.discord import FakeDiscord, Guild, Intent, User, snowflake_at
from tests.fakes.discord.state import Channel

TIMEOUT = 5.0


@dataclass
class Seen:
    messages: list[discord.Message] = field(default_factory=list)
    message_arrived: asyncio.Event = field(default_factory=asyncio.Event)
    resumed: asyncio.Event = field(default_factory=asyncio.Event)
    commands: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class Running:
    bot: commands.Bot
    seen: Seen
    fake: FakeDiscord
    guild: Guild
    channel: Channel
    alice: User


def make_bot(seen: Seen) -> commands.Bot:
    intents = discord.Intents.default()
    intents.message_content = True
    intents.members = True
    bot = commands.Bot(command_prefix="!", intents=intents, guild_ready_timeout=0.05, log_handler=None)

    @bot.event
    async def on_message(message: discord.Message) -> None:
        seen.messages.append(message)
        seen.message_arrived.set()

    @bot.event
    async def on_resumed() -> None:
        seen.resumed.set()

    @bot.tree.command(name="summarize", description="Summarize the channel")
    async def summarize(interaction: discord.Interaction, hours: int = 24) -> None:
        seen.commands.append(("summarize", hours))
        await interaction.response.defer(thinking=True)
        await interaction.followup.send(f"Summary of the last {hours} hours")

    @bot.tree.context_menu(name="Summarize thread")
    async def summarize_from(interaction: discord.Interaction, message: discord.Message) -> None:
        seen.commands.append(("Summarize thread", message.id))
        await interaction.response.send_message(f"Summarizing after {message.author.display_name}", ephemeral=True)

    return bot


@pytest.fixture
async def running(discord_settings: FakeDiscord) -> AsyncIterator[Running]:
    fake = discord_settings
    guild = fake.add_guild("Guild")
    alice = fake.add_member(guild, username="alice", nick="Ali")
    channel = fake.add_channel(guild, "general")
    fake.add_thread(channel, "side talk")
    apply_endpoint_settings()
    seen = Seen()
    bot = make_bot(seen)
    task = asyncio.create_task(bot.start(fake.bot_token))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), TIMEOUT)
        yield Running(bot=bot, seen=seen, fake=fake, guild=guild, channel=channel, alice=alice)
    finally:
        await bot.close()
        await asyncio.wait_for(task, TIMEOUT)


async def test_bot_becomes_ready_with_the_guild_cached(running: Running):
    bot, fake, guild = running.bot, running.fake, running.guild

    assert bot.user is not None and bot.user.id == fake.bot_user.id
    assert bot.application_id == fake.application.id
    cached = bot.get_guild(guild.id)
    assert cached is not None and not cached.unavailable
    assert [c.name for c in cached.text_channels] == ["general"]
    assert [t.name for t in cached.threads] == ["side talk"]
    assert cached.get_member(running.alice.id).display_name == "Ali"
    assert cached.me.guild_permissions.read_message_history
    assert cached.get_channel(running.channel.id).permissions_for(cached.me).send_messages
    session = fake.sessions[0]
    assert session.intents & Intent.MESSAGE_CONTENT and fake.heartbeats >= 1


async def test_message_create_reaches_on_message(running: Running):
    fake, seen = running.fake, running.seen

    sent = await fake.post_message_async(running.channel, running.alice, f"hello <@{fake.bot_user.id}>")
    await asyncio.wait_for(seen.message_arrived.wait(), TIMEOUT)

    message = seen.messages[-1]
    assert message.id == sent.id and message.content.startswith("hello")
    assert message.author.display_name == "Ali" and message.guild.id == running.guild.id
    assert running.bot.user in message.mentions


async def test_slash_command_defers_then_follows_up(running: Running):
    fake, bot = running.fake, running.bot
    dev_guild = discord.Object(running.guild.id)
    bot.tree.copy_global_to(guild=dev_guild)
    await bot.tree.sync(guild=dev_guild)
    assert fake.command_syncs[-1][0] == running.guild.id
    assert {c["name"] for c in fake.command_syncs[-1][1]} == {"summarize", "Summarize thread"}

    since = len(fake.requests)
    payload = fake.slash_command_payload(
        channel=running.channel, user=running.alice, name="summarize", options={"hours": 4}
    )
    await fake.dispatch_async("INTERACTION_CREATE", payload)

    followup = await fake.wait_for_request_async(
        lambda r: r.method == "POST" and r.path.startswith(f"/webhooks/{fake.application.id}/"), since=since
    )
    callback = fake.requests_matching("POST", r"^/interactions/")[-1]
    assert callback.json["type"] == 5 and callback.query == {"with_response": "1"} and not callback.authorized
    assert followup.json["content"] == "Summary of the last 4 hours" and followup.status == 200
    assert running.seen.commands == [("summarize", 4)]
    assert [m.content for m in fake.interaction_messages(payload)] == ["", "Summary of the last 4 hours"]


async def test_message_context_menu_answers_ephemerally(running: Running):
    fake = running.fake
    target = fake.add_message(running.channel, running.alice, "start here")

    payload = fake.message_command_payload(target=target, user=running.alice, name="Summarize thread")
    await fake.dispatch_async("INTERACTION_CREATE", payload)
    await fake.wait_for_request_async(lambda r: r.path.startswith(f"/interactions/{payload['id']}/"))

    assert running.seen.commands == [("Summarize thread", target.id)]
    (answer,) = fake.interaction_messages(payload)
    assert answer.content == "Summarizing after Ali" and answer.flags & (1 << 6)


async def test_dropped_connection_is_resumed_and_missed_events_replayed(running: Running):
    fake, seen = running.fake, running.seen

    assert fake.drop_connections() == 1
    # Dispatched while the bot is disconnected: buffered and replayed on RESUME, like Discord.
    sent = await fake.post_message_async(running.channel, running.alice, "while you were away")
    await asyncio.wait_for(seen.resumed.wait(), TIMEOUT)
    await asyncio.wait_for(seen.message_arrived.wait(), TIMEOUT)

    assert seen.messages[-1].id == sent.id
    assert len(fake.sessions) == 1 and fake.sessions[0].resumes == 1
    assert running.bot.get_guild(running.guild.id) is not None


async def test_bot_without_the_privileged_intent_flag_is_refused(discord_settings: FakeDiscord):
    fake = discord_settings
    fake.set_message_content_intent(False)
    apply_endpoint_settings()
    bot = make_bot(Seen())

    with pytest.raises(discord.PrivilegedIntentsRequired):
        await asyncio.wait_for(bot.start(fake.bot_token), TIMEOUT)
    await bot.close()


async def test_state_events_keep_the_cache_in_step(running: Running):
    fake, bot, guild = running.fake, running.bot, running.guild
    reactions: list[discord.RawReactionActionEvent] = []
    bulk: list[discord.RawBulkMessageDeleteEvent] = []
    threads: list[discord.Thread] = []
    done = asyncio.Event()

    async def on_raw_reaction_add(payload: discord.RawReactionActionEvent) -> None:
        reactions.append(payload)

    async def on_raw_bulk_message_delete(payload: discord.RawBulkMessageDeleteEvent) -> None:
        bulk.append(payload)

    async def on_thread_create(thread: discord.Thread) -> None:
        threads.append(thread)
        done.set()

    for listener in (on_raw_reaction_add, on_raw_bulk_message_delete, on_thread_create):
        bot.add_listener(listener)
    messages = fake.add_messages(running.channel, 3, authors=[running.alice])
    new_channel = fake.add_channel(guild, "announcements")

    await fake.dispatch_async("CHANNEL_CREATE", fake.channel_payload(new_channel))
    await fake.dispatch_async("MESSAGE_REACTION_ADD", fake.reaction_add_payload(messages[0], running.alice, "🔥"))
    await fake.dispatch_async(*fake.delete_messages_payload(running.channel, [m.id for m in messages[1:]]))
    await fake.dispatch_async(
        "THREAD_CREATE", fake.thread_create_payload(fake.add_thread(running.channel, "new topic"))
    )
    await asyncio.wait_for(done.wait(), TIMEOUT)

    assert bot.get_channel(new_channel.id).name == "announcements"
    assert reactions[0].emoji.name == "🔥" and reactions[0].member.id == running.alice.id
    assert bulk[0].message_ids == {m.id for m in messages[1:]}
    assert threads[0].name == "new topic" and threads[0].parent_id == running.channel.id
    assert [m.id for m in fake.channel_messages(running.channel)] == [messages[0].id]


async def test_button_click_updates_the_message(running: Running):
    fake, bot = running.fake, running.bot
    message = fake.add_message(running.channel, fake.bot_user, "Summary ready")
    message.components = [
        {"type": 1, "components": [{"type": 2, "style": 1, "label": "Refresh", "custom_id": "refresh"}]}
    ]

    async def on_interaction(interaction: discord.Interaction) -> None:
        if interaction.data and interaction.data.get("custom_id") == "refresh":
            await interaction.response.edit_message(content="Summary refreshed")

    bot.add_listener(on_interaction)
    payload = fake.component_payload(message=message, user=running.alice, custom_id="refresh")
    await fake.dispatch_async("INTERACTION_CREATE", payload)
    callback = await fake.wait_for_request_async(lambda r: r.path.startswith(f"/interactions/{payload['id']}/"))

    assert callback.json["type"] == 7 and callback.status == 200
    assert fake.message(running.channel, message.id).content == "Summary refreshed"


async def test_zlib_stream_frames_are_understood(discord_settings: FakeDiscord):
    fake = discord_settings
    fake.gateway_compression = True
    fake.add_guild("Compressed")
    apply_endpoint_settings()
    bot = make_bot(Seen())
    task = asyncio.create_task(bot.start(fake.bot_token))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), TIMEOUT)
        assert [g.name for g in bot.guilds] == ["Compressed"]
    finally:
        await bot.close()
        await asyncio.wait_for(task, TIMEOUT)


async def test_sharded_bot_gets_each_guild_on_its_shard(discord_settings: FakeDiscord):
    fake = discord_settings
    guilds = [fake.add_guild(f"Guild {n}") for n in range(4)]
    fake.recommended_shards = 2
    apply_endpoint_settings()

    class QuickShards(commands.AutoShardedBot):
        async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
            """discord.py waits 5 s between IDENTIFYs (max_concurrency 1); the fake needs no pause."""

    bot = QuickShards(command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05)
    task = asyncio.create_task(bot.start(fake.bot_token))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), TIMEOUT)
        assert sorted(g.id for g in bot.guilds) == sorted(g.id for g in guilds)
        assert all(g.shard_id == (g.id >> 22) % 2 for g in bot.guilds)
        assert sorted(s.shard for s in fake.sessions) == [(0, 2), (1, 2)]
        assert fake.requests_matching("GET", r"^/gateway/bot$")
    finally:
        await bot.close()
        await asyncio.wait_for(task, TIMEOUT)


def test_snowflakes_made_for_now_only_grow_even_past_4096_in_one_millisecond():
    # The increment is 12 bits: thousands of messages stored in a burst used to wrap it within one millisecond,
    # giving a later message a smaller id (and a window ending at an interaction's id lost messages).

    made = [snowflake_at() for _ in range(10_000)]
    assert made == sorted(made) and len(set(made)) == len(made)
