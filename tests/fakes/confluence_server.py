"""A fake Confluence REST API over a real socket, enough of it for the unmodified atlassian-python-api:

    GET  <prefix>/rest/api/content?spaceKey=&title=&type=page    look a page up by title
    POST <prefix>/rest/api/content                               create a page (storage format)

`FakeConfluence(deployment="cloud")` serves under /wiki and takes basic auth (email + API token);
`deployment="datacenter"` serves at the root and takes `Authorization: Bearer <personal token>`. Like
Confluence it answers 401 to bad credentials, 404 for an unknown space or parent, 400 for a title already
used in the space and for a body that is not well-formed XHTML; errors are {"statusCode", "data",
"message", "reason"}. `faults` scripts failures as in the Notion fake (`after=True`: created, then failed).
"""

from __future__ import annotations

import base64
import json
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    method: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    after: bool = False


class ConfluenceError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class FakeConfluence:
    def __init__(self, *, deployment: str = "cloud", email: str = "admin@example.com", api_token: str = "atl-token",
                 personal_token: str = "pat-token", host: str = "127.0.0.1") -> None:
        self.deployment = deployment
        self.prefix = "/wiki" if deployment == "cloud" else ""
        basic = base64.b64encode(f"{email}:{api_token}".encode()).decode()
        self.expected_auth = f"Basic {basic}" if deployment == "cloud" else f"Bearer {personal_token}"
        self.spaces: set[str] = {"ENG"}
        self.pages: dict[str, dict[str, Any]] = {"1000": {"id": "1000", "title": "Home", "space": "ENG", "body": ""}}
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._next_id = 2000
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload, extra = fake.handle(self.command, self.path, headers, json.loads(raw) if raw else None)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle  # noqa: N815  (http.server's naming)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}{self.prefix}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def pages_in(self, space: str) -> list[dict[str, Any]]:
        return [p for p in self.pages.values() if p["space"] == space and p["id"] != "1000"]

    def handle(self, method: str, target: str, headers: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        path, query = urlsplit(target).path.rstrip("/"), parse_qs(urlsplit(target).query)
        with self._lock:
            self.requests.append((method, target, headers))
            fault = next((f for f in self.faults if f.method == method), None)
            if fault is not None:
                self.faults.remove(fault)
            try:
                if headers.get("authorization") != self.expected_auth:
                    raise ConfluenceError(401, "Basic authentication with passwords is deprecated / bad credentials")
                if path != f"{self.prefix}/rest/api/content":
                    raise ConfluenceError(404, f"null for uri: {target}")
                if fault is not None and not fault.after:
                    raise ConfluenceError(fault.status, "Scripted failure.")
                result = self._find(query) if method == "GET" else self._create(body or {})
                if fault is not None:
                    raise ConfluenceError(fault.status, "Scripted failure after the work was done.")
                return 200, result, {}
            except ConfluenceError as exc:
                extra = fault.headers if fault is not None else {}
                return exc.status, {"statusCode": exc.status, "data": {"authorized": exc.status != 401, "valid": False,
                                    "errors": [], "successful": False}, "message": exc.message,
                                    "reason": {400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}
                                    .get(exc.status, "Error")}, extra

    def _find(self, query: dict[str, list[str]]) -> dict[str, Any]:
        space, title = query.get("spaceKey", [""])[0], query.get("title", [""])[0]
        found = [{"id": p["id"], "type": "page", "status": "current", "title": p["title"]}
                 for p in self.pages.values() if p["space"] == space and p["title"] == title]
        return {"results": found, "start": 0, "limit": 25, "size": len(found)}

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        space, title = (body.get("space") or {}).get("key"), body.get("title") or ""
        if space not in self.spaces:
            raise ConfluenceError(404, f"No space with key : {space}")
        if any(p["space"] == space and p["title"] == title for p in self.pages.values()):
            raise ConfluenceError(400, f"A page with this title already exists: A page already exists with the title "
                                       f"{title} in the space with key {space}")
        ancestors = body.get("ancestors") or []
        if ancestors and ancestors[0]["id"] not in self.pages:
            raise ConfluenceError(404, f"No parent page with id {ancestors[0]['id']}")
        storage = body["body"]["storage"]["value"]
        try:
            ET.fromstring(f"<root>{storage}</root>")
        except ET.ParseError as exc:
            raise ConfluenceError(400, f"Error parsing xhtml: {exc}") from None
        self._next_id += 1
        page = {"id": str(self._next_id), "title": title, "space": space, "body": storage,
                "parent": ancestors[0]["id"] if ancestors else None}
        self.pages[page["id"]] = page
        return {"id": page["id"], "type": "page", "status": "current", "title": title,
                "_links": {"webui": f"/spaces/{space}/pages/{page['id']}"}}

    def start(self) -> FakeConfluence:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeConfluence:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
