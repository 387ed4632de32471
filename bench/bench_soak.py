"""Soak: API-requested summary jobs at a steady rate through 1, 2 and 4 worker processes (`manage.py
qcluster`, one django-q2 worker each) with the fake LLM answering every call in 1 s.

    .venv/bin/python bench/bench_soak.py [--minutes 2] [--workers 1 2 4] [--rate-per-worker 40]
        [--llm-latency 1.0] [--database-url postgres://…] [--redis-url redis://…/11] [--no-doc]

Each configuration gets the same offered load per worker process (`--rate-per-worker` jobs a minute, so
4 processes are offered 4× the jobs of 1) for `--minutes` (the issue's soak is 10; the default is short),
then up to a minute to drain. The jobs are what `POST /api/v1/summaries` with posted messages makes: the
bench calls the service behind that endpoint (`integration_summary_request`, source "api") in its own
process, without the HTTP layer (measured on its own under "## REST API"), so the web server does not take
the workers' CPU. Each job goes the production path in the worker: claim, prepare, one LLM call to the
fake OpenAI server (over a socket), store, lease and heartbeats.

Reported per configuration: jobs finished per minute inside the window, p50/p95 end to end (job created →
finished), the RSS of each qcluster process tree (its sentinel, pusher, monitor and worker) sampled every
5 s, and the scaling ratio of N processes vs 1. PostgreSQL + Redis (`--database-url` naming a database to recreate, `--redis-url`) is the scale-out
configuration; without them a throw-away SQLite file and the ORM broker.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _django import production_child_env  # noqa: E402
from _docs import write_section as write_doc_section  # noqa: E402

SECTION = "## Soak: worker processes"
GUILD_BASE = 720_000_000_000_000_000


def memory_kb(pid: int, field: str) -> int:
    """A process's Pss (its private memory plus its share of what it shares) or Rss, from /proc."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def setup(database_url: str, redis_url: str, tmp: str) -> dict[str, str]:
    env = {
        # As in production (DEBUG off: a worker keeps no log of its queries, which would weigh in its memory).
        **production_child_env(), "LOG_LEVEL": "ERROR",
        "DATABASE_URL": database_url or f"sqlite:///{tmp}/soak.sqlite3",
        "REDIS_URL": redis_url, "Q_BROKER": "redis" if redis_url else "orm",
    }
    if database_url.startswith("postgres"):
        import psycopg

        name = database_url.rsplit("/", 1)[1]
        if "bench" not in name and "soak" not in name:
            raise SystemExit(f"the soak drops and recreates its database: name it *bench* or *soak*, not {name!r}")
        with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return env


def run_configuration(processes: int, args: argparse.Namespace, env: dict[str, str], llm_url: str) -> dict:
    from django_q.brokers import get_broker

    from guilds.models import Guild
    from summaries.engine.posted import PostedMessage
    from summaries.models import JobStatus, SummaryJob
    from summaries.services.jobs import integration_summary_request
    from summaries.window import SummaryWindow

    get_broker().purge_queue()
    guild = Guild.objects.create(id=GUILD_BASE + processes, name=f"Soak {processes}", bot_present=True,
                                 max_concurrent_jobs=30_000)
    child_env = {
        **os.environ, **env, "Q_WORKERS": "1", "SUMMARY_PROVIDER": "openai", "OPENAI_API_KEY": "sk-soak",
        "OPENAI_BASE_URL": llm_url,
    }
    clusters = [
        subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=child_env, start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(processes)
    ]
    # Per cluster: the Pss of its whole tree (forked processes share pages: summing their Rss would count
    # the shared ones once per process), and the Rss of its largest process (the worker).
    samples: list[list[tuple[int, int]]] = []
    stop_sampling = threading.Event()

    def sample() -> None:
        while not stop_sampling.wait(5):
            samples.append([
                (sum(memory_kb(p, "Pss") for p in tree), max(memory_kb(p, "Rss") for p in tree))
                for tree in (process_tree(c.pid) for c in clusters)
            ])

    base = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    run = time.time_ns()  # no two runs' transcripts alike: the LLM cache (Redis or database) must not answer

    def ask(n: int) -> None:
        posted = [PostedMessage(author=f"member{i % 4}", content=f"Item {run}.{n}.{i}: the release ships on Friday "
                                f"after the migration review; Alice owns the rollback plan.",
                                timestamp=base + timedelta(minutes=i), id=f"{n}-{i}") for i in range(20)]
        integration_summary_request(guild_id=guild.id, source="api", channel_id=None, window=SummaryWindow.count(20),
                                    format="brief", language="en", posted=posted)

    try:
        time.sleep(args.warmup)  # the clusters start (Django, the workers' start-up checks)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        interval = 60.0 / (args.rate_per_worker * processes)
        window_start = datetime.now(UTC)
        started = time.monotonic()
        n = 0
        while time.monotonic() - started < args.minutes * 60:
            ask(n)
            n += 1
            time.sleep(max(0.0, started + n * interval - time.monotonic()))
        window_end = datetime.now(UTC)
        jobs = SummaryJob.objects.filter(guild=guild)
        drain_until = time.monotonic() + args.drain
        while time.monotonic() < drain_until and jobs.exclude(status__in=JobStatus.finished()).exists():
            time.sleep(1)
    finally:
        stop_sampling.set()
        for cluster in clusters:
            cluster.send_signal(signal.SIGTERM)
        for cluster in clusters:
            try:
                cluster.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(cluster.pid, signal.SIGKILL)
                cluster.wait()

    rows = list(jobs.values_list("status", "created_at", "finished_at"))
    in_window = [f for s, c, f in rows if s == JobStatus.DONE and f is not None and f <= window_end]
    latencies = sorted((f - c).total_seconds() for s, c, f in rows if s == JobStatus.DONE and f is not None)
    failed = sum(1 for s, _, _ in rows if s in (JobStatus.FAILED, JobStatus.PARTIAL))
    minutes = (window_end - window_start).total_seconds() / 60
    pss = [max(s[i][0] for s in samples) for i in range(processes)] if samples else [0]
    rss = [max(s[i][1] for s in samples) for i in range(processes)] if samples else [0]
    growth = [samples[-1][i][0] - samples[0][i][0] for i in range(processes)] if len(samples) > 1 else [0]
    # Warming caches grow early; a leak keeps growing: the second half's growth tells them apart.
    half = len(samples) // 2
    late = [samples[-1][i][0] - samples[half][i][0] for i in range(processes)] if len(samples) > 1 else [0]
    return {
        "processes": processes, "offered": n, "offered_per_min": n / minutes, "done_per_min": len(in_window) / minutes,
        "done": sum(1 for s, _, _ in rows if s == JobStatus.DONE), "failed": failed,
        "unfinished": sum(1 for s, _, _ in rows if s not in JobStatus.finished()),
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan"),
        "pss_tree_mb": max(pss) / 1024, "rss_worker_mb": max(rss) / 1024, "growth_mb": max(growth) / 1024,
        "late_growth_mb": max(late) / 1024,
    }


