"""A fake OpenAI-compatible server on a real socket, for driving the unmodified openai SDK.

openai 3.x is built on httpx2, which respx cannot intercept, so the fake is an aiohttp server on
127.0.0.1 (random port) running in a background thread with its own event loop: sync tests, async
tests and subprocesses all reach it through `base_url`.

Each test scripts it: `enqueue(...)` queues replies or failures consumed one per chat call, in order
(a scripted item may be restricted to one model); `latency`, `max_context_tokens`, `models`,
`supports_json_schema`, `api_key`, `ratelimit_headers` and `models_delay` shape every call. With nothing queued, the default
responder answers with a *valid* reply: for a json_schema (or a schema given in the system prompt in
JSON mode) it walks the schema and fills it, citing refs that actually appear in the transcript so the
real engine round-trips. Every request is recorded for assertions (model, messages, response_format,
timing, peak concurrency).

The Batch API too: POST /v1/files (multipart, purpose "batch"), GET /v1/files/{id}[/content], POST
/v1/batches, GET /v1/batches/{id}, POST /v1/batches/{id}/cancel. Each retrieval moves a batch one status on
(validating -> in_progress -> finalizing -> completed; `batch_polls_per_status` retrievals each); at the end
its requests are answered like chat calls (scripted items included, in line order) into an output file and
an error file. `batch_outcome` scripts a "failed" or "expired" ending, or "never" (stays in_progress);
`batch_api = False` answers 404 like a compatible server without batches. Batch requests are recorded in
`batch_lines`, not in `chat_requests`.

Run alone (for a manual try or a benchmark in another process):
    python -m tests.fakes.openai_server --port 8765 --latency 1.0
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

from summaries.engine.tokens import get_encoding

DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3-mini")

# Transcript refs the default responder cites. The engine writes one message per line (a line break inside
# one is escaped as `\n`, so only the engine starts lines) led by its ref and
# the author's alias ("12 b +95m ^3: text", "^before" for a reply to a message before the chunk); reduce
# prompts end each point with its refs ("... [3, 5]").
# Tests may replace `FakeOpenAI.ref_pattern` (group 1: the ref).
DEFAULT_REF_PATTERN = re.compile(r"(?m)^(\d+) [a-z]{1,3}(?: \+\d+[mhd])?(?: \^(?:\d+|before))?: ")
_POINT_REFS = re.compile(r"(?m)\[(\d+(?:\s*,\s*\d+)*)\]\s*$")
_JSON_REFS = re.compile(r'"[A-Za-z_]*(?:refs?|citations?|sources?)"\s*:\s*\[([^\]]*)\]')
_CITATION_NAME = re.compile(r"(cit|ref|source|evidence|message_id|msg_id)", re.IGNORECASE)
INVENTED_REF_NUMBER = 987654321


def _encoding() -> Any:
    # OpenAI counts gpt-4o prompts in o200k_base; the engine's loader reads the bundled file (no download).
    return get_encoding("o200k_base")


def count_tokens(text: str) -> int:
    return len(_encoding().encode_ordinary(text))


def count_prompt_tokens(messages: list[dict[str, Any]]) -> int:
    # OpenAI's accounting for chat: ~3 tokens of framing per message and 3 to prime the reply.
    total = 3
    for message in messages:
        content = message.get("content") or ""
        if isinstance(content, list):  # content parts
            content = " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
        total += 3 + count_tokens(str(content))
    return total


# --- scripted replies ------------------------------------------------------------------------------


@dataclass
class Scripted:
    """One scripted answer. `content` set: a 200 with that text; `error` set: that status and body."""

    status: int = 200
    content: str | None = None
    error: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # Only a request for this model consumes the item (None: any model).
    model: str | None = None
    invent_citations: bool = False
    # Close the connection without answering (a connection error on the client side).
    drop: bool = False


def _error(status: int, message: str, *, type_: str, code: str | None, param: str | None = None) -> Scripted:
    return Scripted(status=status, error={"message": message, "type": type_, "param": param, "code": code})


def rate_limited(
    *,
    retry_after: float | None = None,
    retry_after_ms: float | None = None,
    reset_requests: str | None = None,
    reset_tokens: str | None = None,
    model: str | None = None,
) -> Scripted:
    item = _error(429, "Rate limit reached for requests", type_="requests", code="rate_limit_exceeded")
    if retry_after is not None:
        item.headers["retry-after"] = f"{retry_after:g}"
    if retry_after_ms is not None:
        item.headers["retry-after-ms"] = f"{retry_after_ms:g}"
    if reset_requests is not None:
        item.headers["x-ratelimit-remaining-requests"] = "0"
        item.headers["x-ratelimit-reset-requests"] = reset_requests
    if reset_tokens is not None:
        item.headers["x-ratelimit-remaining-tokens"] = "0"
        item.headers["x-ratelimit-reset-tokens"] = reset_tokens
    item.model = model
    return item


def insufficient_quota() -> Scripted:
    return _error(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        type_="insufficient_quota",
        code="insufficient_quota",
    )


def server_error(status: int = 500, *, model: str | None = None) -> Scripted:
    item = _error(status, "The server had an error while processing your request.", type_="server_error", code=None)
    item.model = model
    return item


def service_unavailable(*, model: str | None = None) -> Scripted:
    return server_error(503, model=model)


def slow(seconds: float) -> Scripted:
    """A reply held back longer than the client's timeout: the client sees a timeout."""
    return Scripted(delay=seconds)


