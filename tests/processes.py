"""Running the project's own commands in child processes against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """The test database as a DATABASE_URL, so a child process (worker, command) shares it."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def worker_env(fake: Any, llm: Any, **overrides: str) -> dict[str, str]:
    """A worker process's environment: the test database, the fake Discord and fake OpenAI, one worker."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "summarybot.settings",
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": database_url(),
        "DISCORD_TOKEN": fake.bot_token,
        "DISCORD_API_BASE_URL": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "SUMMARY_PROVIDER": "openai",
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": llm.base_url,
        "Q_WORKERS": "1",
        "LOG_LEVEL": "WARNING",
        **overrides,
    }


def run_qcluster_until(finished: Callable[[], bool], env: dict[str, str], *, timeout: float = 60) -> str:
    """Start `manage.py qcluster`, poll `finished` until it is true (or time is up), stop it; its stderr."""
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not finished():
            time.sleep(0.2)
    finally:
        cluster.send_signal(signal.SIGTERM)
        try:
            _, errors = cluster.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            cluster.kill()
            _, errors = cluster.communicate()
    return errors


@contextmanager
def qcluster_running(env: dict[str, str], *, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`manage.py qcluster` running while the block runs (a test drives something else meanwhile), stopped
    after; its stderr goes to `log`, a file, so a chatty worker never blocks on a full pipe."""
    with log.open("wb") as errors:
        cluster = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        try:
            yield cluster
        finally:
            cluster.send_signal(signal.SIGTERM)
            try:
                cluster.wait(timeout=30)
            except subprocess.TimeoutExpired:
                cluster.kill()
                cluster.wait()
