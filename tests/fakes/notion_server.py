"""A fake Notion API over a real socket, enough of it for the unmodified notion-client:

    POST  /v1/pages                        create a page in a database (≤ 100 children)
    PATCH /v1/blocks/{id}/children         append blocks (≤ 100)
    GET   /v1/blocks/{id}/children         list them, 100 a page, with cursors
    POST  /v1/databases/{id}/query         filter on a rich_text property `equals`

It checks what Notion checks: `Authorization: Bearer <token>` (401 unauthorized), a `Notion-Version`
header (400 missing_version), a database that exists (404 object_not_found), properties the database has
and of its type (400 validation_error), at most 100 blocks a request and 2000 characters a text object.
Errors are Notion's JSON: {"object": "error", "status", "code", "message", "request_id"}.

`faults` scripts failures: `Fault("POST", "/v1/pages", 500)` answers the next matching request with 500;
`after=True` does the work first and then fails (the answer is lost, the page exists).
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEFAULT_SCHEMA = {"Name": "title", "Date": "date", "Channel": "rich_text", "Tags": "multi_select",
                  "Webhook ID": "rich_text"}
ERROR_CODES = {400: "validation_error", 401: "unauthorized", 403: "restricted_resource", 404: "object_not_found",
               409: "conflict_error", 429: "rate_limited", 500: "internal_server_error", 502: "bad_gateway",
               503: "service_unavailable"}


@dataclass
class Fault:
    method: str
    path_prefix: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    after: bool = False


class NotionError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code or ERROR_CODES.get(status, "internal_server_error")


def _text_limit(rich_text: list[dict[str, Any]], where: str) -> None:
    for n, piece in enumerate(rich_text):
        content = piece.get("text", {}).get("content", "")
        if len(content) > 2000:
            raise NotionError(400, f"body.{where}[{n}].text.content.length should be ≤ `2000`, instead was "
                                   f"`{len(content)}`.")


def _check_blocks(children: list[dict[str, Any]], where: str) -> None:
    if len(children) > 100:
        raise NotionError(400, f"body.{where}.length should be ≤ `100`, instead was `{len(children)}`.")
    for n, block in enumerate(children):
        kind = block.get("type")
        if kind not in ("paragraph", "heading_1", "heading_2", "heading_3", "bulleted_list_item"):
            raise NotionError(400, f"body.{where}[{n}].type should be a block type, instead was `{kind}`.")
        _text_limit(block[kind]["rich_text"], f"{where}[{n}].{kind}.rich_text")


class FakeNotion:
    def __init__(self, *, token: str = "secret_test", host: str = "127.0.0.1") -> None:
        self.token = token
        self.databases: dict[str, dict[str, str]] = {}
        self.pages: dict[str, dict[str, Any]] = {}
        self.children: dict[str, list[dict[str, Any]]] = {}
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload, extra = fake.handle(self.command, self.path, headers, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _handle  # noqa: N815  (http.server's naming)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def add_database(self, schema: dict[str, str] | None = None) -> str:
        database_id = str(uuid.uuid4())
        self.databases[database_id.replace("-", "")] = dict(schema or DEFAULT_SCHEMA)
        return database_id

    def pages_in(self, database_id: str) -> list[dict[str, Any]]:
        key = database_id.replace("-", "")
        return [p for p in self.pages.values() if p["parent"]["database_id"].replace("-", "") == key]

    # --- the API ---------------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        path, query = urlsplit(target).path, parse_qs(urlsplit(target).query)
        with self._lock:
            self.requests.append((method, path, headers, body))
            fault = next((f for f in self.faults if f.method == method and path.startswith(f.path_prefix)), None)
            if fault is not None:
                self.faults.remove(fault)
            try:
                if headers.get("authorization") != f"Bearer {self.token}":
                    raise NotionError(401, "API token is invalid.")
                if not headers.get("notion-version"):
                    raise NotionError(400, "Notion-Version header failed validation: Notion-Version header should be "
                                           "defined, instead was `undefined`.", "missing_version")
                if fault is not None and not fault.after:
                    raise NotionError(fault.status, "Scripted failure.")
                result = self._route(method, path, query, body)
                if fault is not None:
                    raise NotionError(fault.status, "Scripted failure after the work was done.")
                return 200, result, {}
            except NotionError as exc:
                extra = fault.headers if fault is not None else {}
                return exc.status, {"object": "error", "status": exc.status, "code": exc.code,
                                    "message": exc.message, "request_id": str(uuid.uuid4())}, extra

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Any:
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v1", "pages"]:
            return self._create_page(body)
        if len(parts) == 4 and parts[:2] == ["v1", "blocks"] and parts[3] == "children":
            block_id = parts[2]
            if block_id not in self.children:
                raise NotionError(404, f"Could not find block with ID: {block_id}.")
            if method == "PATCH":
                _check_blocks(body.get("children") or [], "children")
                added = [self._stored(b) for b in body["children"]]
                self.children[block_id] += added
                return {"object": "list", "results": added, "next_cursor": None, "has_more": False}
            if method == "GET":
                size = min(int(query.get("page_size", ["100"])[0]), 100)
                start = int(query.get("start_cursor", ["0"])[0])
                blocks = self.children[block_id]
                more = start + size < len(blocks)
                return {"object": "list", "results": blocks[start:start + size],
                        "next_cursor": str(start + size) if more else None, "has_more": more}
        if method == "POST" and len(parts) == 4 and parts[:2] == ["v1", "databases"] and parts[3] == "query":
            schema = self._database(parts[2])
            wanted = (body or {}).get("filter") or {}
            name = wanted.get("property")
            if name not in schema:
                raise NotionError(400, f"Could not find property with name or id: {name}")
            equals = wanted.get("rich_text", {}).get("equals")
            found = [p for p in self.pages_in(parts[2])
                     if "".join(t["text"]["content"] for t in p["properties"].get(name, {}).get("rich_text", []))
                     == equals]
            return {"object": "list", "results": found, "next_cursor": None, "has_more": False}
        raise NotionError(400, f"Invalid request URL: {method} {path}", "invalid_request_url")

    def _database(self, database_id: str) -> dict[str, str]:
        schema = self.databases.get(database_id.replace("-", ""))
        if schema is None:
            raise NotionError(404, f"Could not find database with ID: {database_id}. Make sure the relevant pages "
                                   "and databases are shared with your integration.")
        return schema

    def _stored(self, block: dict[str, Any]) -> dict[str, Any]:
        return {**block, "object": "block", "id": str(uuid.uuid4()), "has_children": False}

    def _create_page(self, body: dict[str, Any]) -> dict[str, Any]:
        database_id = (body.get("parent") or {}).get("database_id")
        schema = self._database(database_id or "")
        properties = body.get("properties") or {}
        for name, value in properties.items():
            if name not in schema:
                raise NotionError(400, f"{name} is not a property that exists.")
            if schema[name] not in value:
                raise NotionError(400, f"{name} is expected to be {schema[name]}.")
            if schema[name] in ("title", "rich_text"):
                _text_limit(value[schema[name]], f"properties.{name}.{schema[name]}")
        if not any(kind == "title" and name in properties for name, kind in schema.items()):
            raise NotionError(400, "Title is not provided")
        children = body.get("children") or []
        _check_blocks(children, "children")
        page_id = str(uuid.uuid4())
        page = {"object": "page", "id": page_id, "parent": {"type": "database_id", "database_id": database_id},
                "properties": properties, "url": f"https://www.notion.so/{page_id.replace('-', '')}"}
        self.pages[page_id] = page
        self.children[page_id] = [self._stored(b) for b in children]
        return page

    def start(self) -> FakeNotion:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeNotion:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
