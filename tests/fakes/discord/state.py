"""The fake's in-memory Discord: users, guilds, roles, members, channels, messages, and their JSON.

Objects are plain dataclasses that tests may tweak directly; `to_json` methods render them the way
Discord's API does (snowflakes as strings, ISO timestamps), which is what discord.py parses.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .constants import (
    ALL_PERMISSIONS,
    DISCORD_EPOCH_MS,
    THREAD_TYPES,
    ChannelType,
    MessageType,
    Permission,
)

_increment = itertools.count()
_increment_lock = threading.Lock()


_last_now = [0, 0]  # (ms, increment) of the last snowflake made for "now"


def snowflake_at(when: datetime | float | None = None) -> int:
    """A unique snowflake for a moment (datetime or epoch seconds; default now).

    Snowflakes for "now" only ever grow, as Discord's do: the 12-bit increment wrapping within one
    millisecond (a test storing thousands of messages) would otherwise give a later message a smaller id,
    and a window that ends at an interaction's id would lose messages depending on earlier tests.
    """
    if when is None:
        with _increment_lock:
            ms = max(int(time.time() * 1000), _last_now[0])
            inc = _last_now[1] + 1 if ms == _last_now[0] else 0
            if inc >= 4096:
                ms, inc = ms + 1, 0
            _last_now[:] = [ms, inc]
        return ((ms - DISCORD_EPOCH_MS) << 22) | (1 << 17) | inc
    ms = int(when.timestamp() * 1000) if isinstance(when, datetime) else int(when * 1000)
    with _increment_lock:
        inc = next(_increment) % 4096
    return ((ms - DISCORD_EPOCH_MS) << 22) | (1 << 17) | inc


def snowflake_time(snowflake: int) -> datetime:
    return datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, tz=UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


@dataclass
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    accepts_dms: bool = True

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class Application:
    id: int
    name: str
    owner_id: int
    flags: int
    description: str = "Summarizes conversations"

    def to_json(self, owner: User) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "description": self.description,
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": owner.to_json(),
            "team": None,
            "flags": self.flags,
            "rpc_origins": [],
            "tags": [],
            "install_params": None,
            "custom_install_url": None,
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "approximate_guild_count": 0,
        }


@dataclass
class Role:
    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    mentionable: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(int(self.permissions)),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }


@dataclass
class Member:
    user_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    communication_disabled_until: datetime | None = None

    def to_json(self, user: User | None = None, *, permissions: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": iso(self.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": (
                iso(self.communication_disabled_until) if self.communication_disabled_until else None
            ),
        }
        if user is not None:
            data["user"] = user.to_json()
        if permissions is not None:
            data["permissions"] = str(int(permissions))
        return data


@dataclass
class Overwrite:
    """A permission overwrite; `member=False` targets a role (the guild id is @everyone)."""

    id: int
    allow: int = 0
    deny: int = 0
    member: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": 1 if self.member else 0,
            "allow": str(int(self.allow)),
            "deny": str(int(self.deny)),
        }


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    unavailable: bool = False

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    def to_json(self) -> dict[str, Any]:
        """The REST guild object (GET /guilds/{id})."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [r.to_json() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "approximate_member_count": len(self.members),
            "approximate_presence_count": 0,
        }


@dataclass
class Attachment:
    id: int
    filename: str
    size: int
    content_type: str
    url: str
    data: bytes = b""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
        }


@dataclass
class Message:
    id: int
    channel_id: int
    author_id: int
    content: str = ""
    type: int = MessageType.DEFAULT
    mentions: list[int] = field(default_factory=list)
    mention_roles: list[int] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    reactions: dict[str, int] = field(default_factory=dict)
    reply_to: int | None = None
    flags: int = 0
    edited_at: datetime | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_id: int | None = None
    pinned: bool = False

    @property
    def created_at(self) -> datetime:
        return snowflake_time(self.id)


