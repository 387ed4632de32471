"""Outbound delivery throughput: 1,000 signed-webhook deliveries of one summary to a local receiver that
takes 50 ms to answer, sent by N concurrent senders (the worker processes), against the ideal.

    .venv/bin/python bench/bench_delivery.py [--deliveries 1000] [--latency 0.05] [--concurrency 10 50]

Each delivery goes the whole production path: claimed with a conditional UPDATE, its attempt row written,
the event document built from the stored summary (citations, jump links), signed with standardwebhooks,
POSTed through the guarded outbound client (resolve, vet, connect), the outcome recorded. The senders are
threads calling the task function (`webhooks.tasks.send_delivery`), as django-q2's workers would; one
shared outbound client per process, as in a worker.

The ideal is deliveries × latency / concurrency (the receiver's 50 ms and nothing of ours). Reported side
by side in one run: throughput vs the ideal, and p99 of one delivery (claim to recorded outcome) vs the
receiver's latency. Throw-away SQLite database (WAL), private networks allowed for the local receiver.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _docs import write_section as write_doc_section  # noqa: E402

SECTION = "## Outbound delivery"
GUILD_ID = 710000000000000001


def setup(tmp: str) -> None:
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "summarybot.settings", "DJANGO_DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3", "OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",
        "LOG_LEVEL": "WARNING",
    })
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_deliveries(count: int, url: str) -> list[int]:
    from django.utils import timezone

    from guilds.models import Guild
    from summaries.models import JobStatus, Summary, SummaryJob
    from webhooks.models import Delivery, DeliveryEvent
    from webhooks.services.deliveries import SCHEDULE, webhook_id_for
    from webhooks.services.destinations import destination_create

    guild, _ = Guild.objects.get_or_create(id=GUILD_ID, defaults={"name": "Bench"})
    destinations = [
        destination_create(guild_id=guild.id, kind="webhook", name=f"bench {n}", url=url).destination for n in range(10)
    ]
    items = [{"section": "overview", "text": f"Point {n}", "message_ids": [n + 1], "owner": None, "unverified": False}
             for n in range(12)]
    ids = []
    for _ in range(count // len(destinations)):
        job = SummaryJob.objects.create(guild=guild, channel_id=GUILD_ID + 1, source="api", window_kind="count",
                                        message_limit=100, status=JobStatus.DONE, finished_at=timezone.now())
        summary = Summary.objects.create(guild=guild, job=job, channel_id=GUILD_ID + 1, format="structured",
                                         language="en", provider="local", model="bench",
                                         markdown="## Overview\n" + "- a point\n" * 12, items=items)
        for destination in destinations:
            ids.append(Delivery.objects.create(
                job=job, summary=summary, destination=destination, event=DeliveryEvent.SUMMARY_COMPLETED,
                message_id=webhook_id_for(job_id=job.pk, destination_id=destination.pk, event="summary.completed"),
                max_attempts=len(SCHEDULE), next_attempt_at=timezone.now(),
            ).pk)
    return ids


def send_all(ids: list[int], concurrency: int) -> tuple[float, list[float], int]:
    from django.db import connection

    from webhooks.tasks import send_delivery

    def one(delivery_id: int) -> tuple[float, str]:
        started = time.perf_counter()
        outcome = send_delivery(delivery_id)
        return time.perf_counter() - started, outcome

    def close(_: object) -> None:
        connection.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, ids))
        list(pool.map(close, range(concurrency * 4)))
    elapsed = time.perf_counter() - started
    failed = sum(1 for _, outcome in results if outcome != "succeeded")
    return elapsed, [seconds for seconds, _ in results], failed


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[10, 50])
    args = parser.parse_args()

    from tests.fakes.webhook_receiver import WebhookReceiver

    rows = []
    with tempfile.TemporaryDirectory() as tmp, WebhookReceiver(latency=args.latency, keep_alive=True) as receiver:
        setup(tmp)
        for concurrency in args.concurrency:
            ids = make_deliveries(args.deliveries, receiver.url)
            before = len(receiver.requests)
            elapsed, each, failed = send_all(ids, concurrency)
            ideal = args.deliveries * args.latency / concurrency
            rows.append({
                "concurrency": concurrency, "elapsed": elapsed, "ideal": ideal, "rate": args.deliveries / elapsed,
                "ideal_rate": concurrency / args.latency, "p50": statistics.median(each), "p99": p99(each),
                "failed": failed, "received": len(receiver.requests) - before,
            })
            row = rows[-1]
            print(f"concurrency {concurrency}: {row['rate']:.0f}/s (ideal {row['ideal_rate']:.0f}/s, "
                  f"{row['ideal'] / elapsed:.2f}x), p99 {row['p99'] * 1000:.0f} ms "
                  f"({row['p99'] / args.latency:.2f}x the receiver's {args.latency * 1000:.0f} ms), "
                  f"failed {failed}, received {row['received']}", flush=True)
    write_doc_section(SECTION, section(rows, args))
    return 0 if all(r["failed"] == 0 and r["received"] == args.deliveries for r in rows) else 1


def section(rows: list[dict], args: argparse.Namespace) -> str:
    lines = [
        SECTION,
        "",
        f"`bench/bench_delivery.py`, {date.today():%Y-%m-%d}, {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, SQLite (WAL). {args.deliveries:,} signed-webhook "
        f"deliveries of a 12-point summary to a local receiver answering in {args.latency * 1000:.0f} ms; N "
        "threads call the delivery task (claim, attempt row, payload with citations, standardwebhooks "
        "signature, guarded connect, outcome), as N django-q2 workers would. Ideal = deliveries × latency / N.",
        "",
        "| senders (N) | time | ideal | throughput | ideal throughput | throughput / ideal | p50 | p99 | p99 / latency | failed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['concurrency']} | {r['elapsed']:.2f} s | {r['ideal']:.2f} s | {r['rate']:.0f}/s | "
            f"{r['ideal_rate']:.0f}/s | {r['ideal'] / r['elapsed']:.2f} | {r['p50'] * 1000:.0f} ms | "
            f"{r['p99'] * 1000:.0f} ms | {r['p99'] / args.latency:.2f} | {r['failed']} |"
        )
    lines += [
        "",
        "Each delivery spends the receiver's latency plus our own work (two short transactions around the "
        "request and the payload build); the gap to the ideal is that work, and with more senders SQLite's "
        "single writer. Past one machine: PostgreSQL and more worker processes.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
