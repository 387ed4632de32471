"""Gateway payload builders and "a user did X" helpers (store the change, then dispatch it).

The interaction builders register the interaction so that its callback and follow-ups are accepted,
and fill in what Discord sends: member with permissions, app_permissions, channel object, guild_id.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from .constants import DEFAULT_BOT_PERMISSIONS, ChannelType
from .state import Channel, Message, User, snowflake_at

_OPTION_TYPES = ((bool, 5), (int, 4), (float, 10), (str, 3))


def _option(name: str, value: Any) -> dict[str, Any]:
    for py_type, kind in _OPTION_TYPES:
        if isinstance(value, py_type):
            return {"name": name, "type": kind, "value": value}
    raise TypeError(f"option {name}: pass a raw option dict for {type(value).__name__}")


class Builders:
    """Mixed into FakeDiscord."""

    _lock: threading.RLock

    # --------------------------------------------------------------- user activity
    def post_message(self, channel: Channel | int, author: User | int, content: str = "", **kwargs: Any) -> Message:
        """A user sends a message: stored, then MESSAGE_CREATE dispatched (blocking; see post_message_async)."""
        message = self.add_message(channel, author, content, **kwargs)  # type: ignore[attr-defined]
        self.dispatch("MESSAGE_CREATE", self.message_payload(message))  # type: ignore[attr-defined]
        return message

    async def post_message_async(
        self, channel: Channel | int, author: User | int, content: str = "", **kwargs: Any
    ) -> Message:
        message = self.add_message(channel, author, content, **kwargs)  # type: ignore[attr-defined]
        await self.dispatch_async("MESSAGE_CREATE", self.message_payload(message))  # type: ignore[attr-defined]
        return message

    def message_payload(self, message: Message) -> dict[str, Any]:
        """MESSAGE_CREATE/UPDATE data for a stored message (guild_id and member included)."""
        with self._lock:
            return self.message_json(message, gateway=True)  # type: ignore[attr-defined]

    def edit_message_payload(self, message: Message, content: str) -> dict[str, Any]:
        """Edit a stored message's content and return the MESSAGE_UPDATE data."""
        with self._lock:
            message.content = content
            message.edited_at = datetime.now(UTC)
            return self.message_json(message, gateway=True)  # type: ignore[attr-defined]

    def delete_messages_payload(self, channel: Channel | int, message_ids: Sequence[int]) -> tuple[str, dict[str, Any]]:
        """Remove stored messages; returns (event, data): MESSAGE_DELETE for one, MESSAGE_DELETE_BULK for more."""
        with self._lock:
            ch = self._channel(channel)  # type: ignore[attr-defined]
            for mid in message_ids:
                ch.remove_message(mid)
            base: dict[str, Any] = {"channel_id": str(ch.id)}
            if ch.guild_id:
                base["guild_id"] = str(ch.guild_id)
        if len(message_ids) == 1:
            return "MESSAGE_DELETE", {**base, "id": str(message_ids[0])}
        return "MESSAGE_DELETE_BULK", {**base, "ids": [str(m) for m in message_ids]}

    def reaction_add_payload(self, message: Message, user: User | int, emoji: str = "👍") -> dict[str, Any]:
        """Count a reaction on a stored message and return the MESSAGE_REACTION_ADD data."""
        with self._lock:
            user_id = self._id(user)  # type: ignore[attr-defined]
            message.reactions[emoji] = message.reactions.get(emoji, 0) + 1
            ch = self.channels[message.channel_id]  # type: ignore[attr-defined]
            data: dict[str, Any] = {
                "user_id": str(user_id),
                "channel_id": str(ch.id),
                "message_id": str(message.id),
                "message_author_id": str(message.author_id),
                "emoji": {"id": None, "name": emoji},
                "burst": False,
                "type": 0,
            }
            if ch.guild_id:
                data["guild_id"] = str(ch.guild_id)
                member = self.guilds[ch.guild_id].members.get(user_id)  # type: ignore[attr-defined]
                if member is not None:
                    data["member"] = member.to_json(self.users[user_id])  # type: ignore[attr-defined]
            return data

    def channel_payload(self, channel: Channel | int) -> dict[str, Any]:
        """CHANNEL_CREATE/UPDATE/DELETE or THREAD_CREATE data for a stored channel."""
        with self._lock:
            return self.channel_json(channel)  # type: ignore[attr-defined]

    def thread_create_payload(self, thread: Channel | int) -> dict[str, Any]:
        """THREAD_CREATE data for a stored thread; `newly_created` makes discord.py fire on_thread_create
        (without it the event means "the bot was added to an existing thread": on_thread_join)."""
        return {**self.channel_payload(thread), "newly_created": True}

    def guild_payload(self, guild: Any) -> dict[str, Any]:
        """GUILD_CREATE data (GUILD_UPDATE takes the same; GUILD_DELETE wants {"id", "unavailable"})."""
        with self._lock:
            return self.guild_create_json(guild)  # type: ignore[attr-defined]

    # ----------------------------------------------------------------- interactions
    def slash_command_payload(
        self,
        *,
        channel: Channel | int,
        user: User | int,
        name: str,
        options: Mapping[str, Any] | Sequence[dict[str, Any]] = (),
        subcommand: str | None = None,
        resolved: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """INTERACTION_CREATE data for a slash command (options: {name: value} or raw option dicts)."""
        opts = [_option(k, v) for k, v in options.items()] if isinstance(options, Mapping) else list(options)
        if subcommand is not None:
            opts = [{"name": subcommand, "type": 1, "options": opts}]
        ch = self._channel(channel)  # type: ignore[attr-defined]
        data: dict[str, Any] = {
            "id": str(self.command_id(name, guild_id=ch.guild_id) or snowflake_at()),  # type: ignore[attr-defined]
            "name": name,
            "type": 1,
            "options": opts,
        }
        if ch.guild_id:
            data["guild_id"] = str(ch.guild_id)
        if resolved:
            data["resolved"] = resolved
        return self._interaction_payload(type=2, channel=ch, user=user, data=data)

    def message_command_payload(self, *, target: Message, user: User | int, name: str) -> dict[str, Any]:
        """INTERACTION_CREATE data for a message context-menu command on `target`."""
        ch = self.channels[target.channel_id]  # type: ignore[attr-defined]
        with self._lock:
            target_json = self.message_json(target)  # type: ignore[attr-defined]
        data: dict[str, Any] = {
            "id": str(self.command_id(name, guild_id=ch.guild_id) or snowflake_at()),  # type: ignore[attr-defined]
            "name": name,
            "type": 3,
            "target_id": str(target.id),
            "resolved": {"messages": {str(target.id): target_json}},
        }
        if ch.guild_id:
            data["guild_id"] = str(ch.guild_id)
        return self._interaction_payload(type=2, channel=ch, user=user, data=data)

    def component_payload(
        self, *, message: Message, user: User | int, custom_id: str, component_type: int = 2, values: Sequence[str] = ()
    ) -> dict[str, Any]:
        """INTERACTION_CREATE data for a click on a component of a stored message."""
        ch = self.channels[message.channel_id]  # type: ignore[attr-defined]
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if component_type != 2:
            data["values"] = list(values)
        with self._lock:
            message_json = self.message_json(message)  # type: ignore[attr-defined]
        return self._interaction_payload(
            type=3, channel=ch, user=user, data=data, message=message_json, message_id=message.id
        )

    def _interaction_payload(
        self,
        *,
        type: int,
        channel: Channel,
        user: User | int,
        data: dict[str, Any],
        message: dict[str, Any] | None = None,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        user_id = self._id(user)  # type: ignore[attr-defined]
        record = self._new_interaction_record(  # type: ignore[attr-defined]
            type=type, channel_id=channel.id, guild_id=channel.guild_id, user_id=user_id, message_id=message_id
        )
        with self._lock:
            payload: dict[str, Any] = {
                "id": str(record.id),
                "application_id": str(self.application.id),  # type: ignore[attr-defined]
                "type": type,
                "token": record.token,
                "version": 1,
                "data": data,
                "locale": "en-US",
                "attachment_size_limit": 10 * 1024 * 1024,
                "entitlements": [],
                "entitlement_sku_ids": [],
                "channel_id": str(channel.id),
                "channel": self.channel_json(channel),  # type: ignore[attr-defined]
            }
            if channel.guild_id:
                guild = self.guilds[channel.guild_id]  # type: ignore[attr-defined]
                member = guild.members.get(user_id)
                if member is None:
                    raise KeyError(f"user {user_id} is not a member of guild {guild.id}")
                payload.update(
                    {
                        "guild_id": str(guild.id),
                        "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
                        "guild_locale": "en-US",
                        "context": 0,
                        "authorizing_integration_owners": {"0": str(guild.id)},
                        "member": member.to_json(self.users[user_id], permissions=self.permissions(channel, user_id)),  # type: ignore[attr-defined]
                        "app_permissions": str(self.permissions(channel, self.bot_user.id)),  # type: ignore[attr-defined]
                    }
                )
            else:
                payload.update(
                    {
                        "user": self.user_json(user_id),  # type: ignore[attr-defined]
                        "context": 1 if channel.type == ChannelType.DM else 2,
                        "authorizing_integration_owners": {"1": str(user_id)},
                        "app_permissions": str(int(DEFAULT_BOT_PERMISSIONS)),
                    }
                )
            if message is not None:
                payload["message"] = message
        return payload