def report(results: list[dict], args: argparse.Namespace, backend: str) -> str:
    one = next((r for r in results if r["processes"] == 1), None)
    lines = [
        SECTION,
        "",
        f"`bench/bench_soak.py`, {date.today().isoformat()}, CPython {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {backend}. API-requested jobs (20 posted messages each, the service behind "
        f"`POST /api/v1/summaries`) offered at {args.rate_per_worker:g} a minute per worker process for "
        f"{args.minutes:g} min per configuration, then up to {args.drain:g} s to drain; each `qcluster` runs one "
        f"django-q2 worker; the fake OpenAI server answers every call in {args.llm_latency:g} s. "
        "End to end = job created → finished. Memory, sampled every 5 s, highest sample: PSS of one whole "
        "qcluster tree (sentinel, pusher, monitor, worker: forked, they share pages, so PSS not summed RSS), "
        "RSS of its largest process, and the tree's PSS growth from first to last sample and over the second half.",
        "",
        "| worker processes | offered/min | done/min | × 1 process | p50 | p95 | PSS per qcluster | RSS of its "
        "largest process | PSS growth | of which 2nd half | failed | unfinished |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = r["done_per_min"] / one["done_per_min"] if one and one["done_per_min"] else float("nan")
        lines.append(
            f"| {r['processes']} | {r['offered_per_min']:.0f} | {r['done_per_min']:.1f} | {ratio:.2f} | "
            f"{r['p50']:.2f} s | {r['p95']:.2f} s | {r['pss_tree_mb']:.0f} MB | {r['rss_worker_mb']:.0f} MB | "
            f"{r['growth_mb']:+.0f} MB | {r['late_growth_mb']:+.0f} MB | {r['failed']} | {r['unfinished']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="offered load per configuration (issue: 10)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rate-per-worker", type=float, default=40.0, help="jobs a minute per worker process")
    parser.add_argument("--llm-latency", type=float, default=1.0)
    parser.add_argument("--warmup", type=float, default=8.0)
    parser.add_argument("--drain", type=float, default=60.0)
    parser.add_argument("--database-url", default="", help="postgres://…/<name with bench or soak> (recreated)")
    parser.add_argument("--redis-url", default="", help="redis://…/<db>: django-q2's Redis broker")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/performance.md alone")
    args = parser.parse_args()

    from tests.fakes.openai_server import FakeOpenAI

    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as llm:
        llm.latency = args.llm_latency
        env = setup(args.database_url, args.redis_url, tmp)
        backend = ("PostgreSQL" if args.database_url.startswith("postgres") else "SQLite") + (
            " + Redis (django-q2's Redis broker)" if args.redis_url else " (django-q2's ORM broker)")
        results = []
        for processes in args.workers:
            result = run_configuration(processes, args, env, llm.base_url)
            print(result, flush=True)
            results.append(result)
    text = report(results, args, backend)
    print(text)
    if not args.no_doc:
        write_doc_section(SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
