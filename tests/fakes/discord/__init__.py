"""A fake Discord on real sockets (REST + gateway) for driving unmodified discord.py in tests.

    with FakeDiscord() as fake:
        guild = fake.add_guild()
        channel = fake.add_channel(guild, "general")
        fake.add_messages(channel, 250)
        ...  # point discord.py (or settings.DISCORD_API_BASE_URL) at fake.api_base / fake.gateway_url

Fixtures: tests/fakes/discord/fixtures.py (`fake_discord`, `discord_settings`).

Setting up (sync, thread-safe; objects are returned and may be tweaked directly):
    add_user, add_guild (bot joins with a managed role: bot_role(guild)), add_role, add_member,
    add_channel (text/news/forum/category...), add_thread, add_forum_post, add_dm, lock_channel,
    add_message, add_messages(channel, n), set_message_content_intent, permissions(channel, user)
Gateway (sync / async pairs): dispatch / dispatch_async(event, data), post_message / post_message_async,
    drop_connections, send_reconnect, invalidate_sessions, wait_for_sessions[_async], sessions, heartbeats
Payload builders: slash_command_payload, message_command_payload, component_payload, message_payload,
    edit_message_payload, delete_messages_payload, reaction_add_payload, channel_payload,
    thread_create_payload, guild_payload
REST observation and scripting: requests, requests_matching, clear_requests, wait_for_request[_async],
    fail_next (429 / 5xx / anything, with skip/times), hold_next (handle a request, hold its answer: kill
    the client meanwhile), nonce_window (enforce_nonce dedupe, like Discord), rate_limit (RateLimitPolicy), command_syncs,
    interaction_messages, expire_interaction, channel_messages, message
"""

from .constants import (
    ALL_PERMISSIONS,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE,
    AppFlag,
    ChannelType,
    Intent,
    MessageType,
    Permission,
)
from .http import RateLimitPolicy, RecordedRequest
from .server import FakeDiscord
from .state import Channel, Guild, Member, Message, Overwrite, Role, User, snowflake_at

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_EVERYONE",
    "AppFlag",
    "Channel",
    "ChannelType",
    "FakeDiscord",
    "Guild",
    "Intent",
    "Member",
    "Message",
    "MessageType",
    "Overwrite",
    "Permission",
    "RateLimitPolicy",
    "RecordedRequest",
    "Role",
    "User",
    "snowflake_at",
]
