"""Plumbing shared by every REST route: routing, recording, auth, rate-limit headers, scripted failures."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_PREFIX = "/api/v10"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # relative to the API base, e.g. "/channels/1/messages"
    query: dict[str, str]
    json: Any
    files: tuple[tuple[str, bytes], ...]
    authorized: bool
    status: int
    time: float  # time.monotonic() when the request arrived
    route: str  # the route template, e.g. "GET /channels/{channel_id}/messages"


@dataclass
class ScriptedFailure:
    method: str
    path: re.Pattern[str]
    status: int
    times: int
    retry_after: float
    is_global: bool
    body: dict[str, Any] | None
    via: bool
    skip: int


@dataclass
class HeldResponse:
    """A request that is handled (its side effects happen) but whose answer waits until `release` is set.

    `reached` is set once the request was handled: a test can then kill the client that sent it, which
    never learns that its message or thread was created.
    """

    method: str
    path: re.Pattern[str]
    release: threading.Event = field(default_factory=threading.Event)
    reached: threading.Event = field(default_factory=threading.Event)


@dataclass
class RateLimitPolicy:
    """Per-bucket fixed windows; a client that ignores the headers gets real 429s."""

    limit: int = 1000
    window: float = 1.0


@dataclass
class _Bucket:
    started: float
    count: int = 0


@dataclass
class Call:
    """One incoming REST call as the route handlers see it."""

    request: web.Request
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    files: list[tuple[str, bytes, str]] = field(default_factory=list)  # (filename, data, field name)

    def int_param(self, name: str) -> int:
        return int(self.params[name])


class ApiError(Exception):
    """Raised by handlers to answer Discord's error JSON."""

    def __init__(self, status: int, code: int, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"message": message, "code": code, **(extra or {})}


Handler = Callable[[Call], Awaitable[tuple[int, Any]]]


@dataclass
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    auth: bool
    major: str | None


def compile_route(method: str, template: str, handler: Handler, *, auth: bool = True) -> Route:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
    major = next((m for m in ("channel_id", "guild_id", "token") if "{" + m + "}" in template), None)
    return Route(method, template, re.compile("^" + regex + "$"), handler, auth, major)


def json_response(status: int, body: Any, headers: dict[str, str]) -> web.Response:
    if status == 204 or body is None:
        return web.Response(status=204, headers=headers)
    # Exactly "application/json": discord.py only parses the body when the header has no charset.
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        headers={**headers, "Content-Type": "application/json"},
    )


