"""Benchmark: how fast the real bot defers /summarize when 50 arrive at once (goal p99 < 250 ms).

    .venv/bin/python bench/bench_defer.py [--concurrent 50] [--rounds 6] [--no-docs]

The bot (our Bot class, every cog) runs against the fake Discord over real sockets, with a throwaway
SQLite database (migrated at start). Each round delivers N INTERACTION_CREATE events from N members at
the same moment; the latency of one command is from just before the fake sends its event to the moment
the fake receives the defer callback. Also reported: until the SummaryJob row exists (defer, then
summary_request through database_sync_to_async). Prints p50/p99 and writes (or rewrites) the
"Bot defer latency" section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _docs import PERFORMANCE_DOC  # noqa: E402  (bench/ is the script directory)
from _docs import write_section as write_doc_section  # noqa: E402

SECTION = "## Bot defer latency"
GOAL_P99_MS = 250.0


@dataclass(frozen=True)
class Round:
    defer_ms: list[float]
    job_ms: list[float]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def setup_django(db_path: Path) -> None:
    os.environ.setdefault("DJANGO_DEBUG", "true")
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "summarybot.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    import logging

    # The bench measures the bot, not the console: one INFO line per job would dominate at this rate.
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("discord", "django", "django-q", "summaries", "guilds", "botrunner"):
        logging.getLogger(name).setLevel(logging.WARNING)


async def one_round(world, members, round_number: int) -> Round:  # type: ignore[no-untyped-def]
    from channels.db import database_sync_to_async

    from summaries.models import SummaryJob

    payloads = [world.slash("summarize", user=m, options={"messages": 50 + round_number}) for m in members]
    since = len(world.fake.requests)
    sent: dict[str, float] = {}
    sent_wall: dict[int, float] = {}

    async def deliver(payload: dict) -> None:  # type: ignore[type-arg]
        sent[payload["id"]] = time.monotonic()
        sent_wall[int(payload["id"])] = time.time()  # job rows carry wall-clock times
        await world.fake.dispatch_async("INTERACTION_CREATE", payload)

    await asyncio.gather(*(deliver(p) for p in payloads))
    defer_ms: list[float] = []
    for payload in payloads:
        prefix = f"/interactions/{payload['id']}/"
        request = await world.fake.wait_for_request_async(
            lambda r, prefix=prefix: r.path.startswith(prefix), since=since, timeout=10
        )
        assert request.json["type"] == 5, request.json
        defer_ms.append((request.time - sent[payload["id"]]) * 1000)

    ids = [int(p["id"]) for p in payloads]
    count = database_sync_to_async(lambda: SummaryJob.objects.filter(interaction_id__in=ids).count())
    job_ms: list[float] = []
    pending = set(ids)
    while pending:
        rows = await database_sync_to_async(
            lambda: list(
                SummaryJob.objects.filter(interaction_id__in=pending).values_list("interaction_id", "created_at")
            )
        )()
        for interaction_id, created_at in rows:
            pending.discard(interaction_id)
            job_ms.append((created_at.timestamp() - sent_wall[interaction_id]) * 1000)
        if pending:
            await asyncio.sleep(0.01)
    assert await count() == len(ids)
    return Round(defer_ms=defer_ms, job_ms=job_ms)


async def run(concurrent: int, rounds: int) -> list[Round]:
    from channels.db import database_sync_to_async

    from guilds.models import Guild as GuildRow
    from tests.botrunner.bot_support import BotWorld, populate, start_bot, stop_bot
    from tests.fakes.discord import FakeDiscord

    results: list[Round] = []
    with FakeDiscord() as fake:
        from django.conf import settings

        from summarybot.discord.session import apply_endpoint_settings

        settings.DISCORD_API_BASE_URL = fake.api_base
        settings.DISCORD_GATEWAY_URL = fake.gateway_url
        apply_endpoint_settings()
        guild, channel, owner, admin, member = populate(fake)
        members = [fake.add_member(guild, username=f"member{i}") for i in range(concurrent)]
        bot, task = await start_bot(fake)
        try:
            world = BotWorld(fake=fake, bot=bot, guild=guild, channel=channel, owner=owner, admin=admin, member=member)
            while not await database_sync_to_async(GuildRow.objects.filter(pk=guild.id).exists)():
                await asyncio.sleep(0.01)
            # Measure the path, not the limits: no cooldown, room for every job.
            await database_sync_to_async(GuildRow.objects.filter(pk=guild.id).update)(
                member_cooldown_seconds=0, max_concurrent_jobs=30_000, monthly_token_budget=None
            )
            await one_round(world, members, 0)  # warm-up: imports, first queries, connection set-up
            for number in range(1, rounds + 1):
                results.append(await one_round(world, members, number))
        finally:
            await stop_bot(bot, task)
    return results


def render(results: list[Round], concurrent: int) -> str:
    defer = [v for r in results for v in r.defer_ms]
    jobs = [v for r in results for v in r.job_ms]
    p50, p99 = percentile(defer, 50), percentile(defer, 99)
    verdict = "meets" if p99 < GOAL_P99_MS else "misses"
    return (
        f"{SECTION}\n\n"
        f"`bench/bench_defer.py`, {date.today().isoformat()}, Python {platform.python_version()}, "
        f"{len(results)} rounds of {concurrent} simultaneous `/summarize` from {concurrent} members, the real bot "
        "against the fake Discord on 127.0.0.1 (real sockets, same machine), SQLite.\n\n"
        "| measure | samples | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|\n"
        f"| event sent → defer callback received | {len(defer)} | {p50:.1f} | {p99:.1f} | {max(defer):.1f} |\n"
        f"| event sent → SummaryJob row committed | {len(jobs)} | {percentile(jobs, 50):.1f} | "
        f"{percentile(jobs, 99):.1f} | {max(jobs):.1f} |\n\n"
        f"The defer {verdict} the goal (p99 < {GOAL_P99_MS:.0f} ms; Discord's limit is 3 s). The bot defers before "
        "any database work: permission checks read only the interaction and the gateway cache, so the defer "
        "does not wait behind the job writes, which `database_sync_to_async` runs one at a time on its thread. "
        "The job column is that queue: the last of a burst of 50 waits for the 49 writes before it, which is "
        "fine because nothing waits on it but the worker. Against Discord add one network round trip "
        "(~50-150 ms) to the defer.\n\n"
        "Found on the way: before the bot called `gc.freeze()` in `on_ready`, full garbage collections scanning "
        "the gateway caches (40-70 ms each, every thread stopped) put the p99 at ~230 ms; frozen, they take "
        "~3 ms. The fake Discord runs in the same process here and shares the GIL with the bot, so these "
        "numbers are on the pessimistic side.\n"
    )


def write_section(text: str) -> None:
    write_doc_section(SECTION, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--no-docs", action="store_true", help="print only, do not touch docs/performance.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(Path(tmp) / "bench.sqlite3")
        results = asyncio.run(run(args.concurrent, args.rounds))
    defer = [v for r in results for v in r.defer_ms]
    jobs = [v for r in results for v in r.job_ms]
    sys.stdout.write(
        f"defer: n={len(defer)} p50={percentile(defer, 50):.1f} ms p99={percentile(defer, 99):.1f} ms "
        f"max={max(defer):.1f} ms\n"
        f"job row: p50={percentile(jobs, 50):.1f} ms p99={percentile(jobs, 99):.1f} ms max={max(jobs):.1f} ms\n"
        f"goal p99 < {GOAL_P99_MS:.0f} ms: {'met' if percentile(defer, 99) < GOAL_P99_MS else 'MISSED'}\n"
    )
    if not args.no_docs:
        write_section(render(results, args.concurrent))
        sys.stdout.write(f"wrote the '{SECTION[3:]}' section of {PERFORMANCE_DOC.relative_to(ROOT)}\n")


if __name__ == "__main__":
    main()