def dropped_connection() -> Scripted:
    return Scripted(drop=True)


def context_length_exceeded(context: int = 8192, requested: int = 9000) -> Scripted:
    return _error(
        400,
        f"This model's maximum context length is {context} tokens. However, your messages resulted in "
        f"{requested} tokens. Please reduce the length of the messages.",
        type_="invalid_request_error",
        code="context_length_exceeded",
        param="messages",
    )


def unauthorized() -> Scripted:
    return _error(401, "Incorrect API key provided: sk-fake***.", type_="invalid_request_error", code="invalid_api_key")


def forbidden() -> Scripted:
    return _error(403, "Project does not have access to this model.", type_="invalid_request_error", code=None)


def model_not_found(model: str) -> Scripted:
    item = _error(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        type_="invalid_request_error",
        code="model_not_found",
    )
    item.model = model
    return item


def json_schema_unsupported() -> Scripted:
    return _error(
        400,
        "response_format type 'json_schema' is not supported by this server",
        type_="invalid_request_error",
        code=None,
        param="response_format",
    )


def content(text: str, *, model: str | None = None) -> Scripted:
    """A 200 whose message content is exactly `text` (for instance malformed JSON)."""
    return Scripted(content=text, model=model)


def invented_citations() -> Scripted:
    """A valid reply whose citation lists also carry ids that were never in the prompt."""
    return Scripted(invent_citations=True)


# --- the default responder -------------------------------------------------------------------------


def _find_refs(text: str, pattern: re.Pattern[str]) -> list[str]:
    refs = pattern.findall(text)
    if not refs:  # a reduce prompt: points carrying their refs
        for match in _POINT_REFS.finditer(text):
            refs.extend(re.findall(r"\d+", match.group(1)))
    if not refs:
        for match in _JSON_REFS.finditer(text):
            refs.extend(re.findall(r'"?([A-Za-z]{0,3}\d+)"?', match.group(1)))
    return list(dict.fromkeys(refs))