class RestPlumbing:
    """Recording, scripted failures and rate limits; mixed into FakeDiscord."""

    _lock: threading.RLock
    _requests_changed: threading.Condition
    bot_token: str

    def _init_plumbing(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._failures: list[ScriptedFailure] = []
        self._holds: list[HeldResponse] = []
        self.rate_limit = RateLimitPolicy()
        self._buckets: dict[str, _Bucket] = {}
        self._routes: list[Route] = []

    # --------------------------------------------------------------------------- test API
    def fail_next(
        self,
        method: str,
        path: str,
        *,
        status: int = 429,
        times: int = 1,
        retry_after: float = 0.3,
        is_global: bool = False,
        body: dict[str, Any] | None = None,
        via: bool = True,
        skip: int = 0,
    ) -> None:
        """Answer `times` matching requests with `status`, after letting `skip` of them through.

        `path` is a regex searched in the API path (no query string). 429s carry Discord's JSON and
        (unless via=False, which looks like a Cloudflare ban) the Via header, so discord.py retries.
        """
        with self._lock:
            self._failures.append(
                ScriptedFailure(
                    method.upper(), re.compile(path), status, times, retry_after, is_global, body, via, skip
                )
            )

    def hold_next(self, method: str, path: str) -> HeldResponse:
        """Handle the next matching request, then hold its response until `.release` is set (see HeldResponse).

        `path` is a regex searched in the API path. Held responses are released when the fake stops.
        """
        held = HeldResponse(method.upper(), re.compile(path))
        with self._lock:
            self._holds.append(held)
        return held

    def release_holds(self) -> None:
        with self._lock:
            holds, self._holds = list(self._holds), []
        for held in holds:
            held.release.set()

    def _take_hold(self, method: str, path: str) -> HeldResponse | None:
        with self._lock:
            for held in self._holds:
                if held.method == method and held.path.search(path):
                    self._holds.remove(held)
                    return held
        return None

    def requests_matching(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Recorded requests, filtered by method and a regex searched in the path."""
        with self._lock:
            found = list(self.requests)
        if method:
            found = [r for r in found if r.method == method.upper()]
        if path:
            rx = re.compile(path)
            found = [r for r in found if rx.search(r.path)]
        return found

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def wait_for_request(
        self, predicate: Callable[[RecordedRequest], bool], *, timeout: float = 5.0, since: int = 0
    ) -> RecordedRequest:
        """Block until a recorded request (index >= since) matches; TimeoutError otherwise.

        Only for sync code: from a coroutine use `await wait_for_request_async(...)`, which does not block
        the event loop the client under test runs on.
        """
        deadline = time.monotonic() + timeout
        with self._requests_changed:
            while True:
                for req in self.requests[since:]:
                    if predicate(req):
                        return req
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching request within {timeout}s; saw {[r.route for r in self.requests]}")
                self._requests_changed.wait(left)

    async def wait_for_request_async(
        self, predicate: Callable[[RecordedRequest], bool], *, timeout: float = 5.0, since: int = 0
    ) -> RecordedRequest:
        return await asyncio.to_thread(self.wait_for_request, predicate, timeout=timeout, since=since)

    # ----------------------------------------------------------------------- internals
    def _route(self, method: str, template: str, handler: Handler, *, auth: bool = True) -> None:
        self._routes.append(compile_route(method, template, handler, auth=auth))

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self._routes:
            if route.method != method:
                continue
            m = route.pattern.match(path)
            if m:
                return route, m.groupdict()
        return None

    def _take_failure(self, method: str, path: str) -> ScriptedFailure | None:
        with self._lock:
            for failure in self._failures:
                if failure.method == method and failure.path.search(path):
                    if failure.skip > 0:
                        failure.skip -= 1
                        return None
                    failure.times -= 1
                    if failure.times <= 0:
                        self._failures.remove(failure)
                    return failure
        return None

    def _ratelimit(self, route: Route, params: dict[str, str]) -> tuple[dict[str, str], float | None]:
        """Count the call in its bucket; return the headers and, when over the limit, the retry delay."""
        bucket_hash = hashlib.sha1(f"{route.method} {route.template}".encode()).hexdigest()[:16]
        key = f"{bucket_hash}:{params.get(route.major or '', '')}"
        now = time.time()
        policy = self.rate_limit
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or now >= bucket.started + policy.window:
                bucket = self._buckets[key] = _Bucket(started=now)
            bucket.count += 1
            reset = bucket.started + policy.window
            over = bucket.count > policy.limit
            remaining = max(0, policy.limit - bucket.count)
        headers = {
            "X-RateLimit-Limit": str(policy.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{reset:.3f}",
            "X-RateLimit-Reset-After": f"{max(0.0, reset - now):.3f}",
            "X-RateLimit-Bucket": bucket_hash,
        }
        return headers, (max(0.001, reset - now) if over else None)

    def _record(self, req: RecordedRequest) -> None:
        with self._requests_changed:
            self.requests.append(req)
            self._requests_changed.notify_all()

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        path = request.path[len(API_PREFIX) :] or "/"
        method = request.method
        query = dict(request.query)
        body: Any = None
        files: list[tuple[str, bytes, str]] = []
        held: HeldResponse | None = None
        if request.content_type == "application/json" and request.can_read_body:
            raw = await request.read()
            body = json.loads(raw) if raw else None
        elif request.content_type == "application/x-www-form-urlencoded":
            body = dict(await request.post())  # the OAuth2 token exchange
        elif request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                data = await part.read()  # type: ignore[union-attr]
                if part.name == "payload_json":  # type: ignore[union-attr]
                    body = json.loads(data)
                else:
                    files.append((part.filename or "file", bytes(data), part.name or ""))  # type: ignore[union-attr]
        auth = request.headers.get("Authorization", "")
        authorized = auth == f"Bot {self.bot_token}"
        matched = self._match(method, path)
        if matched is None:
            status, out, headers = 404, {"message": "404: Not Found", "code": 0}, {}
            template = f"{method} <unknown>"
        else:
            route, params = matched
            template = f"{method} {route.template}"
            headers, over = self._ratelimit(route, params)
            failure = self._take_failure(method, path)
            if route.auth and not authorized:
                status, out = 401, {"message": "401: Unauthorized", "code": 0}
            elif failure is not None:
                status, out, extra = self._failure_answer(failure)
                headers.update(extra)
            elif over is not None:
                status, out = 429, {"message": "You are being rate limited.", "retry_after": over, "global": False}
                headers.update({"Via": "1.1 google", "Retry-After": str(int(over) + 1), "X-RateLimit-Scope": "user"})
            else:
                call = Call(request=request, params=params, query=query, json=body, files=files)
                try:
                    status, out = await route.handler(call)
                except ApiError as err:
                    status, out = err.status, err.body
                held = self._take_hold(method, path) if status < 400 else None
        self._record(
            RecordedRequest(
                method=method,
                path=path,
                query=query,
                json=body,
                files=tuple((f[0], f[1]) for f in files),
                authorized=authorized,
                status=status,
                time=arrived,
                route=template,
            )
        )
        if held is not None:
            held.reached.set()
            while not held.release.is_set():
                await asyncio.sleep(0.02)
        return json_response(status, out, headers)

    @staticmethod
    def _failure_answer(failure: ScriptedFailure) -> tuple[int, Any, dict[str, str]]:
        headers: dict[str, str] = {}
        if failure.status == 429:
            body = failure.body or {
                "message": "You are being rate limited.",
                "retry_after": failure.retry_after,
                "global": failure.is_global,
            }
            if failure.via:
                headers["Via"] = "1.1 google"
            headers["Retry-After"] = str(max(1, round(failure.retry_after)))
            if failure.is_global:
                headers["X-RateLimit-Global"] = "true"
            return 429, body, headers
        default = {"message": f"{failure.status}: scripted failure", "code": 0}
        return failure.status, failure.body or default, headers
