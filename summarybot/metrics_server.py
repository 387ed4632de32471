"""/metrics on a port of its own, for the processes that serve no HTTP: the worker (qcluster) and the bot (runbot).

In containers (compose services, Kubernetes pods) web, worker and bot share no PROMETHEUS_MULTIPROC_DIR, so
web's /metrics cannot add up the others' counters: each serves its own on METRICS_PORT (unset: no listener)
at METRICS_BIND. The worker's listener runs in the qcluster's first process, which lives as long as the
cluster, and reads the files that django-q2's forked and recycled worker processes write to
PROMETHEUS_MULTIPROC_DIR (so the worker needs one); the bot is one process and serves what it counts, or the
directory when it has one. Counters only: the states of the shared database (job_queue_size, open breakers)
are on web's /metrics, the same from every process, so no pod repeats them.

Access: with METRICS_TOKEN set, `Authorization: Bearer <METRICS_TOKEN>`, as on web; without it, anyone who
reaches METRICS_BIND (127.0.0.1 by default). A container that binds 0.0.0.0 should have a token.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from prometheus_client import CollectorRegistry, make_wsgi_app

from summarybot.metrics_view import bearer_token_matches, counters

logger = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in flight never holds the process up at exit


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  a line per scrape is only noise
        pass


def metrics_app(*, registry: CollectorRegistry, token: str) -> WsgiApp:
    """GET /metrics: the registry's exposition, behind the bearer token when there is one."""
    serve = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "/") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"only /metrics is served here\n"]
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Content-Type", "text/plain"), ("Allow", "GET, HEAD")])
            return [b"GET only\n"]
        if token and not bearer_token_matches(environ.get("HTTP_AUTHORIZATION", ""), token):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')],
            )
            return [b"a valid metrics token is required\n"]
        return serve(environ, start_response)

    return app


@dataclass(frozen=True)
class MetricsServer:
    httpd: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def metrics_server_start(*, port: int, bind: str, registry: CollectorRegistry, token: str) -> MetricsServer:
    """Listen on bind:port in a daemon thread; raises OSError when the port cannot be had."""
    server_class = _Server6 if ":" in bind else _Server
    httpd = make_server(bind, port, metrics_app(registry=registry, token=token), server_class, _QuietHandler)
    # django-q2 forks its sentinel and workers after this: none of them must keep the listening socket, or a
    # worker outliving its cluster would hold the port with nobody answering.
    os.register_at_fork(after_in_child=httpd.socket.close)
    thread = threading.Thread(target=httpd.serve_forever, name="metrics-server", daemon=True)
    thread.start()
    return MetricsServer(httpd=httpd, thread=thread)


def metrics_server_from_settings(*, process: str) -> MetricsServer | None:
    """The listener METRICS_PORT asks for, or None when it is unset."""
    if settings.METRICS_PORT is None:
        return None
    server = metrics_server_start(
        port=settings.METRICS_PORT, bind=settings.METRICS_BIND, registry=counters(), token=settings.METRICS_TOKEN
    )
    logger.info("metrics served", extra={"process": process, "bind": settings.METRICS_BIND, "port": server.port})
    if not settings.METRICS_TOKEN and settings.METRICS_BIND not in ("127.0.0.1", "::1"):
        logger.warning(
            "metrics are served to anyone who reaches this address: set METRICS_TOKEN",
            extra={"process": process, "bind": settings.METRICS_BIND},
        )
    return server
