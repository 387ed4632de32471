"""Benchmark: read 10,000 messages through DiscordRest from the fake Discord over real sockets.

    .venv/bin/python bench/bench_history.py [--messages 10000] [--no-docs]

Prints history requests made against the minimum (one per 100 messages), then writes (or rewrites)
the "Discord history fetch" section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The client reads its endpoints from Django settings, as in the worker.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "summarybot.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")

import discord  # noqa: E402
import django  # noqa: E402
from _docs import PERFORMANCE_DOC  # noqa: E402  (bench/ is the script directory)
from _docs import write_section as write_doc_section  # noqa: E402

django.setup()

from summarybot.discord.client import DiscordRest  # noqa: E402
from tests.fakes.discord import FakeDiscord  # noqa: E402

HISTORY = r"^/channels/\d+/messages$"
SECTION = "## Discord history fetch"


@dataclass
class Result:
    name: str
    messages: int
    history_requests: int
    minimum: int
    other_requests: int
    seconds: float

    @property
    def ratio(self) -> float:
        return self.history_requests / self.minimum if self.minimum else float("nan")


async def _measure(fake: FakeDiscord, name: str, channel_id: int, **kwargs) -> Result:  # type: ignore[no-untyped-def]
    fake.clear_requests()
    started = time.perf_counter()
    async with DiscordRest(token=fake.bot_token, api_base_url=fake.api_base) as rest:
        messages = await rest.history.fetch_history(channel_id, **kwargs)
    seconds = time.perf_counter() - started
    history = len(fake.requests_matching("GET", HISTORY))
    return Result(
        name=name,
        messages=len(messages),
        history_requests=history,
        minimum=math.ceil(len(messages) / 100),
        other_requests=len(fake.requests) - history,
        seconds=seconds,
    )


async def run(count: int) -> list[Result]:
    with FakeDiscord() as fake:
        guild = fake.add_guild("Bench")
        for n in range(20):
            fake.add_member(guild, username=f"user{n}")
        channel = fake.add_channel(guild, "busy")
        stored = fake.add_messages(channel, count)
        results = [
            await _measure(fake, f"whole channel ({count} messages)", channel.id),
            await _measure(fake, "latest 2,500 (limit)", channel.id, limit=2500),
            await _measure(fake, "since the middle (window)", channel.id, since=stored[count // 2].created_at),
        ]
        # The same full read hit by a burst of three 429s halfway (discord.py tries 5 times per request).
        fake.fail_next("GET", HISTORY, status=429, retry_after=0.3, times=3, skip=count // 200)
        results.append(await _measure(fake, "whole channel, 3 x 429 (0.3 s) halfway", channel.id))
        return results


def render(results: list[Result]) -> str:
    lines = [
        SECTION,
        "",
        f"`bench/bench_history.py`, {datetime.now(UTC):%Y-%m-%d}, Python {platform.python_version()}, "
        f"discord.py {discord.__version__}, fake Discord on 127.0.0.1 (real HTTP, no network latency).",
        "",
        "| case | messages | history requests | minimum | ratio | other requests | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.messages} | {r.history_requests} | {r.minimum} | {r.ratio:.2f} | "
            f"{r.other_requests} | {r.seconds:.2f} |"
        )
    lines += [
        "",
        'History requests count 429-answered attempts too. "Other requests" are login (users/@me,',
        "oauth2/applications/@me) and one GET of the channel, whose `last_message_id` lets a full read stop on",
        "the last page instead of paying an extra empty request. Against Discord each request adds a round trip",
        "(~50-150 ms) and rate-limit waits, so the request count, not local CPU, sets the real duration.",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    write_doc_section(SECTION, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--no-docs", action="store_true", help="print only, do not touch docs/performance.md")
    args = parser.parse_args()
    results = asyncio.run(run(args.messages))
    for r in results:
        sys.stdout.write(
            f"{r.name:<38} messages={r.messages:<6} requests={r.history_requests:<4} minimum={r.minimum:<4} "
            f"ratio={r.ratio:.2f} other={r.other_requests} {r.seconds:.2f}s\n"
        )
    if not args.no_docs:
        write_section(render(results))
        sys.stdout.write(f"wrote the '{SECTION[3:]}' section of {PERFORMANCE_DOC.relative_to(ROOT)}\n")


if __name__ == "__main__":
    main()