@dataclass
class Channel:
    id: int
    type: int
    name: str | None
    guild_id: int | None = None
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    nsfw: bool = False
    overwrites: list[Overwrite] = field(default_factory=list)
    # DMs
    recipient_ids: list[int] = field(default_factory=list)
    # threads
    owner_id: int | None = None
    thread_member_ids: set[int] = field(default_factory=set)
    archived: bool = False
    applied_tags: list[int] = field(default_factory=list)
    # messages, kept sorted by id so history queries are bisects
    message_ids: list[int] = field(default_factory=list)
    messages: dict[int, Message] = field(default_factory=dict)
    last_message_id: int | None = None

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    def add_message(self, message: Message) -> None:
        if self.message_ids and message.id < self.message_ids[-1]:
            bisect.insort(self.message_ids, message.id)
        else:
            self.message_ids.append(message.id)
        self.messages[message.id] = message
        if self.last_message_id is None or message.id > self.last_message_id:
            self.last_message_id = message.id

    def remove_message(self, message_id: int) -> Message | None:
        message = self.messages.pop(message_id, None)
        if message is not None:
            index = bisect.bisect_left(self.message_ids, message_id)
            del self.message_ids[index]
        return message

    def history(self, *, limit: int, before: int | None, after: int | None, around: int | None) -> list[Message]:
        """Messages as Discord's GET /channels/{id}/messages returns them: always newest first.

        `after` gives the `limit` messages right after the id (still newest first), `before` the ones
        right before it, `around` about half on each side (the id itself included), none the latest.
        """
        ids = self.message_ids
        if around is not None:
            newer_count = limit // 2
            split = bisect.bisect_right(ids, around)
            newer = ids[split : split + newer_count]
            older = ids[max(0, split - (limit - len(newer))) : split]
            chosen = older + newer
        elif before is not None:
            end = bisect.bisect_left(ids, before)
            chosen = ids[max(0, end - limit) : end]
        elif after is not None:
            start = bisect.bisect_right(ids, after)
            chosen = ids[start : start + limit]
        else:
            chosen = ids[-limit:]
        return [self.messages[i] for i in reversed(chosen)]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": str(self.id), "type": int(self.type), "flags": 0}
        if self.type == ChannelType.DM:
            data["last_message_id"] = str(self.last_message_id) if self.last_message_id else None
            return data  # recipients are filled in by the server, which knows the users
        data.update(
            {
                "guild_id": str(self.guild_id),
                "name": self.name,
                "position": self.position,
                "permission_overwrites": [o.to_json() for o in self.overwrites],
                "nsfw": self.nsfw,
                "parent_id": str(self.parent_id) if self.parent_id else None,
            }
        )
        if self.type in (ChannelType.TEXT, ChannelType.NEWS, ChannelType.FORUM, ChannelType.MEDIA) or self.is_thread:
            data["last_message_id"] = str(self.last_message_id) if self.last_message_id else None
            data["rate_limit_per_user"] = 0
        if self.type in (ChannelType.TEXT, ChannelType.NEWS, ChannelType.FORUM, ChannelType.MEDIA):
            data["topic"] = self.topic
            data["default_auto_archive_duration"] = 1440
        if self.type in (ChannelType.FORUM, ChannelType.MEDIA):
            data.update(
                {
                    "available_tags": [],
                    "default_reaction_emoji": None,
                    "default_sort_order": None,
                    "default_forum_layout": 0,
                    "default_thread_rate_limit_per_user": 0,
                }
            )
        if self.is_thread:
            created = snowflake_time(self.id)
            data.update(
                {
                    "owner_id": str(self.owner_id) if self.owner_id else None,
                    "message_count": len(self.message_ids),
                    "member_count": len(self.thread_member_ids),
                    "total_message_sent": len(self.message_ids),
                    "applied_tags": [str(t) for t in self.applied_tags],
                    "thread_metadata": {
                        "archived": self.archived,
                        "auto_archive_duration": 1440,
                        "archive_timestamp": iso(created),
                        "locked": False,
                        "create_timestamp": iso(created),
                        "invitable": True,
                    },
                }
            )
        return data


def compute_permissions(guild: Guild, channel: Channel | None, user_id: int, parent: Channel | None = None) -> int:
    """Discord's permission algorithm (roles, then @everyone/role/member overwrites, implicit denials)."""
    member = guild.members.get(user_id)
    if member is None:
        return 0
    if user_id == guild.owner_id:
        return ALL_PERMISSIONS
    perms = guild.everyone.permissions
    for role_id in member.roles:
        role = guild.roles.get(role_id)
        if role is not None:
            perms |= role.permissions
    if perms & Permission.ADMINISTRATOR:
        return ALL_PERMISSIONS
    if channel is None:
        return int(perms)
    source = parent if channel.is_thread and parent is not None else channel
    overwrites = source.overwrites
    for ow in overwrites:
        if not ow.member and ow.id == guild.id:
            perms = (perms & ~ow.deny) | ow.allow
    allow = deny = 0
    for ow in overwrites:
        if not ow.member and ow.id in member.roles:
            allow |= ow.allow
            deny |= ow.deny
    perms = (perms & ~deny) | allow
    for ow in overwrites:
        if ow.member and ow.id == user_id:
            perms = (perms & ~ow.deny) | ow.allow
    if member.communication_disabled_until and member.communication_disabled_until > datetime.now(UTC):
        perms &= Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY
    if not perms & Permission.VIEW_CHANNEL:
        return 0
    if channel.type == ChannelType.PRIVATE_THREAD and user_id not in channel.thread_member_ids:
        if not perms & Permission.MANAGE_THREADS:
            return 0
    send = Permission.SEND_MESSAGES_IN_THREADS if channel.is_thread else Permission.SEND_MESSAGES
    if not perms & send:
        perms &= ~(
            Permission.EMBED_LINKS
            | Permission.ATTACH_FILES
            | Permission.MENTION_EVERYONE
            | Permission.SEND_TTS_MESSAGES
        )
    return int(perms)