def _schema_from_system_prompt(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """JSON mode: the client put the schema in the system prompt; find the first JSON Schema object."""
    decoder = json.JSONDecoder()
    for message in messages:
        if message.get("role") != "system":
            continue
        text = str(message.get("content") or "")
        for start in (m.start() for m in re.finditer(r"\{", text)):
            try:
                value, _ = decoder.raw_decode(text, start)
            except ValueError:
                continue
            if isinstance(value, dict) and ("properties" in value or value.get("type") == "object"):
                return value
    return None


class _Filler:
    """Fills a JSON Schema with plausible values; citation arrays get the prompt's refs."""

    def __init__(
        self, root: dict[str, Any], refs: list[str], *, invent: bool, refs_per_list: int | None = None
    ) -> None:
        self.root = root
        self.refs = refs
        self.invent = invent
        self.refs_per_list = refs_per_list
        self.counter = itertools.count(1)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            path = schema["$ref"].lstrip("#/").split("/")
            node: Any = self.root
            for part in path:
                node = node[part]
            schema = node
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
                return self.resolve(options[0])
        return schema

    def fill(self, schema: dict[str, Any], name: str = "", refs: list[str] | None = None) -> Any:
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type", "object" if "properties" in schema else "string")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        citing = bool(_CITATION_NAME.search(name))
        if kind == "object":
            props: dict[str, Any] = schema.get("properties", {})
            return {key: self.fill(sub, key, refs) for key, sub in props.items()}
        if kind == "array":
            return self.fill_array(schema, name, refs, citing=citing)
        if kind in ("integer", "number"):
            if citing and refs:
                return self.ref_value(refs[0], kind)
            return schema.get("minimum", 1)
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        if citing and refs:
            return refs[0]
        if name == "language":
            return "en"
        return f"{name or 'text'} {next(self.counter)}"

    def fill_array(self, schema: dict[str, Any], name: str, refs: list[str] | None, *, citing: bool) -> list[Any]:
        items = self.resolve(schema.get("items", {"type": "string"}))
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", 10**9))
        pool = self.refs if refs is None else refs
        if citing and items.get("type") in ("string", "integer", "number"):
            chosen = pool[: min(high, self.refs_per_list or high)] if pool else []
            values = [self.ref_value(r, items["type"]) for r in chosen]
            if self.invent:
                values.append(self.ref_value(str(INVENTED_REF_NUMBER), items["type"]))
            return values
        # A list of points: spread every ref over a few items so each message is cited once.
        count = max(low, min(high, 3 if pool else 1))
        if count == 0:
            return []
        shares = [pool[i::count] for i in range(count)] if pool else [[] for _ in range(count)]
        return [self.fill(items, name, share) for share in shares]

    @staticmethod
    def ref_value(ref: str, kind: str) -> Any:
        if kind in ("integer", "number"):
            digits = re.sub(r"\D", "", ref)
            return int(digits) if digits else 0
        return ref


def respond(
    messages: list[dict[str, Any]],
    response_format: dict[str, Any] | None,
    *,
    ref_pattern: re.Pattern[str] = DEFAULT_REF_PATTERN,
    invent: bool = False,
    max_tokens: int | None = None,
) -> str:
    user_text = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "user")
    refs = _find_refs(user_text, ref_pattern)
    schema: dict[str, Any] | None = None
    if response_format and response_format.get("type") == "json_schema":
        schema = response_format.get("json_schema", {}).get("schema")
    elif response_format and response_format.get("type") == "json_object":
        schema = _schema_from_system_prompt(messages) or {
            "type": "object",
            "properties": {"summary": {"type": "string"}, "refs": {"type": "array", "items": {"type": "string"}}},
        }
    if schema is None:
        return f"A summary of {len(refs)} messages."
    # Like a model keeping within max_tokens: cite fewer messages per point rather than be cut off.
    per_list: int | None = 64 if max_tokens and len(refs) > 64 else None
    text = json.dumps(_Filler(schema, refs, invent=invent, refs_per_list=per_list).fill(schema))
    per_list = per_list or 64
    while max_tokens and count_tokens(text) > max_tokens and per_list > 1:
        per_list //= 2
        text = json.dumps(_Filler(schema, refs, invent=invent, refs_per_list=per_list).fill(schema))
    return text


# --- the server ------------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    method: str
    path: str
    model: str | None
    messages: list[dict[str, Any]]
    response_format: dict[str, Any] | None
    body: dict[str, Any]
    authorization: str
    started: float
    finished: float = 0.0
    status: int = 0
    prompt_tokens: int = 0


@dataclass
class FakeFile:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int = field(default_factory=lambda: int(time.time()))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "object": "file", "bytes": len(self.data), "created_at": self.created_at,
            "filename": self.filename, "purpose": self.purpose, "status": "processed", "expires_at": None,
            "status_details": None,
        }


@dataclass
class FakeBatch:
    id: str
    input_file_id: str
    endpoint: str
    metadata: dict[str, str] | None
    outcome: str
    polls_per_status: int
    status: str = "validating"
    polls: int = 0
    lines: list[dict[str, Any]] = field(default_factory=list)
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[dict[str, Any]] | None = None
    counts: dict[str, int] = field(default_factory=lambda: {"total": 0, "completed": 0, "failed": 0})
    created_at: int = field(default_factory=lambda: int(time.time()))
    times: dict[str, int] = field(default_factory=dict)

    def mark(self, status: str) -> None:
        self.status = status
        self.times[f"{status}_at"] = int(time.time())

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "object": "batch", "endpoint": self.endpoint, "input_file_id": self.input_file_id,
            "completion_window": "24h", "status": self.status, "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id, "created_at": self.created_at,
            "expires_at": self.created_at + 24 * 3600,
            "errors": {"object": "list", "data": self.errors} if self.errors else None,
            "request_counts": self.counts, "metadata": self.metadata, "model": None,
            **{key: self.times.get(key) for key in (
                "in_progress_at", "finalizing_at", "completed_at", "failed_at", "expired_at", "cancelling_at",
                "cancelled_at",
            )},
        }


