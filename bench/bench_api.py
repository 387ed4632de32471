"""The REST API under load: an authenticated `POST /api/v1/summaries` against a bare Django JsonResponse view,
side by side on the same server, plus the API-key authentication's cost per request.

    .venv/bin/python bench/bench_api.py [--clients 50] [--seconds 8] [--rounds 2]

1. One daphne process (the production ASGI server) serves both the project's URLs and a bare view that
   returns `{"ok": true}`. 50 concurrent clients (aiohttp) hammer one endpoint for `--seconds`, then the
   other, alternating for `--rounds`; the best round of each is kept. Each POST is a real request for a
   summary: key check, scope, input validation, channel rules, limits and budget, a job row written and
   queued on django-q2's ORM broker. Goal: API throughput >= 0.5x the bare view's.
2. Key authentication alone, in process: the DRF authentication class on a request carrying the key (an
   HMAC digest and one indexed lookup; `last_used_at` is written at most once a minute). Goal: < 1 ms.

Runs on a throw-away SQLite database with the production defaults, except the per-key throttle, which is
raised so that it does not answer 429 to the load itself. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from _docs import write_section as write_doc_section  # noqa: E402  (bench/ is the script directory)

SECTION = "## REST API"
GUILD_ID = 700000000000000001
CHANNEL_ID = 700000000000000002


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup_database(env: dict[str, str]) -> str:
    """Migrate, mirror a guild and its channel, issue a key; returns the key."""
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from guilds.models import Channel, Guild
    from webhooks.services import api_key_issue

    guild = Guild.objects.create(
        id=GUILD_ID, name="Bench", bot_present=True, max_concurrent_jobs=32_000, member_cooldown_seconds=0,
        monthly_token_budget=None,
    )
    Channel.objects.create(id=CHANNEL_ID, guild=guild, name="general")
    issued = api_key_issue(guild=guild, name="bench", scopes=["summaries:write", "summaries:read"])
    return issued.plaintext


def auth_cost(key: str, calls: int) -> float:
    """Mean seconds of one authentication (the DRF class on a real request object)."""
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from summarybot.api_auth import ApiKeyAuthentication

    factory = APIRequestFactory()
    authentication = ApiKeyAuthentication()
    requests = [Request(factory.get("/api/v1/usage", HTTP_AUTHORIZATION=f"Bearer {key}")) for _ in range(calls)]
    authentication.authenticate(requests[0])  # the first call writes last_used_at; steady state does not
    started = time.perf_counter()
    for request in requests:
        authentication.authenticate(request)
    return (time.perf_counter() - started) / calls


async def hammer(url: str, *, clients: int, seconds: float, post_body: bytes | None, key: str) -> list[float]:
    """Latencies (s) of every request that succeeded; a non-2xx answer stops the run loudly."""
    import aiohttp

    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    async def client(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            if post_body is None:
                response = await session.get(url)
            else:
                response = await session.post(url, data=post_body, headers=headers)
            body = await response.read()
            if response.status >= 300:
                raise RuntimeError(f"{url} answered {response.status}: {body[:200]!r}")
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    return latencies


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--auth-calls", type=int, default=2000)
    parser.add_argument("--no-docs", action="store_true", help="print only, do not touch docs/performance.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "DJANGO_SETTINGS_MODULE": "_bench_api_settings",
            "DJANGO_DEBUG": "true",
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
            "REDIS_URL": "",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": f"{BENCH}{os.pathsep}{ROOT}",
        }
        sys.path.insert(0, str(BENCH))
        key = setup_database(env)
        per_auth = auth_cost(key, args.auth_calls)

        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "summarybot.asgi:application"],
            cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("daphne did not start") from None
                    time.sleep(0.2)
            base = f"http://127.0.0.1:{port}"
            body = f'{{"channel_id": "{CHANNEL_ID}", "hours": 24}}'.encode()
            api: list[list[float]] = []
            bare: list[list[float]] = []
            for _ in range(args.rounds):
                api.append(asyncio.run(hammer(f"{base}/api/v1/summaries", clients=args.clients,
                                              seconds=args.seconds, post_body=body, key=key)))
                bare.append(asyncio.run(hammer(f"{base}/bench/bare", clients=args.clients,
                                               seconds=args.seconds, post_body=None, key=key)))
        finally:
            server.terminate()
            server.wait(timeout=30)

    best_api = max(api, key=len)
    best_bare = max(bare, key=len)
    api_rps, bare_rps = len(best_api) / args.seconds, len(best_bare) / args.seconds
    measured = {
        "clients": args.clients, "seconds": args.seconds, "rounds": args.rounds,
        "api_rps": api_rps, "bare_rps": bare_rps, "ratio": api_rps / bare_rps,
        "api_p99": p99(best_api), "bare_p99": p99(best_bare), "auth_ms": per_auth * 1000,
    }
    print(f"POST /api/v1/summaries  {api_rps:8.1f} req/s  p99 {measured['api_p99'] * 1000:7.1f} ms")
    print(f"bare JsonResponse view  {bare_rps:8.1f} req/s  p99 {measured['bare_p99'] * 1000:7.1f} ms")
    print(f"ratio                   {measured['ratio']:.2f}x the bare view (goal >= 0.5x)")
    print(f"key authentication      {measured['auth_ms']:.3f} ms a request (goal < 1 ms)")
    if not args.no_docs:
        write_doc_section(SECTION, section(measured))
        print("wrote the REST API section of docs/performance.md")


def section(m: dict) -> str:  # type: ignore[type-arg]
    return "\n".join([
        SECTION,
        "",
        f"`bench/bench_api.py`, {date.today().isoformat()}, Python {platform.python_version()}, one daphne process "
        f"on 127.0.0.1, SQLite, {m['clients']} concurrent aiohttp clients, the best of {m['rounds']} alternating "
        f"rounds of {m['seconds']:.0f} s per endpoint.",
        "",
        "    .venv/bin/python bench/bench_api.py [--clients 50] [--seconds 8] [--rounds 2]",
        "",
        "| endpoint | requests/s | p99 |",
        "|---|---:|---:|",
        f"| authenticated `POST /api/v1/summaries` (a job written and queued) | {m['api_rps']:.1f} | "
        f"{m['api_p99'] * 1000:.0f} ms |",
        f"| bare `JsonResponse` view | {m['bare_rps']:.1f} | {m['bare_p99'] * 1000:.0f} ms |",
        "",
        f"Ratio: **{m['ratio']:.2f}x** the bare view (goal >= 0.5x). Key authentication (HMAC digest and one "
        f"indexed lookup, `last_used_at` written at most once a minute): **{m['auth_ms']:.3f} ms** a request "
        "(goal < 1 ms).",
        "",
    ])


if __name__ == "__main__":
    main()
