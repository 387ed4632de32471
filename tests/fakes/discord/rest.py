"""The REST routes of the fake, answering like Discord (status codes, error codes, permission rules)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from .constants import (
    LOADING,
    AppFlag,
    ChannelType,
    MessageType,
    Permission,
)
from .http import ApiError, Call
from .state import Channel, Guild, Message, snowflake_at
from .validation import check_message_body

_DM_PERMISSIONS = (
    Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.ADD_REACTIONS
)


def _missing_access() -> ApiError:
    return ApiError(403, 50001, "Missing Access")


def _missing_permissions() -> ApiError:
    return ApiError(403, 50013, "Missing Permissions")


class RestRoutes:
    """Route handlers; mixed into FakeDiscord."""

    _lock: threading.RLock
    # Discord checks an enforced nonce "in the past few minutes"; tests may shorten it.
    nonce_window: float = 300.0

    def _init_rest(self) -> None:
        # (author id, channel id, nonce) -> (message id, time.monotonic() when it was created)
        self._nonces: dict[tuple[int, int, str], tuple[int, float]] = {}
        r = self._route  # type: ignore[attr-defined]
        r("GET", "/users/@me", self._get_me, auth=False)  # the bot's token, or a user's bearer token
        r("GET", "/oauth2/applications/@me", self._get_application)
        r("GET", "/applications/@me", self._get_application)
        r("GET", "/gateway", self._get_gateway, auth=False)
        r("GET", "/gateway/bot", self._get_gateway_bot)
        r("GET", "/channels/{channel_id}", self._get_channel)
        r("GET", "/channels/{channel_id}/messages", self._get_messages)
        r("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message)
        r("POST", "/channels/{channel_id}/messages", self._post_message)
        r("PATCH", "/channels/{channel_id}/messages/{message_id}", self._patch_message)
        r("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message)
        r("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", self._add_reaction)
        r("POST", "/channels/{channel_id}/typing", self._typing)
        r("POST", "/channels/{channel_id}/threads", self._post_thread)
        r("POST", "/channels/{channel_id}/messages/{message_id}/threads", self._post_thread_from_message)
        r("GET", "/channels/{channel_id}/thread-members/{user_id}", self._get_thread_member)
        r("POST", "/users/@me/channels", self._post_dm)
        r("GET", "/guilds/{guild_id}", self._get_guild)
        r("GET", "/guilds/{guild_id}/channels", self._get_guild_channels)
        r("GET", "/guilds/{guild_id}/roles", self._get_guild_roles)
        r("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member)

    # ------------------------------------------------------------------ access helpers
    def _visible_channel(self, channel_id: int) -> tuple[Channel, int]:
        """The channel and the bot's permissions in it; 404/403 the way Discord answers."""
        ch = self.channels.get(channel_id)  # type: ignore[attr-defined]
        if ch is None:
            raise ApiError(404, 10003, "Unknown Channel")
        if ch.type == ChannelType.DM:
            # A DM channel's only other party is the bot: it has every text permission there.
            return ch, int(_DM_PERMISSIONS)
        guild = self.guilds.get(ch.guild_id)  # type: ignore[attr-defined]
        if guild is None or self.bot_user.id not in guild.members:  # type: ignore[attr-defined]
            raise _missing_access()
        perms = self.permissions(ch, self.bot_user)  # type: ignore[attr-defined]
        if not perms & Permission.VIEW_CHANNEL:
            raise _missing_access()
        return ch, perms

    def _content_visible(self, message: Message, channel: Channel) -> bool:
        """Without the MESSAGE_CONTENT flag, Discord blanks content except the bot's own, DMs and mentions."""
        flags = self.application.flags  # type: ignore[attr-defined]
        if flags & (AppFlag.GATEWAY_MESSAGE_CONTENT | AppFlag.GATEWAY_MESSAGE_CONTENT_LIMITED):
            return True
        bot_id = self.bot_user.id  # type: ignore[attr-defined]
        return channel.type == ChannelType.DM or message.author_id == bot_id or bot_id in message.mentions

    def _member_guild(self, guild_id: int) -> Guild:
        guild = self.guilds.get(guild_id)  # type: ignore[attr-defined]
        if guild is None:
            raise ApiError(404, 10004, "Unknown Guild")
        if self.bot_user.id not in guild.members:  # type: ignore[attr-defined]
            raise _missing_access()
        return guild

    def _render(self, message: Message, channel: Channel) -> dict[str, Any]:
        return self.message_json(message, content_visible=self._content_visible(message, channel))  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ users and app
    async def _get_me(self, call: Call) -> tuple[int, Any]:
        if call.request.headers.get("Authorization", "").startswith("Bearer "):
            return 200, self._oauth_user_json(call)  # type: ignore[attr-defined]
        if call.request.headers.get("Authorization") != f"Bot {self.bot_token}":  # type: ignore[attr-defined]
            return 401, {"message": "401: Unauthorized", "code": 0}
        data = self.bot_user.to_json()  # type: ignore[attr-defined]
        data.update({"verified": True, "mfa_enabled": False, "bot": True, "email": None, "locale": "en-US"})
        return 200, data

    async def _get_application(self, call: Call) -> tuple[int, Any]:
        app = self.application  # type: ignore[attr-defined]
        return 200, app.to_json(self.users[app.owner_id])  # type: ignore[attr-defined]

    async def _get_gateway(self, call: Call) -> tuple[int, Any]:
        return 200, {"url": self.gateway_url}  # type: ignore[attr-defined]

    async def _get_gateway_bot(self, call: Call) -> tuple[int, Any]:
        return 200, {
            "url": self.gateway_url,  # type: ignore[attr-defined]
            "shards": self.recommended_shards,  # type: ignore[attr-defined]
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1},
        }

    # ------------------------------------------------------------------------ channels
    async def _get_channel(self, call: Call) -> tuple[int, Any]:
        with self._lock:
            ch, _ = self._visible_channel(call.int_param("channel_id"))
            return 200, self.channel_json(ch)  # type: ignore[attr-defined]

    async def _get_messages(self, call: Call) -> tuple[int, Any]:
        q = call.query
        try:
            limit = int(q.get("limit", 50))
        except ValueError:
            raise ApiError(400, 50035, "Invalid Form Body") from None
        if not 1 <= limit <= 100:
            raise ApiError(
                400,
                50035,
                "Invalid Form Body",
                {
                    "errors": {
                        "limit": {
                            "_errors": [
                                {"code": "NUMBER_TYPE_MAX", "message": "int value should be less than or equal to 100."}
                            ]
                        }
                    }
                },
            )
        with self._lock:
            ch, perms = self._visible_channel(call.int_param("channel_id"))
            if not perms & Permission.READ_MESSAGE_HISTORY:
                return 200, []  # Discord answers an empty page, not an error
            found = ch.history(
                limit=limit,
                before=int(q["before"]) if "before" in q else None,
                after=int(q["after"]) if "after" in q else None,
                around=int(q["around"]) if "around" in q else None,
            )
            return 200, [self._render(m, ch) for m in found]

    async def _get_message(self, call: Call) -> tuple[int, Any]:
        with self._lock:
            ch, perms = self._visible_channel(call.int_param("channel_id"))
            if not perms & Permission.READ_MESSAGE_HISTORY:
                raise _missing_permissions()
            message = ch.messages.get(call.int_param("message_id"))
            if message is None:
                raise ApiError(404, 10008, "Unknown Message")
            return 200, self._render(message, ch)

    async def _post_message(self, call: Call) -> tuple[int, Any]:
        body = call.json or {}
        with self._lock:
            ch, perms = self._visible_channel(call.int_param("channel_id"))
            if ch.type == ChannelType.DM:
                user = self.users[ch.recipient_ids[0]]  # type: ignore[attr-defined]
                if not user.accepts_dms:
                    raise ApiError(403, 50007, "Cannot send messages to this user")
            needed = Permission.SEND_MESSAGES_IN_THREADS if ch.is_thread else Permission.SEND_MESSAGES
            if ch.type in (ChannelType.FORUM, ChannelType.MEDIA, ChannelType.CATEGORY):
                raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
            if not perms & needed:
                raise _missing_permissions()
            if body.get("embeds") and not perms & Permission.EMBED_LINKS:
                raise _missing_permissions()
            if call.files and not perms & Permission.ATTACH_FILES:
                raise _missing_permissions()
            check_message_body(body, has_files=bool(call.files))
            author_id = self.bot_user.id  # type: ignore[attr-defined]
            nonce = body.get("nonce")
            if nonce is not None:
                nonce = str(nonce)
                if len(nonce) > 25:
                    raise ApiError(400, 50035, "Invalid Form Body", {"errors": {"nonce": {"_errors": [
                        {"code": "BASE_TYPE_BAD_LENGTH", "message": "Must be 25 or fewer in length."}]}}})
                if body.get("enforce_nonce"):
                    # Same author, channel and nonce within a few minutes: Discord answers with the message
                    # created the first time and creates nothing (no second MESSAGE_CREATE either).
                    seen = self._nonces.get((author_id, ch.id, nonce))
                    if seen is not None and time.monotonic() - seen[1] < self.nonce_window and seen[0] in ch.messages:
                        return 200, {**self._render(ch.messages[seen[0]], ch), "nonce": nonce}
            message = self._store_sent_message(ch, body, call.files, author_id=author_id)
            if nonce is not None:
                self._nonces[(author_id, ch.id, nonce)] = (message.id, time.monotonic())
            data = self._render(message, ch)
            if nonce is not None:
                data["nonce"] = nonce  # echoed in the create response (and MESSAGE_CREATE), never in history
        event = self.message_json(message, gateway=True)  # type: ignore[attr-defined]
        if nonce is not None:
            event["nonce"] = nonce
        await self._broadcast("MESSAGE_CREATE", event)  # type: ignore[attr-defined]
        return 200, data

    def _store_sent_message(
        self,
        ch: Channel,
        body: dict[str, Any],
        files: list[tuple[str, bytes, str]],
        *,
        author_id: int,
        flags: int = 0,
        store: bool = True,
        message_id: int | None = None,
        webhook_id: int | None = None,
        type: int = MessageType.DEFAULT,
    ) -> Message:
        content = str(body.get("content") or "")
        message = Message(
            id=message_id or snowflake_at(),
            channel_id=ch.id,
            author_id=author_id,
            content=content,
            type=type,
            embeds=[dict(e, type=e.get("type", "rich")) for e in body.get("embeds") or []],
            components=list(body.get("components") or []),
            flags=int(body.get("flags") or 0) | flags,
            webhook_id=webhook_id,
            application_id=webhook_id,
        )
        mentions, roles = self._parse_mentions(ch, content)  # type: ignore[attr-defined]
        allowed = body.get("allowed_mentions")
        if allowed is not None:
            # Only pinged users end up in `mentions`; allowed_mentions decides who is pinged.
            parse = allowed.get("parse", [])
            users = {int(u) for u in allowed.get("users", [])}
            mentions = [u for u in mentions if "users" in parse or u in users]
            role_ids = {int(r) for r in allowed.get("roles", [])}
            roles = [r for r in roles if "roles" in parse or r in role_ids]
        message.mentions, message.mention_roles = mentions, roles
        reference = body.get("message_reference")
        if reference and reference.get("message_id"):
            message.reply_to = int(reference["message_id"])
            message.type = MessageType.REPLY
        for filename, data, _ in files:
            message.attachments.append(self._make_attachment(ch.id, filename, data))  # type: ignore[attr-defined]
        if store:
            ch.add_message(message)
        return message

    async def _patch_message(self, call: Call) -> tuple[int, Any]:
        body = call.json or {}
        with self._lock:
            ch, _ = self._visible_channel(call.int_param("channel_id"))
            message = ch.messages.get(call.int_param("message_id"))
            if message is None:
                raise ApiError(404, 10008, "Unknown Message")
            if message.author_id != self.bot_user.id:  # type: ignore[attr-defined]
                raise ApiError(403, 50005, "Cannot edit a message authored by another user")
            self._apply_edit(message, body, call.files, ch)
            data = self._render(message, ch)
        await self._broadcast("MESSAGE_UPDATE", self.message_json(message, gateway=True))  # type: ignore[attr-defined]
        return 200, data

    def _apply_edit(
        self, message: Message, body: dict[str, Any], files: list[tuple[str, bytes, str]], ch: Channel
    ) -> None:
        merged = {
            "content": body.get("content", message.content),
            "embeds": body.get("embeds", message.embeds),
            "components": body.get("components", message.components),
        }
        check_message_body(merged, has_files=bool(files or message.attachments), require_something=False)
        message.content = str(merged["content"] or "")
        message.embeds = [dict(e, type=e.get("type", "rich")) for e in merged["embeds"] or []]
        message.components = list(merged["components"] or [])
        if "flags" in body and body["flags"] is not None:
            message.flags = (message.flags & ~LOADING) | (int(body["flags"]) & ~LOADING)
        else:
            message.flags &= ~LOADING
        message.mentions, message.mention_roles = self._parse_mentions(ch, message.content)  # type: ignore[attr-defined]
        if "attachments" in body and not files:
            keep = {int(a["id"]) for a in body["attachments"] if "id" in a and str(a["id"]).isdigit()}
            message.attachments = [a for a in message.attachments if a.id in keep]
        for filename, data, _ in files:
            message.attachments.append(self._make_attachment(ch.id, filename, data))  # type: ignore[attr-defined]
        message.edited_at = datetime.now(UTC)

    async def _delete_message(self, call: Call) -> tuple[int, Any]:
        with self._lock:
            ch, perms = self._visible_channel(call.int_param("channel_id"))
            message = ch.messages.get(call.int_param("message_id"))
            if message is None:
                raise ApiError(404, 10008, "Unknown Message")
            if message.author_id != self.bot_user.id and not perms & Permission.MANAGE_MESSAGES:  # type: ignore[attr-defined]
                raise _missing_permissions()
            ch.remove_message(message.id)
        payload = {"id": str(message.id), "channel_id": str(ch.id)}
        if ch.guild_id:
            payload["guild_id"] = str(ch.guild_id)
        await self._broadcast("MESSAGE_DELETE", payload)  # type: ignore[attr-defined]
        return 204, None

    async def _add_reaction(self, call: Call) -> tuple[int, Any]:
        """The bot reacts: needs Read Message History, and Add Reactions unless someone reacted so already."""
        emoji = call.params["emoji"]
        with self._lock:
            ch, perms = self._visible_channel(call.int_param("channel_id"))
            message = ch.messages.get(call.int_param("message_id"))
            if not perms & Permission.READ_MESSAGE_HISTORY:
                raise _missing_access()
            if message is None:
                raise ApiError(404, 10008, "Unknown Message")
            if not message.reactions.get(emoji) and not perms & Permission.ADD_REACTIONS:
                raise _missing_permissions()
            payload = self.reaction_add_payload(message, self.bot_user, emoji)  # type: ignore[attr-defined]
        await self._broadcast("MESSAGE_REACTION_ADD", payload)  # type: ignore[attr-defined]
        return 204, None

    async def _typing(self, call: Call) -> tuple[int, Any]:
        with self._lock:
            self._visible_channel(call.int_param("channel_id"))
        return 204, None

    # ------------------------------------------------------------------------- threads
    async def _post_thread(self, call: Call) -> tuple[int, Any]:
        body = call.json or {}
        with self._lock:
            parent, perms = self._visible_channel(call.int_param("channel_id"))
            name = str(body.get("name") or "")
            if not 1 <= len(name) <= 100:
                raise ApiError(
                    400,
                    50035,
                    "Invalid Form Body",
                    {
                        "errors": {
                            "name": {
                                "_errors": [
                                    {"code": "BASE_TYPE_BAD_LENGTH", "message": "Must be between 1 and 100 in length."}
                                ]
                            }
                        }
                    },
                )
            if parent.type in (ChannelType.FORUM, ChannelType.MEDIA):
                if not perms & Permission.SEND_MESSAGES:
                    raise _missing_permissions()
                starter = body.get("message") or {}
                check_message_body(starter, has_files=bool(call.files))
                thread = self.add_thread(parent, name, owner=self.bot_user)  # type: ignore[attr-defined]
                thread.applied_tags = [int(t) for t in body.get("applied_tags") or []]
                message = self._store_sent_message(
                    thread, starter, call.files, author_id=self.bot_user.id, message_id=thread.id
                )  # type: ignore[attr-defined]
                data = self.channel_json(thread)  # type: ignore[attr-defined]
                data["message"] = self._render(message, thread)
            else:
                private = int(body.get("type") or ChannelType.PRIVATE_THREAD) == ChannelType.PRIVATE_THREAD
                needed = Permission.CREATE_PRIVATE_THREADS if private else Permission.CREATE_PUBLIC_THREADS
                if not perms & needed:
                    raise _missing_permissions()
                thread = self.add_thread(parent, name, owner=self.bot_user, private=private)  # type: ignore[attr-defined]
                data = self.channel_json(thread)  # type: ignore[attr-defined]
        await self._broadcast("THREAD_CREATE", {**data, "newly_created": True})  # type: ignore[attr-defined]
        return 201, data

    async def _post_thread_from_message(self, call: Call) -> tuple[int, Any]:
        body = call.json or {}
        with self._lock:
            parent, perms = self._visible_channel(call.int_param("channel_id"))
            if not perms & Permission.CREATE_PUBLIC_THREADS:
                raise _missing_permissions()
            message_id = call.int_param("message_id")
            if message_id not in parent.messages:
                raise ApiError(404, 10008, "Unknown Message")
            if message_id in self.channels:  # type: ignore[attr-defined]
                raise ApiError(400, 160004, "A thread has already been created for this message")
            name = str(body.get("name") or "")
            if not 1 <= len(name) <= 100:
                raise ApiError(400, 50035, "Invalid Form Body")
            # Discord gives a thread started from a message the message's id.
            thread = self.add_thread(parent, name, owner=self.bot_user, thread_id=message_id)  # type: ignore[attr-defined]
            data = self.channel_json(thread)  # type: ignore[attr-defined]
        await self._broadcast("THREAD_CREATE", {**data, "newly_created": True})  # type: ignore[attr-defined]
        return 201, data

    async def _get_thread_member(self, call: Call) -> tuple[int, Any]:
        with self._lock:
            ch, _ = self._visible_channel(call.int_param("channel_id"))
            user_id = call.int_param("user_id")
            if not ch.is_thread:
                raise ApiError(400, 50024, "Cannot execute action on this channel type")
            if user_id not in ch.thread_member_ids:
                raise ApiError(404, 10007, "Unknown Member")
            return 200, {
                "id": str(ch.id),
                "user_id": str(user_id),
                "join_timestamp": "2024-01-01T00:00:00+00:00",
                "flags": 0,
            }

    async def _post_dm(self, call: Call) -> tuple[int, Any]:
        recipient = int((call.json or {}).get("recipient_id", 0))
        with self._lock:
            if recipient not in self.users:  # type: ignore[attr-defined]
                raise ApiError(
                    400,
                    50035,
                    "Invalid Form Body",
                    {"errors": {"recipient_id": {"_errors": [{"code": "USER_NOT_FOUND", "message": "Unknown User"}]}}},
                )
            return 200, self.channel_json(self.add_dm(recipient))  # type: ignore[attr-defined]

    # -------------------------------------------------------------------------- guilds
    async def _get_guild(self, call: Call) -> tuple[int, Any]:
        with self._lock:
            return 200, self._member_guild(call.int_param("guild_id")).to_json()

    async def _get_guild_channels(self, call: Call) -> tuple[int, Any]:
        with self._lock:
            guild = self._member_guild(call.int_param("guild_id"))
            return 200, [self.channel_json(cid) for cid in guild.channel_ids]  # type: ignore[attr-defined]

    async def _get_guild_roles(self, call: Call) -> tuple[int, Any]:
        with self._lock:
            guild = self._member_guild(call.int_param("guild_id"))
            return 200, [r.to_json() for r in guild.roles.values()]

    async def _get_member(self, call: Call) -> tuple[int, Any]:
        with self._lock:
            guild = self._member_guild(call.int_param("guild_id"))
            member = guild.members.get(call.int_param("user_id"))
            if member is None:
                raise ApiError(404, 10007, "Unknown Member")
            return 200, member.to_json(self.users[member.user_id])  # type: ignore[attr-defined]
