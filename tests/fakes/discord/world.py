"""The test-facing API that sets up the fake's Discord, and the JSON rendering of what it holds.

Every mutation takes the fake's lock: the server thread reads the same objects.
"""

from __future__ import annotations

import mimetypes
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from .constants import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE,
    AppFlag,
    ChannelType,
    MessageType,
    Permission,
)
from .state import (
    Application,
    Attachment,
    Channel,
    Guild,
    Member,
    Message,
    Overwrite,
    Role,
    User,
    compute_permissions,
    iso,
    snowflake_at,
)

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_CHANNEL_MENTION = re.compile(r"<#(\d+)>")
# A custom emoji is stored as "name:id" (how Discord's reaction routes spell it), a Unicode one as itself.
_CUSTOM_EMOJI = re.compile(r"^(?P<name>\w+):(?P<id>\d+)$")


def _emoji_json(emoji: str) -> dict[str, Any]:
    """A reaction's emoji as Discord sends it: {"id": null, "name": "✅"} or {"id": "…", "name": "shipit"}."""
    custom = _CUSTOM_EMOJI.match(emoji)
    if custom:
        return {"id": custom["id"], "name": custom["name"], "animated": False}
    return {"id": None, "name": emoji}


class World:
    """State and setup helpers; mixed into FakeDiscord."""

    _lock: threading.RLock
    cdn_base: str  # the server's own base URL, where attachment URLs point

    def _init_world(self, *, bot_token: str, bot_name: str, app_flags: int) -> None:
        self.bot_token = bot_token
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        owner = self.add_user("app-owner", global_name="App Owner")
        self.bot_user = self.add_user(bot_name.lower().replace(" ", "-"), global_name=None, bot=True)
        # On Discord a bot user shares its id with its application.
        self.application = Application(id=self.bot_user.id, name=bot_name, owner_id=owner.id, flags=int(app_flags))

    # ----------------------------------------------------------------- users, guilds, roles, members
    def add_user(
        self, username: str, *, global_name: str | None = None, bot: bool = False, accepts_dms: bool = True
    ) -> User:
        with self._lock:
            user = User(id=snowflake_at(), username=username, global_name=global_name, bot=bot, accepts_dms=accepts_dms)
            self.users[user.id] = user
            return user

    def set_message_content_intent(self, enabled: bool) -> None:
        """Toggle the application's MESSAGE_CONTENT flag (off: REST and gateway content comes back empty)."""
        with self._lock:
            flags = AppFlag.GATEWAY_MESSAGE_CONTENT | AppFlag.GATEWAY_MESSAGE_CONTENT_LIMITED
            self.application.flags = (
                (self.application.flags | AppFlag.GATEWAY_MESSAGE_CONTENT)
                if enabled
                else (self.application.flags & ~flags)
            )

    def add_guild(
        self,
        name: str = "Test Guild",
        *,
        owner: User | None = None,
        everyone_permissions: int = DEFAULT_EVERYONE,
        bot_permissions: int | None = DEFAULT_BOT_PERMISSIONS,
    ) -> Guild:
        """A guild with @everyone, an owner, and (unless bot_permissions is None) the bot as a member with
        a managed role holding `bot_permissions`."""
        with self._lock:
            owner = owner or self.add_user(f"owner-of-{name.lower().replace(' ', '-')}")
            guild = Guild(id=snowflake_at(), name=name, owner_id=owner.id)
            guild.roles[guild.id] = Role(
                id=guild.id, name="@everyone", permissions=int(everyone_permissions), mentionable=False
            )
            self.guilds[guild.id] = guild
            guild.members[owner.id] = Member(user_id=owner.id)
            if bot_permissions is not None:
                role = self.add_role(guild, self.application.name, int(bot_permissions), managed=True)
                guild.members[self.bot_user.id] = Member(user_id=self.bot_user.id, roles=[role.id])
            return guild

    def bot_role(self, guild: Guild | int) -> Role:
        """The bot's managed role in a guild (change `.permissions` to take permissions away)."""
        guild = self._guild(guild)
        member = guild.members[self.bot_user.id]
        return next(guild.roles[r] for r in member.roles if guild.roles[r].managed)

    def add_role(self, guild: Guild | int, name: str, permissions: int = 0, *, managed: bool = False) -> Role:
        with self._lock:
            guild = self._guild(guild)
            role = Role(
                id=snowflake_at(), name=name, permissions=int(permissions), position=len(guild.roles), managed=managed
            )
            guild.roles[role.id] = role
            return role

    def add_member(
        self,
        guild: Guild | int,
        user: User | None = None,
        *,
        username: str | None = None,
        roles: Iterable[Role | int] = (),
        nick: str | None = None,
        global_name: str | None = None,
    ) -> User:
        """Add a member (creating the user unless given) and return the user."""
        with self._lock:
            guild = self._guild(guild)
            if user is None:
                user = self.add_user(username or f"user{len(self.users)}", global_name=global_name)
            guild.members[user.id] = Member(
                user_id=user.id, roles=[r if isinstance(r, int) else r.id for r in roles], nick=nick
            )
            return user

    def remove_member(self, guild: Guild | int, user: User | int) -> None:
        with self._lock:
            self._guild(guild).members.pop(user if isinstance(user, int) else user.id, None)

    # ----------------------------------------------------------------------------------- channels
    def add_channel(
        self,
        guild: Guild | int,
        name: str = "general",
        *,
        type: int = ChannelType.TEXT,
        parent: Channel | int | None = None,
        overwrites: Sequence[Overwrite] = (),
        nsfw: bool = False,
        topic: str | None = None,
    ) -> Channel:
        """A guild channel (text, news, forum, category, voice). Threads: add_thread / add_forum_post."""
        with self._lock:
            guild = self._guild(guild)
            channel = Channel(
                id=snowflake_at(),
                type=int(type),
                name=name,
                guild_id=guild.id,
                parent_id=self._id(parent),
                position=len(guild.channel_ids),
                overwrites=list(overwrites),
                nsfw=nsfw,
                topic=topic,
            )
            self.channels[channel.id] = channel
            guild.channel_ids.append(channel.id)
            return channel

    def lock_channel(self, channel: Channel | int) -> None:
        """Deny VIEW_CHANNEL to @everyone (a "locked" channel); roles/members may still be allowed."""
        with self._lock:
            ch = self._channel(channel)
            ch.overwrites = [o for o in ch.overwrites if not (not o.member and o.id == ch.guild_id)]
            ch.overwrites.append(Overwrite(id=ch.guild_id or 0, deny=Permission.VIEW_CHANNEL))

    def add_thread(
        self,
        parent: Channel | int,
        name: str = "thread",
        *,
        owner: User | None = None,
        private: bool = False,
        members: Iterable[User | int] = (),
        thread_id: int | None = None,
    ) -> Channel:
        with self._lock:
            parent_ch = self._channel(parent)
            owner_id = owner.id if owner else self.bot_user.id
            thread = Channel(
                id=thread_id or snowflake_at(),
                type=ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD,
                name=name,
                guild_id=parent_ch.guild_id,
                parent_id=parent_ch.id,
                owner_id=owner_id,
                thread_member_ids={owner_id, *(self._id(m) for m in members)},  # type: ignore[misc]
            )
            self.channels[thread.id] = thread
            return thread

    def add_forum_post(self, forum: Channel | int, name: str, *, author: User, content: str = "") -> Channel:
        """A forum post: a thread whose starter message has the thread's id (as on Discord)."""
        with self._lock:
            post = self.add_thread(forum, name, owner=author)
            self.add_message(post, author, content or name, message_id=post.id)
            return post

    def add_dm(self, user: User | int) -> Channel:
        """The DM channel between the bot and a user (created once, like Discord)."""
        with self._lock:
            uid = self._id(user)
            for ch in self.channels.values():
                if ch.type == ChannelType.DM and ch.recipient_ids == [uid]:
                    return ch
            channel = Channel(id=snowflake_at(), type=ChannelType.DM, name=None, recipient_ids=[uid])  # type: ignore[list-item]
            self.channels[channel.id] = channel
            return channel

    # ----------------------------------------------------------------------------------- messages
    def add_message(
        self,
        channel: Channel | int,
        author: User | int,
        content: str = "",
        *,
        type: int = MessageType.DEFAULT,
        reply_to: int | None = None,
        attachments: Sequence[tuple[str, bytes]] = (),
        embeds: Sequence[dict[str, Any]] = (),
        reactions: dict[str, int] | None = None,
        at: datetime | None = None,
        message_id: int | None = None,
    ) -> Message:
        """Store a message as if it had been sent (no gateway event; see post_message for that).

        Mentions are parsed from the content's <@id>, <@&id> markup, like Discord does.
        """
        with self._lock:
            ch = self._channel(channel)
            message = Message(
                id=message_id or snowflake_at(at),
                channel_id=ch.id,
                author_id=self._id(author),  # type: ignore[arg-type]
                content=content,
                type=int(MessageType.REPLY if reply_to and type == MessageType.DEFAULT else type),
                reply_to=reply_to,
                embeds=[dict(e) for e in embeds],
                reactions=dict(reactions or {}),
            )
            message.mentions, message.mention_roles = self._parse_mentions(ch, content)
            for filename, data in attachments:
                message.attachments.append(self._make_attachment(ch.id, filename, data))
            ch.add_message(message)
            return message

    def add_messages(
        self,
        channel: Channel | int,
        count: int,
        *,
        authors: Sequence[User] | None = None,
        content: str | Callable[[int], str] = "message {i}",
        start: datetime | None = None,
        interval: timedelta = timedelta(seconds=10),
    ) -> list[Message]:
        """Generate `count` messages quickly (10,000 take well under a second), oldest first.

        By default they end about now, one every `interval`, authors taken in turn.
        """
        with self._lock:
            ch = self._channel(channel)
            if authors is None:
                guild = self.guilds.get(ch.guild_id or 0)
                member_ids = [uid for uid in (guild.members if guild else []) if uid != self.bot_user.id]
                authors = [self.users[uid] for uid in member_ids] or [self.add_user("chatter")]
            start = start or datetime.now(UTC) - interval * count
            out = []
            for i in range(count):
                text = content(i) if callable(content) else content.format(i=i)
                author = authors[i % len(authors)]
                message = Message(
                    id=snowflake_at(start + interval * i), channel_id=ch.id, author_id=author.id, content=text
                )
                if "<" in text:
                    message.mentions, message.mention_roles = self._parse_mentions(ch, text)
                ch.add_message(message)
                out.append(message)
            return out

    def message(self, channel: Channel | int, message_id: int) -> Message:
        return self._channel(channel).messages[message_id]

    def channel_messages(self, channel: Channel | int) -> list[Message]:
        """All stored messages of a channel, oldest first."""
        with self._lock:
            ch = self._channel(channel)
            return [ch.messages[i] for i in ch.message_ids]

    # ------------------------------------------------------------------------------ permissions
    def permissions(self, channel: Channel | int, user: User | int) -> int:
        """What Discord would compute for this user in this channel."""
        with self._lock:
            ch = self._channel(channel)
            guild = self.guilds.get(ch.guild_id or 0)
            if guild is None:
                return 0
            parent = self.channels.get(ch.parent_id or 0)
            return compute_permissions(guild, ch, self._id(user), parent)  # type: ignore[arg-type]

    # ------------------------------------------------------------------------------- rendering
    def user_json(self, user_id: int) -> dict[str, Any]:
        user = self.users.get(user_id)
        if user is None:
            return {
                "id": str(user_id),
                "username": "deleted-user",
                "global_name": None,
                "discriminator": "0",
                "avatar": None,
            }
        return user.to_json()

    def channel_json(self, channel: Channel | int) -> dict[str, Any]:
        ch = self._channel(channel)
        data = ch.to_json()
        if ch.type == ChannelType.DM:
            data["recipients"] = [self.user_json(uid) for uid in ch.recipient_ids]
        return data

    def message_json(self, message: Message, *, gateway: bool = False, content_visible: bool = True) -> dict[str, Any]:
        """A message as REST returns it, or (gateway=True) as MESSAGE_CREATE carries it (guild_id, member)."""
        ch = self.channels.get(message.channel_id)
        guild = self.guilds.get(ch.guild_id or 0) if ch else None
        author = self.user_json(message.author_id)
        if message.webhook_id:
            author["bot"] = True
        data: dict[str, Any] = {
            "id": str(message.id),
            "channel_id": str(message.channel_id),
            "type": int(message.type),
            "content": message.content if content_visible else "",
            "author": author,
            "timestamp": iso(message.created_at),
            "edited_timestamp": iso(message.edited_at) if message.edited_at else None,
            "tts": False,
            "mention_everyone": "@everyone" in message.content,
            "mentions": [self._mention_json(uid, guild, gateway) for uid in message.mentions],
            "mention_roles": [str(r) for r in message.mention_roles],
            "attachments": [a.to_json() for a in message.attachments] if content_visible else [],
            "embeds": message.embeds if content_visible else [],
            "components": message.components if content_visible else [],
            "pinned": message.pinned,
            "flags": message.flags,
        }
        if message.reactions:
            data["reactions"] = [
                {
                    "emoji": _emoji_json(emoji),
                    "count": count,
                    "count_details": {"burst": 0, "normal": count},
                    "me": False,
                    "me_burst": False,
                    "burst_colors": [],
                }
                for emoji, count in message.reactions.items()
            ]
        if message.webhook_id:
            data["webhook_id"] = str(message.webhook_id)
        if message.application_id:
            data["application_id"] = str(message.application_id)
        if message.reply_to is not None:
            data["message_reference"] = {
                "type": 0,
                "message_id": str(message.reply_to),
                "channel_id": str(message.channel_id),
                **({"guild_id": str(guild.id)} if guild else {}),
            }
            referenced = ch.messages.get(message.reply_to) if ch else None
            data["referenced_message"] = (
                self.message_json(referenced, content_visible=content_visible) if referenced else None
            )
        if gateway and guild is not None:
            data["guild_id"] = str(guild.id)
            member = guild.members.get(message.author_id)
            if member is not None and not message.webhook_id:
                data["member"] = member.to_json()
        return data

    def guild_create_json(self, guild: Guild | int, *, with_members: bool = True) -> dict[str, Any]:
        """The GUILD_CREATE dispatch for a guild (channels, active threads, roles, members)."""
        guild = self._guild(guild)
        data = guild.to_json()
        channels, threads = [], []
        for ch in self.channels.values():
            if ch.guild_id != guild.id:
                continue
            if ch.is_thread:
                if not ch.archived:
                    threads.append(self.channel_json(ch))
            else:
                channels.append(self.channel_json(ch))
        members = (
            guild.members.values()
            if with_members
            else [m for m in guild.members.values() if m.user_id == self.bot_user.id]
        )
        data.update(
            {
                "joined_at": iso(guild.members[self.bot_user.id].joined_at)
                if self.bot_user.id in guild.members
                else None,
                "large": False,
                "unavailable": False,
                "member_count": len(guild.members),
                "voice_states": [],
                "members": [m.to_json(self.users[m.user_id]) for m in members],
                "channels": channels,
                "threads": threads,
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
                "embedded_activities": [],
            }
        )
        return data

    def _mention_json(self, user_id: int, guild: Guild | None, gateway: bool) -> dict[str, Any]:
        data = self.user_json(user_id)
        if gateway and guild is not None and user_id in guild.members:
            data["member"] = guild.members[user_id].to_json()
        return data

    # ----------------------------------------------------------------------------------- helpers
    def _parse_mentions(self, ch: Channel, content: str) -> tuple[list[int], list[int]]:
        users = [int(m) for m in _USER_MENTION.findall(content) if int(m) in self.users]
        guild = self.guilds.get(ch.guild_id or 0)
        roles = [int(r) for r in _ROLE_MENTION.findall(content) if guild and int(r) in guild.roles]
        return list(dict.fromkeys(users)), list(dict.fromkeys(roles))

    def _make_attachment(
        self, channel_id: int, filename: str, data: bytes, content_type: str | None = None
    ) -> Attachment:
        att_id = snowflake_at()
        return Attachment(
            id=att_id,
            filename=filename,
            size=len(data),
            content_type=content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream",
            url=f"{self.cdn_base}/attachments/{channel_id}/{att_id}/{filename}",
            data=data,
        )

    def _guild(self, guild: Guild | int) -> Guild:
        return guild if isinstance(guild, Guild) else self.guilds[guild]

    def _channel(self, channel: Channel | int) -> Channel:
        return channel if isinstance(channel, Channel) else self.channels[channel]

    @staticmethod
    def _id(obj: Any) -> int | None:
        if obj is None:
            return None
        return obj if isinstance(obj, int) else obj.id
