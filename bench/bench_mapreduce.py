"""Wall time of a large map-reduce through the real OpenAI provider against the fake server.

    .venv/bin/python bench/bench_mapreduce.py [--messages 50000] [--latency 1.0] [--concurrency 4]

Every call costs `latency` seconds at the fake, so the ideal wall time is calls / concurrency x latency;
the level-aware ideal adds that a reduce level cannot start before the level below it finishes
(sum over levels of ceil(calls_in_level / concurrency) x latency). Goal: wall / ideal <= 1.3.

Runs against a throw-away SQLite database (the shared limiter and breaker live in the database cache,
as on a one-machine deployment), with the production defaults for rate limits. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import math
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = [
    "deploy",
    "database",
    "release",
    "friday",
    "rollback",
    "cache",
    "latency",
    "index",
    "migration",
    "review",
    "ticket",
    "bug",
    "fix",
    "staging",
    "customer",
    "outage",
    "alert",
    "dashboard",
    "metrics",
    "owner",
    "deadline",
    "question",
    "answer",
    "plan",
    "the",
    "a",
    "to",
    "we",
    "is",
    "it",
]


def setup_django(db_path: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "summarybot.settings"
    os.environ.setdefault("DJANGO_DEBUG", "true")
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("createcachetable", verbosity=0)


def conversation(count: int):  # type: ignore[no-untyped-def]
    from summaries.engine import Author, ChatMessage

    rnd = random.Random(50_000)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    authors = [Author(id=10_000 + i, name=f"member{i}") for i in range(40)]
    return [
        ChatMessage(
            id=1_300_000_000_000_000_000 + i,
            channel_id=42,
            guild_id=7,
            author=authors[rnd.randrange(len(authors))],
            created_at=start + timedelta(seconds=20 * i),
            content=" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 30))),
        )
        for i in range(count)
    ]


async def run(args: argparse.Namespace) -> None:
    from summaries.engine import SummaryOptions, summarize
    from summaries.llm.factory import build_provider
    from tests.fakes.openai_server import FakeOpenAI

    messages = conversation(args.messages)
    options = SummaryOptions(format="structured", language="en", map_concurrency=args.concurrency)
    with FakeOpenAI() as server:
        server.latency = args.latency
        provider = build_provider(provider="openai", base_url=server.base_url, api_key="sk-bench", model="gpt-4o-mini")
        assert provider is not None
        started_at = time.time()
        started = time.perf_counter()
        try:
            result = await summarize(messages, options, provider=provider)
        finally:
            await provider.aclose()
        wall = time.perf_counter() - started
        requests = server.chat_requests
        prep = min(r.started for r in requests) - started_at
        if args.verbose:
            for r in sorted(requests, key=lambda r: r.started):
                print(
                    f"  call at {r.started - started_at:6.2f} s, served in {r.finished - r.started:5.2f} s, "
                    f"{r.prompt_tokens:,} prompt tokens"
                )

    calls = result.usage.llm_calls
    per_level = collections.Counter(call.level for call in result.usage.calls)
    ideal = calls / args.concurrency * args.latency
    level_ideal = sum(math.ceil(n / args.concurrency) for n in per_level.values()) * args.latency
    print(f"messages            {args.messages:,}")
    print(f"calls               {calls} (per level: {dict(sorted(per_level.items()))}), chunks {result.chunk_count}")
    print(f"prompt tokens       {result.usage.prompt_tokens:,}")
    print(f"peak concurrency    {server.peak_concurrency} (limit {args.concurrency})")
    print(f"latency per call    {args.latency:.2f} s")
    print(f"before first call   {prep:.2f} s (prepare, count, plan)")
    print(f"wall time           {wall:.2f} s")
    print(f"ideal               {ideal:.2f} s (calls / concurrency x latency)")
    print(f"level-aware ideal   {level_ideal:.2f} s")
    print(f"ratio               {wall / ideal:.2f}x ideal, {wall / level_ideal:.2f}x level-aware ideal")
    # From the first call on, only the provider, the limiter, the breaker and the fake add to the ideal.
    print(f"calls phase         {wall - prep:.2f} s = {(wall - prep) / level_ideal:.2f}x level-aware ideal")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--verbose", action="store_true", help="print every call's start and duration")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(os.path.join(tmp, "bench.sqlite3"))
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
