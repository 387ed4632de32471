"""The project's ASGI application served by Daphne in a child process, for browser tests that need
websockets (pytest-django's live_server speaks WSGI only): the pytest counterpart of Channels'
ChannelsLiveServerTestCase, built on the same DaphneProcess and application factory.

The child is forked, so it serves with the test's settings as they are when it starts (the test database,
the fake Discord, the channel layer): set them first. Channels' own `set_database_connection` is left out
on purpose: it would prefix the already-prefixed test database name again on PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial

from asgiref.sync import SyncToAsync
from channels.layers import channel_layers
from channels.testing.live import make_application
from daphne.testing import DaphneProcess
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

HOST = "127.0.0.1"


def _fresh_application(**kwargs: object) -> object:
    """Built in the forked child, which inherits what earlier tests left in the test process.

    asgiref's shared thread for thread-sensitive calls outside a request (a consumer's
    `database_sync_to_async`) is a class-level executor: once a websocket test has used it, the child inherits
    an executor that believes its worker thread is alive and idle, while fork copied no thread, so every
    consumer call would wait forever and the page would fall back to polling. The cached channel layer holds
    Redis connections bound to the parent's event loops. Give the child its own of both."""
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    channel_layers.backends.clear()
    return make_application(**kwargs)


@contextmanager
def asgi_live_server(*, startup_timeout: float = 30) -> Iterator[str]:
    """The base URL (http://127.0.0.1:PORT) of a Daphne serving summarybot.asgi with static files."""
    server = DaphneProcess(HOST, partial(_fresh_application, static_wrapper=ASGIStaticFilesHandler))
    server.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.ready.wait(timeout=0.5):
            if not server.is_alive() or time.monotonic() > deadline:
                error = server.errors.get(timeout=1)[1] if not server.errors.empty() else "no error reported"
                raise RuntimeError(f"Daphne did not start: {error}")
        yield f"http://{HOST}:{server.port.value}"
    finally:
        server.terminate()
        server.join(timeout=10)
