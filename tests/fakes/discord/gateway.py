"""The fake gateway: HELLO, heartbeats, IDENTIFY -> READY + GUILD_CREATE, RESUME with replay, dispatches.

Frames are JSON text unless `gateway_compression` is on and the client asked for zlib-stream; discord.py
2.7 decompresses only binary frames, so text frames are always understood.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .constants import PRIVILEGED_INTENTS, Intent

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_MS = 41250
_BUFFER = 2000  # events kept per session for RESUME replay

# Which intent an event needs (guild events vs DM events); events not listed are always sent.
_GUILD_INTENT = {
    "GUILD_CREATE": Intent.GUILDS,
    "GUILD_UPDATE": Intent.GUILDS,
    "GUILD_DELETE": Intent.GUILDS,
    "GUILD_ROLE_CREATE": Intent.GUILDS,
    "GUILD_ROLE_UPDATE": Intent.GUILDS,
    "GUILD_ROLE_DELETE": Intent.GUILDS,
    "CHANNEL_CREATE": Intent.GUILDS,
    "CHANNEL_UPDATE": Intent.GUILDS,
    "CHANNEL_DELETE": Intent.GUILDS,
    "THREAD_CREATE": Intent.GUILDS,
    "THREAD_UPDATE": Intent.GUILDS,
    "THREAD_DELETE": Intent.GUILDS,
    "GUILD_MEMBER_ADD": Intent.GUILD_MEMBERS,
    "GUILD_MEMBER_UPDATE": Intent.GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": Intent.GUILD_MEMBERS,
    "MESSAGE_CREATE": Intent.GUILD_MESSAGES,
    "MESSAGE_UPDATE": Intent.GUILD_MESSAGES,
    "MESSAGE_DELETE": Intent.GUILD_MESSAGES,
    "MESSAGE_DELETE_BULK": Intent.GUILD_MESSAGES,
    "MESSAGE_REACTION_ADD": Intent.GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE": Intent.GUILD_MESSAGE_REACTIONS,
}
_DM_INTENT = {
    "MESSAGE_CREATE": Intent.DIRECT_MESSAGES,
    "MESSAGE_UPDATE": Intent.DIRECT_MESSAGES,
    "MESSAGE_DELETE": Intent.DIRECT_MESSAGES,
    "MESSAGE_REACTION_ADD": Intent.DIRECT_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE": Intent.DIRECT_MESSAGE_REACTIONS,
}


@dataclass
class _Connection:
    ws: web.WebSocketResponse
    request: web.Request
    compressor: Any = None  # a zlib compressobj when the client asked for zlib-stream
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, payload: dict[str, Any]) -> None:
        text = json.dumps(payload)
        async with self.send_lock:
            if self.compressor is not None:
                data = self.compressor.compress(text.encode()) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(text)


@dataclass
class GatewaySession:
    session_id: str
    intents: int
    shard: tuple[int, int]
    seq: int = 0
    buffer: list[dict[str, Any]] = field(default_factory=list)
    connection: _Connection | None = None
    closed: bool = False  # the client closed it (or it was invalidated): not resumable
    identifies: int = 1
    resumes: int = 0

    def guild_in_shard(self, guild_id: int | None) -> bool:
        if guild_id is None:
            return self.shard[0] == 0  # DMs go to shard 0
        return (guild_id >> 22) % self.shard[1] == self.shard[0]


class Gateway:
    """Gateway handling; mixed into FakeDiscord."""

    _lock: threading.RLock
    _loop: asyncio.AbstractEventLoop

    def _init_gateway(self) -> None:
        self.sessions: list[GatewaySession] = []
        self.gateway_compression = False
        self.heartbeat_interval_ms = HEARTBEAT_INTERVAL_MS
        self.heartbeats = 0
        self.recommended_shards = 1  # what GET /gateway/bot tells an AutoShardedClient
        self._ready_changed = threading.Condition(self._lock)

    # ------------------------------------------------------------------------ test API
    def dispatch(self, event: str, data: dict[str, Any]) -> int:
        """Send a dispatch to every connected (or resumable) session allowed to get it; returns how many.

        Thread-safe and blocking; from a coroutine prefer `await dispatch_async(...)`.
        """
        if self._on_server_loop():
            raise RuntimeError("dispatch() would deadlock on the server loop; await _broadcast() instead")
        return asyncio.run_coroutine_threadsafe(self._broadcast(event, data), self._loop).result(timeout=10)

    async def dispatch_async(self, event: str, data: dict[str, Any]) -> int:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._broadcast(event, data), self._loop))

    def drop_connections(self, *, code: int | None = 4000) -> int:
        """Cut every gateway connection (code None: abort the TCP socket, like a network failure).

        Sessions stay resumable: the client RESUMEs and gets the events it missed replayed.
        """
        return asyncio.run_coroutine_threadsafe(self._drop(code), self._loop).result(timeout=10)

    def send_reconnect(self) -> int:
        """Op 7 RECONNECT: Discord asking the client to reconnect and resume."""
        return asyncio.run_coroutine_threadsafe(self._send_op_all({"op": 7, "d": None}), self._loop).result(timeout=10)

    def invalidate_sessions(self, *, resumable: bool = False) -> int:
        """Op 9 INVALID_SESSION; with resumable=False the client has to IDENTIFY again."""
        with self._lock:
            if not resumable:
                for session in self.sessions:
                    session.closed = True
        return asyncio.run_coroutine_threadsafe(self._send_op_all({"op": 9, "d": resumable}), self._loop).result(
            timeout=10
        )

    def wait_for_sessions(self, count: int = 1, *, timeout: float = 5.0) -> None:
        """Block until `count` sessions have sent IDENTIFY and are connected."""
        with self._ready_changed:
            if not self._ready_changed.wait_for(lambda: len(self.live_sessions()) >= count, timeout):
                raise TimeoutError(f"{len(self.live_sessions())} of {count} gateway sessions after {timeout}s")

    async def wait_for_sessions_async(self, count: int = 1, *, timeout: float = 5.0) -> None:
        await asyncio.to_thread(self.wait_for_sessions, count, timeout=timeout)

    def live_sessions(self) -> list[GatewaySession]:
        with self._lock:
            return [s for s in self.sessions if s.connection is not None and not s.closed]

    # ----------------------------------------------------------------------- internals
    def _on_server_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    async def _broadcast(self, event: str, data: dict[str, Any]) -> int:
        guild_id = int(data["guild_id"]) if data.get("guild_id") else None
        if event in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"):
            guild_id = int(data["id"])
        is_dm = guild_id is None and event in _DM_INTENT
        need = (_DM_INTENT if is_dm else _GUILD_INTENT).get(event)
        delivered = 0
        with self._lock:
            targets = [s for s in self.sessions if not s.closed and s.guild_in_shard(guild_id)]
        for session in targets:
            if need is not None and not session.intents & need:
                continue
            payload = self._strip_content(event, data, session)
            await self._send_dispatch(session, event, payload)
            delivered += 1
        return delivered

    def _strip_content(self, event: str, data: dict[str, Any], session: GatewaySession) -> dict[str, Any]:
        """Without the MESSAGE_CONTENT intent Discord blanks content, embeds, attachments and components."""
        if event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE") or session.intents & Intent.MESSAGE_CONTENT:
            return data
        bot_id = str(self.bot_user.id)  # type: ignore[attr-defined]
        if not data.get("guild_id") or data.get("author", {}).get("id") == bot_id:
            return data
        if any(m.get("id") == bot_id for m in data.get("mentions", [])):
            return data
        return {**data, "content": "", "embeds": [], "attachments": [], "components": []}

    async def _send_dispatch(self, session: GatewaySession, event: str, data: dict[str, Any]) -> None:
        with self._lock:
            session.seq += 1
            payload = {"op": 0, "t": event, "s": session.seq, "d": data}
            session.buffer.append(payload)
            del session.buffer[:-_BUFFER]
            conn = session.connection
        if conn is not None and not conn.ws.closed:
            try:
                await conn.send(payload)
            except (ConnectionResetError, RuntimeError):
                log.debug("gateway send failed; the event stays buffered for RESUME")

    async def _send_op_all(self, payload: dict[str, Any]) -> int:
        count = 0
        for session in self.live_sessions():
            conn = session.connection
            if conn is not None:
                await conn.send(payload)
                count += 1
        return count

    async def _drop(self, code: int | None) -> int:
        count = 0
        for session in self.live_sessions():
            conn = session.connection
            if conn is None:
                continue
            with self._lock:
                session.connection = None
            if code is None:
                transport = conn.request.transport
                if transport is not None:
                    transport.abort()
            else:
                await conn.ws.close(code=code, message=b"dropped by the test")
            count += 1
        return count

    async def _handle_gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        compressor = None
        if self.gateway_compression and request.query.get("compress") == "zlib-stream":
            compressor = zlib.compressobj()
        conn = _Connection(ws=ws, request=request, compressor=compressor)
        session: GatewaySession | None = None
        await conn.send({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake-gateway"]}})
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                op, d = frame.get("op"), frame.get("d")
                if op == 1:
                    with self._lock:
                        self.heartbeats += 1
                    await conn.send({"op": 11})
                elif op == 2:
                    session = await self._identify(conn, d or {})
                    if session is None:
                        break
                elif op == 6:
                    session = await self._resume(conn, d or {})
                elif op == 8 and session is not None:
                    await self._request_members(session, d or {})
                # op 3 (presence) and 4 (voice state) need no answer
        finally:
            with self._ready_changed:
                if session is not None and session.connection is conn:
                    session.connection = None
                    if ws.close_code in (1000, 1001):
                        session.closed = True  # a clean close by the client ends the session, as on Discord
                self._ready_changed.notify_all()
        return ws

    async def _identify(self, conn: _Connection, d: dict[str, Any]) -> GatewaySession | None:
        if d.get("token") != self.bot_token:  # type: ignore[attr-defined]
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return None
        intents = int(d.get("intents", 0))
        flags = self.application.flags  # type: ignore[attr-defined]
        for intent, allowed_by in PRIVILEGED_INTENTS.items():
            if intents & intent and not flags & allowed_by:
                await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
                return None
        shard = tuple(d.get("shard") or (0, 1))
        session = GatewaySession(
            session_id=secrets.token_hex(16), intents=intents, shard=(int(shard[0]), int(shard[1]))
        )
        with self._ready_changed:
            self.sessions.append(session)
            session.connection = conn
            guilds = [g for g in self.guilds.values() if self.bot_user.id in g.members and session.guild_in_shard(g.id)]  # type: ignore[attr-defined]
        app = self.application  # type: ignore[attr-defined]
        me = self.bot_user.to_json()  # type: ignore[attr-defined]
        me.update({"verified": True, "mfa_enabled": False, "bot": True, "email": None})
        ready = {
            "v": 10,
            "user": me,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "resume_gateway_url": self.gateway_url,  # type: ignore[attr-defined]
            "shard": list(session.shard),
            "application": {"id": str(app.id), "flags": app.flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "session_type": "normal",
            "auth": {},
            "_trace": ["fake-gateway"],
        }
        await self._send_dispatch(session, "READY", ready)
        with_members = bool(intents & Intent.GUILD_MEMBERS)
        for guild in guilds:
            with self._lock:
                payload = self.guild_create_json(guild, with_members=with_members)  # type: ignore[attr-defined]
            await self._send_dispatch(session, "GUILD_CREATE", payload)
        with self._ready_changed:
            self._ready_changed.notify_all()
        return session

    async def _resume(self, conn: _Connection, d: dict[str, Any]) -> GatewaySession | None:
        with self._lock:
            session = next((s for s in self.sessions if s.session_id == d.get("session_id")), None)
        if session is None or session.closed or d.get("token") != self.bot_token:  # type: ignore[attr-defined]
            await conn.send({"op": 9, "d": False})
            return None
        seq = int(d.get("seq") or 0)
        with self._ready_changed:
            missed = [p for p in session.buffer if p["s"] > seq]
            session.connection = conn
            session.resumes += 1
        for payload in missed:
            await conn.send(payload)
        await self._send_dispatch(session, "RESUMED", {"_trace": ["fake-gateway"]})
        with self._ready_changed:
            self._ready_changed.notify_all()
        return session

    async def _request_members(self, session: GatewaySession, d: dict[str, Any]) -> None:
        guild_id = int(d.get("guild_id", 0))
        user_ids = {int(u) for u in _as_list(d.get("user_ids"))}
        query = str(d.get("query") or "").lower()
        limit = int(d.get("limit") or 0)
        with self._lock:
            guild = self.guilds.get(guild_id)  # type: ignore[attr-defined]
            members = []
            if guild is not None:
                for member in guild.members.values():
                    user = self.users[member.user_id]  # type: ignore[attr-defined]
                    if user_ids and member.user_id not in user_ids:
                        continue
                    if query and not user.username.lower().startswith(query):
                        continue
                    members.append(member.to_json(user))
            if limit:
                members = members[:limit]
        chunk = {"guild_id": str(guild_id), "members": members, "chunk_index": 0, "chunk_count": 1, "not_found": []}
        if d.get("nonce"):
            chunk["nonce"] = d["nonce"]
        await self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)


def _as_list(value: Any) -> Iterable[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