class FakeOpenAI:
    """The fake server. Attributes may be changed by a test at any time (read per request)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.requested_port = port
        self.port = 0
        self.latency = 0.0  # seconds every chat call takes
        self.models_delay = 0.0  # seconds GET /models takes
        self.max_context_tokens: int | None = None
        self.models: list[str] = list(DEFAULT_MODELS)
        self.supports_json_schema = True
        self.api_key: str | None = None  # None: any bearer token is accepted
        self.ratelimit_headers: dict[str, str] = {}
        self.ref_pattern: re.Pattern[str] = DEFAULT_REF_PATTERN
        self.requests: list[RecordedRequest] = []
        self.peak_concurrency = 0
        # The Batch API: how a batch ends ("completed", "failed", "expired", or "never": stays in_progress),
        # how many retrievals it spends in each status, and how many requests an expiring batch answered.
        self.batch_api = True  # False: 404 on files and batches, as from a compatible server without them
        self.batch_outcome = "completed"
        self.batch_polls_per_status = 1
        self.batch_expire_after = 0
        self.files: dict[str, FakeFile] = {}
        self.batches: dict[str, FakeBatch] = {}
        # Requests answered inside batches (scripted items apply to them too, in line order).
        self.batch_lines: list[RecordedRequest] = []
        self._in_flight = 0
        self._script: collections.deque[Scripted] = collections.deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # -- scripting and assertions (called from the test's thread) --

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def enqueue(self, *items: Scripted) -> None:
        with self._lock:
            self._script.extend(items)

    def pending(self) -> int:
        with self._lock:
            return len(self._script)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()
            self.batch_lines.clear()
            self.peak_concurrency = 0

    def requests_to(self, method: str, pattern: str) -> list[RecordedRequest]:
        """Recorded HTTP requests whose path matches `pattern` (a regular expression, searched)."""
        with self._lock:
            return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    def batch_input(self, batch_id: str) -> list[dict[str, Any]]:
        """The request lines a batch was created with."""
        batch = self.batches[batch_id]
        return [json.loads(raw) for raw in self.files[batch.input_file_id].data.decode().splitlines() if raw.strip()]

    # -- lifecycle --

    def start(self) -> FakeOpenAI:
        _encoding()  # load the vocabulary once, before the first timed request
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.requested_port))
        self.port = sock.getsockname()[1]
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, args=(sock, ready), name="fake-openai", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake OpenAI server did not start")
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        assert self._loop is not None
        loop = self._loop
        asyncio.set_event_loop(loop)
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/files", self._file_create)
        app.router.add_get("/v1/files/{file_id}", self._file_get)
        app.router.add_get("/v1/files/{file_id}/content", self._file_content)
        app.router.add_post("/v1/batches", self._batch_create)
        app.router.add_get("/v1/batches/{batch_id}", self._batch_get)
        app.router.add_post("/v1/batches/{batch_id}/cancel", self._batch_cancel)
        # handler_cancellation: a client that timed out hangs up, and its handler stops sleeping.
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=0.1)
        loop.run_until_complete(self._runner.setup())
        loop.run_until_complete(web.SockSite(self._runner, sock).start())
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

    # -- handlers (run on the server's loop) --

    def _authorized(self, request: web.Request) -> bool:
        return self.api_key is None or request.headers.get("Authorization") == f"Bearer {self.api_key}"

    @staticmethod
    def _error_response(item: Scripted, headers: dict[str, str] | None = None) -> web.Response:
        return web.json_response({"error": item.error}, status=item.status, headers={**(headers or {}), **item.headers})

    def _take(self, model: str | None) -> Scripted | None:
        with self._lock:
            for index, item in enumerate(self._script):
                if item.model is None or item.model == model:
                    del self._script[index]
                    return item
        return None

    async def _models(self, request: web.Request) -> web.Response:
        record = RecordedRequest(
            method="GET",
            path=request.path,
            model=None,
            messages=[],
            response_format=None,
            body={},
            authorization=request.headers.get("Authorization", ""),
            started=time.time(),
        )
        with self._lock:
            self.requests.append(record)
        if self.models_delay:
            await asyncio.sleep(self.models_delay)
        if not self._authorized(request):
            record.status = 401
            return self._error_response(unauthorized())
        record.status = 200
        data = [{"id": m, "object": "model", "created": 1700000000, "owned_by": "fake"} for m in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body: dict[str, Any] = await request.json()
        model = body.get("model")
        messages = body.get("messages") or []
        record = RecordedRequest(
            method="POST",
            path=request.path,
            model=model,
            messages=messages,
            response_format=body.get("response_format"),
            body=body,
            authorization=request.headers.get("Authorization", ""),
            started=time.time(),
        )
        with self._lock:
            self.requests.append(record)
            self._in_flight += 1
            self.peak_concurrency = max(self.peak_concurrency, self._in_flight)
        try:
            response = await self._answer(request, record, body)
            record.status = response.status
            return response
        finally:
            record.finished = time.time()
            with self._lock:
                self._in_flight -= 1

    async def _answer(self, request: web.Request, record: RecordedRequest, body: dict[str, Any]) -> web.StreamResponse:
        model = record.model
        item = self._take(model)
        # Counting a long prompt takes tens of milliseconds: do it off the loop and during the latency,
        # so `latency` is the whole time a call takes and concurrent calls are not served one by one.
        counting = asyncio.get_running_loop().run_in_executor(None, count_prompt_tokens, record.messages)
        delay = self.latency + (item.delay if item else 0.0)
        if delay:
            await asyncio.sleep(delay)
        record.prompt_tokens = await counting
        if item and item.drop:
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError
        if not self._authorized(request):
            return self._error_response(unauthorized())
        status, payload, headers = self._complete(record, body, item)
        return web.json_response(payload, status=status, headers=headers)

    def _complete(
        self, record: RecordedRequest, body: dict[str, Any], item: Scripted | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """One chat completion, answered over HTTP or as a line of a batch: (status, JSON body, headers)."""
        model = record.model
        if item and item.error:
            return item.status, {"error": item.error}, dict(item.headers)
        if model not in self.models:
            return 404, {"error": model_not_found(str(model)).error}, {}
        response_format = record.response_format
        if response_format and response_format.get("type") == "json_schema" and not self.supports_json_schema:
            return 400, {"error": json_schema_unsupported().error}, {}
        max_out = int(body.get("max_completion_tokens") or body.get("max_tokens") or 0)
        if self.max_context_tokens is not None and record.prompt_tokens + max_out > self.max_context_tokens:
            refused = context_length_exceeded(self.max_context_tokens, record.prompt_tokens + max_out)
            return 400, {"error": refused.error}, {}
        if item and item.content is not None:
            text = item.content
        else:
            text = respond(
                record.messages,
                response_format,
                ref_pattern=self.ref_pattern,
                invent=bool(item and item.invent_citations),
                max_tokens=max_out or None,
            )
        completion_tokens = count_tokens(text)
        payload = {
            "id": f"chatcmpl-fake{len(self.requests) + len(self.batch_lines)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": record.prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": record.prompt_tokens + completion_tokens,
            },
        }
        headers = {
            "x-ratelimit-limit-requests": "100000",
            "x-ratelimit-remaining-requests": "99999",
            "x-ratelimit-reset-requests": "1ms",
            "x-ratelimit-limit-tokens": "100000000",
            "x-ratelimit-remaining-tokens": str(100000000 - record.prompt_tokens - completion_tokens),
            "x-ratelimit-reset-tokens": "1ms",
            "x-request-id": payload["id"],
            **self.ratelimit_headers,
            **(item.headers if item else {}),
        }
        return 200, payload, headers

    # -- files and batches (the Batch API) --

    def _record(self, request: web.Request, body: dict[str, Any] | None = None) -> RecordedRequest:
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            model=None,
            messages=[],
            response_format=None,
            body=body or {},
            authorization=request.headers.get("Authorization", ""),
            started=time.time(),
        )
        with self._lock:
            self.requests.append(record)
        return record

    def _reply(self, record: RecordedRequest, payload: dict[str, Any], status: int = 200) -> web.Response:
        record.status, record.finished = status, time.time()
        return web.json_response(payload, status=status)

    def _invalid(self, record: RecordedRequest, message: str, *, param: str | None = None, status: int = 400) -> web.Response:
        return self._reply(
            record,
            {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}},
            status,
        )

    async def _file_create(self, request: web.Request) -> web.Response:
        record = self._record(request)
        if not self.batch_api:
            return self._invalid(record, f"Invalid URL (POST {request.path})", status=404)
        if not self._authorized(request):
            return self._reply(record, {"error": unauthorized().error}, 401)
        form = await request.post()
        purpose, upload = form.get("purpose"), form.get("file")
        if not isinstance(upload, web.FileField):
            return self._invalid(record, "'file' is a required property", param="file")
        if purpose not in ("batch", "assistants", "fine-tune", "vision", "user_data", "evals"):
            return self._invalid(record, f"Invalid value for 'purpose': {purpose!r}", param="purpose")
        data = upload.file.read()
        if purpose == "batch" and not upload.filename.endswith(".jsonl"):
            return self._invalid(record, "Batch input files must be .jsonl", param="file")
        file = self._store_file(data, filename=upload.filename, purpose=str(purpose))
        record.body = {"purpose": purpose, "filename": upload.filename, "bytes": len(data)}
        return self._reply(record, file.to_json())

    def _store_file(self, data: bytes, *, filename: str, purpose: str) -> FakeFile:
        with self._lock:
            file = FakeFile(id=f"file-fake{len(self.files) + 1}", filename=filename, purpose=purpose, data=data)
            self.files[file.id] = file
        return file

    async def _file_get(self, request: web.Request) -> web.Response:
        record = self._record(request)
        if not self._authorized(request):
            return self._reply(record, {"error": unauthorized().error}, 401)
        file = self.files.get(request.match_info["file_id"])
        if file is None:
            return self._invalid(record, "No such File object", param="id", status=404)
        return self._reply(record, file.to_json())

    async def _file_content(self, request: web.Request) -> web.Response:
        record = self._record(request)
        if not self._authorized(request):
            return self._reply(record, {"error": unauthorized().error}, 401)
        file = self.files.get(request.match_info["file_id"])
        if file is None:
            return self._invalid(record, "No such File object", param="id", status=404)
        record.status, record.finished = 200, time.time()
        return web.Response(body=file.data, content_type="application/octet-stream")

    async def _batch_create(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        record = self._record(request, body)
        if not self.batch_api:
            return self._invalid(record, f"Invalid URL (POST {request.path})", status=404)
        if not self._authorized(request):
            return self._reply(record, {"error": unauthorized().error}, 401)
        if body.get("endpoint") not in ("/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/completions"):
            return self._invalid(record, f"Invalid value for 'endpoint': {body.get('endpoint')!r}", param="endpoint")
        if body.get("completion_window") != "24h":
            return self._invalid(record, "completion_window must be '24h'", param="completion_window")
        file = self.files.get(str(body.get("input_file_id")))
        if file is None:
            return self._invalid(record, "No such File object", param="input_file_id", status=404)
        if file.purpose != "batch":
            return self._invalid(record, "The input file must be uploaded with purpose 'batch'", param="input_file_id")
        with self._lock:
            batch = FakeBatch(
                id=f"batch_fake{len(self.batches) + 1}",
                input_file_id=file.id,
                endpoint=str(body["endpoint"]),
                metadata=body.get("metadata"),
                outcome=self.batch_outcome,
                polls_per_status=self.batch_polls_per_status,
            )
            self.batches[batch.id] = batch
        return self._reply(record, batch.to_json())

    async def _batch_get(self, request: web.Request) -> web.Response:
        record = self._record(request)
        if not self._authorized(request):
            return self._reply(record, {"error": unauthorized().error}, 401)
        batch = self.batches.get(request.match_info["batch_id"])
        if batch is None:
            return self._invalid(record, "No such Batch object", param="id", status=404)
        batch.polls += 1
        if batch.polls % batch.polls_per_status == 0:
            # Answering a batch counts its prompts: off the loop, as for chat calls.
            await asyncio.get_running_loop().run_in_executor(None, self._advance, batch)
        return self._reply(record, batch.to_json())

    async def _batch_cancel(self, request: web.Request) -> web.Response:
        record = self._record(request)
        if not self._authorized(request):
            return self._reply(record, {"error": unauthorized().error}, 401)
        batch = self.batches.get(request.match_info["batch_id"])
        if batch is None:
            return self._invalid(record, "No such Batch object", param="id", status=404)
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            return self._invalid(record, f"Cannot cancel a batch with status '{batch.status}'.", status=409)
        if batch.status != "cancelling":
            batch.mark("cancelling")
        return self._reply(record, batch.to_json())

    def _advance(self, batch: FakeBatch) -> None:
        """One step of validating -> in_progress -> finalizing -> completed, or the scripted ending."""
        if batch.status == "cancelling":
            self._finish(batch, "cancelled", done=0, missing_code=None)
        elif batch.status == "validating":
            problems = self._validate(batch)
            if problems:
                batch.errors = problems
                batch.mark("failed")
            else:
                batch.mark("in_progress")
        elif batch.status == "in_progress":
            if batch.outcome == "never":
                return
            if batch.outcome == "failed":
                batch.errors = [{"code": "server_error", "message": "The batch failed.", "param": None, "line": None}]
                batch.mark("failed")
            elif batch.outcome == "expired":
                self._finish(batch, "expired", done=self.batch_expire_after, missing_code="batch_expired")
            else:
                batch.mark("finalizing")
        elif batch.status == "finalizing":
            self._finish(batch, "completed", done=len(batch.lines), missing_code=None)

    def _validate(self, batch: FakeBatch) -> list[dict[str, Any]]:
        problems: list[dict[str, Any]] = []
        seen: set[str] = set()
        for number, raw in enumerate(self.files[batch.input_file_id].data.decode().splitlines(), 1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                problems.append({"code": "invalid_json_line", "message": "Invalid JSON", "param": None, "line": number})
                continue
            custom_id = line.get("custom_id")
            if not custom_id or custom_id in seen:
                code = "duplicate_custom_id" if custom_id else "missing_required_parameter"
                problems.append({"code": code, "message": "custom_id must be unique", "param": "custom_id", "line": number})
            elif line.get("method") != "POST" or line.get("url") != batch.endpoint:
                problems.append(
                    {"code": "mismatched_endpoint", "message": "url must match the batch's endpoint", "param": "url",
                     "line": number}
                )
            elif not isinstance(line.get("body"), dict) or not line["body"].get("model"):
                problems.append({"code": "missing_required_parameter", "message": "body.model is required",
                                 "param": "body.model", "line": number})
            seen.add(str(custom_id))
            batch.lines.append(line)
        return problems

    def _finish(self, batch: FakeBatch, status: str, *, done: int, missing_code: str | None) -> None:
        """Answer the first `done` requests (output and error files), the rest get `missing_code` (or nothing)."""
        output: list[str] = []
        errors: list[str] = []
        for number, line in enumerate(batch.lines):
            line_id = f"batch_req_{batch.id}_{number}"
            if number >= done:
                if missing_code:
                    message = "This request could not be executed before the completion window expired."
                    errors.append(json.dumps({"id": line_id, "custom_id": line["custom_id"], "response": None,
                                              "error": {"code": missing_code, "message": message}}))
                continue
            body = line["body"]
            record = RecordedRequest(
                method="POST", path=f"batch:{batch.endpoint}", model=body.get("model"),
                messages=body.get("messages") or [], response_format=body.get("response_format"), body=body,
                authorization="", started=time.time(),
            )
            record.prompt_tokens = count_prompt_tokens(record.messages)
            status_code, payload, _ = self._complete(record, body, self._take(record.model))
            record.status, record.finished = status_code, time.time()
            with self._lock:
                self.batch_lines.append(record)
            entry = json.dumps({"id": line_id, "custom_id": line["custom_id"], "response": {
                "status_code": status_code, "request_id": f"req_{line_id}", "body": payload}, "error": None})
            (output if status_code == 200 else errors).append(entry)
        if output:
            name = f"batch_{batch.id}_output.jsonl"
            batch.output_file_id = self._store_file(("\n".join(output) + "\n").encode(), filename=name,
                                                    purpose="batch_output").id
        if errors:
            name = f"batch_{batch.id}_error.jsonl"
            batch.error_file_id = self._store_file(("\n".join(errors) + "\n").encode(), filename=name,
                                                   purpose="batch_output").id
        batch.counts = {"total": len(batch.lines), "completed": len(output), "failed": len(errors)}
        batch.mark(status)


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake OpenAI-compatible API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--max-context", type=int, default=None)
    args = parser.parse_args(list(argv) if argv is not None else None)
    server = FakeOpenAI(port=args.port)
    server.latency = args.latency
    server.max_context_tokens = args.max_context
    with server:
        # A machine-readable first line, so a parent process can read the port.
        print(server.base_url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
