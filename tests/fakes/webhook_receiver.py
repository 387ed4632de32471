"""A webhook receiver over a real socket: records every request, answers from a script, verifies signatures
with the `standardwebhooks` library itself (never with our code).

    with WebhookReceiver() as receiver:
        receiver.script = [Reply(500), Reply(200)]      # then 200 for ever (`default`)
        ... receiver.url ... receiver.requests ... receiver.verified(secret)

`WebhookReceiver(port=...)` listens on a given port, so a test can stop a receiver and start it again
where the destination points ("receiver down, then up"). `latency` delays every answer (the benchmark).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = '{"ok": true}'
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def verify(self, secret: str) -> Any:
        """The parsed payload if `secret` signed it (standardwebhooks' check); WebhookVerificationError if not."""
        return Webhook(secret).verify(self.body, self.headers)

    def verifies(self, secret: str) -> bool:
        try:
            self.verify(secret)
        except WebhookVerificationError:
            return False
        return True


class WebhookReceiver:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0, keep_alive: bool = False):
        self.script: list[Reply] = []
        self.default = Reply()
        self.requests: list[Received] = []
        self.latency = latency
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.requests.append(Received(
                        method="POST", path=self.path, headers={k.lower(): v for k, v in self.headers.items()}, body=body,
                    ))
                    reply = receiver.script.pop(0) if receiver.script else receiver.default
                if receiver.latency:
                    time.sleep(receiver.latency)
                payload = reply.body.encode()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.host, self.port = host, self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
