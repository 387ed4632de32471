"""Application commands, interaction callbacks and follow-up webhooks, as Discord answers them.

An interaction exists once a builder (slash_command_payload, ...) made its payload; its callback must
come within 3 s and only once, its token serves follow-ups for 15 minutes (or until expire_interaction).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .constants import EPHEMERAL, INTERACTION_RESPONSE_DEADLINE, INTERACTION_TOKEN_TTL, LOADING, MessageType
from .http import ApiError, Call
from .state import Channel, Message, snowflake_at
from .validation import check_message_body


@dataclass
class InteractionRecord:
    id: int
    token: str
    type: int
    channel_id: int | None
    guild_id: int | None
    user_id: int
    created: float  # time.time()
    message_id: int | None = None  # the message a component interaction came from
    responded: bool = False
    response_type: int | None = None
    original_id: int | None = None
    expired: bool = False
    messages: dict[int, Message] = field(default_factory=dict)  # original response + follow-ups


class InteractionRoutes:
    """Mixed into FakeDiscord."""

    _lock: threading.RLock

    def _init_interactions(self) -> None:
        self.interactions: dict[int, InteractionRecord] = {}
        self.command_syncs: list[tuple[int | None, list[dict[str, Any]]]] = []
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.interaction_response_deadline = INTERACTION_RESPONSE_DEADLINE
        r = self._route  # type: ignore[attr-defined]
        r("GET", "/applications/{app_id}/commands", self._get_commands)
        r("PUT", "/applications/{app_id}/commands", self._put_commands)
        r("GET", "/applications/{app_id}/guilds/{guild_id}/commands", self._get_commands)
        r("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", self._put_commands)
        r("POST", "/interactions/{interaction_id}/{token}/callback", self._interaction_callback, auth=False)
        r("POST", "/webhooks/{app_id}/{token}", self._followup_create, auth=False)
        r("GET", "/webhooks/{app_id}/{token}/messages/{message_id}", self._followup_get, auth=False)
        r("PATCH", "/webhooks/{app_id}/{token}/messages/{message_id}", self._followup_edit, auth=False)
        r("DELETE", "/webhooks/{app_id}/{token}/messages/{message_id}", self._followup_delete, auth=False)

    # ------------------------------------------------------------------------ test API
    def expire_interaction(self, interaction: int | str | dict[str, Any]) -> None:
        """Make an interaction's token invalid, as Discord does after 15 minutes (by id, token or payload)."""
        record = self._interaction_by(interaction)
        record.expired = True

    def interaction_messages(self, interaction: int | str | dict[str, Any]) -> list[Message]:
        """The original response and follow-ups of an interaction, ephemeral ones included, oldest first."""
        record = self._interaction_by(interaction)
        with self._lock:
            return [record.messages[k] for k in sorted(record.messages)]

    def _interaction_by(self, key: int | str | dict[str, Any]) -> InteractionRecord:
        if isinstance(key, dict):
            key = int(key["id"])
        with self._lock:
            for record in self.interactions.values():
                if record.id == key or record.token == key:
                    return record
        raise KeyError(key)

    # ------------------------------------------------------------------------ commands
    def _check_app(self, call: Call) -> None:
        if call.int_param("app_id") != self.application.id:  # type: ignore[attr-defined]
            raise ApiError(403, 50001, "Missing Access")

    async def _get_commands(self, call: Call) -> tuple[int, Any]:
        self._check_app(call)
        guild_id = int(call.params["guild_id"]) if "guild_id" in call.params else None
        with self._lock:
            return 200, list(self.commands.get(guild_id, []))

    async def _put_commands(self, call: Call) -> tuple[int, Any]:
        self._check_app(call)
        guild_id = int(call.params["guild_id"]) if "guild_id" in call.params else None
        if guild_id is not None:
            with self._lock:
                self._member_guild(guild_id)
        submitted = list(call.json or [])
        with self._lock:
            previous = {(c["name"], c.get("type", 1)): c for c in self.commands.get(guild_id, [])}
            stored = []
            for cmd in submitted:
                old = previous.get((cmd["name"], cmd.get("type", 1)))
                stored.append(
                    {
                        "description": "",
                        "options": [],
                        "default_member_permissions": None,
                        "dm_permission": True,
                        "nsfw": False,
                        "integration_types": [0],
                        "contexts": None,
                        **cmd,
                        "id": old["id"] if old else str(snowflake_at()),
                        "application_id": str(self.application.id),  # type: ignore[attr-defined]
                        "version": str(snowflake_at()),
                        "type": cmd.get("type", 1),
                        **({"guild_id": str(guild_id)} if guild_id else {}),
                    }
                )
            self.commands[guild_id] = stored
            self.command_syncs.append((guild_id, submitted))
        return 200, stored

    def command_id(self, name: str, *, guild_id: int | None = None) -> int | None:
        """The id Discord gave a synced command (global or guild), if it was synced."""
        with self._lock:
            for scope in (guild_id, None):
                for cmd in self.commands.get(scope, []):
                    if cmd["name"] == name:
                        return int(cmd["id"])
        return None

    # -------------------------------------------------------------------- interactions
    def _interaction(self, call: Call, *, webhook: bool) -> InteractionRecord:
        token = call.params["token"]
        with self._lock:
            record = next((r for r in self.interactions.values() if r.token == token), None)
            if webhook:
                if call.int_param("app_id") != self.application.id or record is None:  # type: ignore[attr-defined]
                    raise ApiError(404, 10015, "Unknown Webhook")
                if record.expired or time.time() - record.created > INTERACTION_TOKEN_TTL:
                    raise ApiError(404, 10015, "Unknown Webhook")
            elif record is None or record.id != call.int_param("interaction_id") or record.expired:
                raise ApiError(404, 10062, "Unknown interaction")
            return record

    async def _interaction_callback(self, call: Call) -> tuple[int, Any]:
        record = self._interaction(call, webhook=False)
        body = call.json or {}
        kind = int(body.get("type", 0))
        data = body.get("data") or {}
        events: list[tuple[str, dict[str, Any]]] = []
        with self._lock:
            if record.responded:
                raise ApiError(400, 40060, "Interaction has already been acknowledged.")
            if time.time() - record.created > self.interaction_response_deadline:
                raise ApiError(404, 10062, "Unknown interaction")
            ch = self.channels.get(record.channel_id or 0)  # type: ignore[attr-defined]
            message: Message | None = None
            if kind in (4, 5):
                flags = int(data.get("flags") or 0)
                if kind == 4:
                    check_message_body(data, has_files=bool(call.files))
                else:
                    flags |= LOADING
                message = self._interaction_message(record, ch, data if kind == 4 else {}, call.files, flags=flags)
                record.original_id = message.id
                if not flags & EPHEMERAL and ch is not None:
                    events.append(("MESSAGE_CREATE", self.message_json(message, gateway=True)))  # type: ignore[attr-defined]
            elif kind == 7:
                if record.message_id is None or ch is None or record.message_id not in ch.messages:
                    raise ApiError(400, 40060, "Interaction has no message to update")
                message = ch.messages[record.message_id]
                self._apply_edit(message, data, call.files, ch)
                events.append(("MESSAGE_UPDATE", self.message_json(message, gateway=True)))  # type: ignore[attr-defined]
            elif kind not in (1, 6, 8, 9):
                raise ApiError(400, 50035, "Invalid Form Body")
            record.responded = True
            record.response_type = kind
            answer: dict[str, Any] = {
                "interaction": {
                    "id": str(record.id),
                    "type": record.type,
                    "activity_instance_id": None,
                    "response_message_id": str(message.id) if message else None,
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": bool(message and message.flags & EPHEMERAL),
                },
                "resource": {"type": kind},
            }
            if message is not None and ch is not None:
                answer["resource"]["message"] = self.message_json(message)  # type: ignore[attr-defined]
        for event, payload in events:
            await self._broadcast(event, payload)  # type: ignore[attr-defined]
        return 200, answer

    def _interaction_message(
        self,
        record: InteractionRecord,
        ch: Channel | None,
        body: dict[str, Any],
        files: list[tuple[str, bytes, str]],
        *,
        flags: int,
    ) -> Message:
        if ch is None:
            raise ApiError(404, 10003, "Unknown Channel")
        message = self._store_sent_message(
            ch,
            body,
            files,
            author_id=self.bot_user.id,  # type: ignore[attr-defined]
            flags=flags,
            store=not flags & EPHEMERAL,  # ephemeral messages never show up in channel history
            webhook_id=self.application.id,  # type: ignore[attr-defined]
            type=MessageType.CHAT_INPUT_COMMAND if record.type == 2 else MessageType.DEFAULT,
        )
        record.messages[message.id] = message
        return message

    async def _followup_create(self, call: Call) -> tuple[int, Any]:
        record = self._interaction(call, webhook=True)
        body = call.json or {}
        with self._lock:
            if not record.responded:
                raise ApiError(404, 10015, "Unknown Webhook")
            check_message_body(body, has_files=bool(call.files))
            ch = self.channels.get(record.channel_id or 0)  # type: ignore[attr-defined]
            message = self._interaction_message(
                record, ch, body, call.files, flags=int(body.get("flags") or 0) & EPHEMERAL
            )
            data = self.message_json(message)  # type: ignore[attr-defined]
        if not message.flags & EPHEMERAL:
            await self._broadcast("MESSAGE_CREATE", self.message_json(message, gateway=True))  # type: ignore[attr-defined]
        wait = call.query.get("wait", "false").lower() in ("1", "true")
        return (200, data) if wait else (204, None)

    def _followup_target(self, record: InteractionRecord, message_id: str) -> Message:
        target = record.original_id if message_id == "@original" else int(message_id)
        message = record.messages.get(target or 0)
        if message is None:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    async def _followup_get(self, call: Call) -> tuple[int, Any]:
        record = self._interaction(call, webhook=True)
        with self._lock:
            return 200, self.message_json(self._followup_target(record, call.params["message_id"]))  # type: ignore[attr-defined]

    async def _followup_edit(self, call: Call) -> tuple[int, Any]:
        record = self._interaction(call, webhook=True)
        with self._lock:
            message = self._followup_target(record, call.params["message_id"])
            ch = self.channels[message.channel_id]  # type: ignore[attr-defined]
            self._apply_edit(message, call.json or {}, call.files, ch)
            data = self.message_json(message)  # type: ignore[attr-defined]
        if not message.flags & EPHEMERAL:
            await self._broadcast("MESSAGE_UPDATE", self.message_json(message, gateway=True))  # type: ignore[attr-defined]
        return 200, data

    async def _followup_delete(self, call: Call) -> tuple[int, Any]:
        record = self._interaction(call, webhook=True)
        with self._lock:
            message = self._followup_target(record, call.params["message_id"])
            record.messages.pop(message.id, None)
            self.channels[message.channel_id].remove_message(message.id)  # type: ignore[attr-defined]
        return 204, None

    def _new_interaction_record(
        self, *, type: int, channel_id: int | None, guild_id: int | None, user_id: int, message_id: int | None = None
    ) -> InteractionRecord:
        record = InteractionRecord(
            id=snowflake_at(),
            token="aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48),
            type=type,
            channel_id=channel_id,
            guild_id=guild_id,
            user_id=user_id,
            created=time.time(),
            message_id=message_id,
        )
        with self._lock:
            self.interactions[record.id] = record
        return record
