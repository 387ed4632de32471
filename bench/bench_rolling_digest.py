"""Tokens of a 7-day rolling digest built on the daily runs' chunk summaries, against the 7 days from scratch.

    .venv/bin/python bench/bench_rolling_digest.py [--per-day 3000] [--days 7] [--small-context 16000]

A busy channel's week (the engine's synthetic chat, `per_day` messages a day) goes through the real engine
and the real OpenAI provider against the fake OpenAI server, with the real chunk cache (DjangoChunkCache on
the database cache, SQLite), in the order a daily and a weekly schedule would run it: seven daily digests,
then the weekly one. Tokens are prompt + completion as the server reported them. Goal: the weekly run after
the daily ones costs <= 30% of summarizing the same week from scratch (default planner, empty cache).

Scenarios, each with a cache of its own:
- aligned: chunks planned on the day boundaries (SummaryOptions.chunk_boundaries, what scheduled jobs use);
- aligned, last day concurrent: the weekly run fires at the same slot as the last daily run, so it finds
  six days in the cache and summarizes the seventh itself;
- default: whole-window planning for every run (what scheduled jobs did before).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _django import setup_django  # noqa: E402  (the cache table comes with the migrations)
from _docs import write_section as write_doc_section  # noqa: E402  (bench/ is the script directory)

START = datetime(2026, 3, 2, tzinfo=UTC)


@dataclass
class Run:
    tokens: int = 0
    calls: int = 0
    chunks: int = 0
    cached: int = 0

    def add(self, result: Any) -> None:
        self.tokens += result.usage.prompt_tokens + result.usage.completion_tokens
        self.calls += result.usage.llm_calls
        self.chunks += result.chunk_count
        self.cached += result.usage.cached_chunks


async def scenario(
    messages: list[Any], options: Any, *, days: int, aligned: bool, daily_runs: int, prefix: str, provider: Any
) -> tuple[Run, Run]:
    """`daily_runs` daily digests then the week's, on one cache; returns (the daily runs, the weekly run)."""
    from summaries.chunk_cache import DjangoChunkCache
    from summaries.engine import summarize

    cache = DjangoChunkCache(prefix=f"bench-rolling:{prefix}:")
    starts = [START + timedelta(days=d) for d in range(days + 1)]
    daily = Run()
    for day in range(daily_runs):
        own = [m for m in messages if starts[day] <= m.created_at < starts[day + 1]]
        day_options = replace(options, chunk_boundaries=(starts[day], starts[day + 1])) if aligned else options
        daily.add(await summarize(own, day_options, provider=provider, cache=cache))
    weekly = Run()
    week_options = replace(options, chunk_boundaries=tuple(starts)) if aligned else options
    weekly.add(await summarize(messages, week_options, provider=provider, cache=cache))
    return daily, weekly


async def measure(args: argparse.Namespace, *, context: int | None) -> dict[str, Any]:
    from summaries.engine import SummaryOptions
    from summaries.engine.synthetic import synthetic_days
    from summaries.llm.factory import build_provider
    from tests.fakes.openai_server import FakeOpenAI

    messages = synthetic_days(args.days, args.per_day, start=START, authors=20)
    options = SummaryOptions(format="structured", language="en", context_tokens=context)
    with FakeOpenAI() as server:
        provider = build_provider(provider="openai", base_url=server.base_url, api_key="sk-bench", model="gpt-4o-mini")
        assert provider is not None
        try:
            common = {"days": args.days, "provider": provider}
            _, scratch = await scenario(messages, options, aligned=False, daily_runs=0, prefix="scratch", **common)
            _, scratch_aligned = await scenario(
                messages, options, aligned=True, daily_runs=0, prefix="scratch-aligned", **common
            )
            daily_a, weekly_a = await scenario(
                messages, options, aligned=True, daily_runs=args.days, prefix="aligned", **common
            )
            _, weekly_a6 = await scenario(
                messages, options, aligned=True, daily_runs=args.days - 1, prefix="aligned-6", **common
            )
            daily_d, weekly_d = await scenario(
                messages, options, aligned=False, daily_runs=args.days, prefix="default", **common
            )
        finally:
            await provider.aclose()
    return {
        "messages": len(messages), "per_day": args.per_day, "days": args.days, "context": context,
        "scratch": scratch, "scratch_aligned": scratch_aligned,
        "daily_aligned": daily_a, "weekly_aligned": weekly_a, "weekly_aligned_6": weekly_a6,
        "daily_default": daily_d, "weekly_default": weekly_d,
    }


def row(label: str, run: Run, scratch: Run) -> str:
    return (
        f"| {label} | {run.chunks} | {run.cached} | {run.calls} | {run.tokens:,} | "
        f"{run.tokens / scratch.tokens:.1%} |"
    )


def table(m: dict[str, Any]) -> list[str]:
    scratch: Run = m["scratch"]
    context = f"{m['context']:,} tokens" if m["context"] else "128,000 tokens (the model's)"
    return [
        f"Context {context}:",
        "",
        "| run | chunks | chunks from the cache | LLM calls | tokens | vs the week from scratch |",
        "|---|---:|---:|---:|---:|---:|",
        row("the week from scratch, default planner, empty cache (the yardstick)", scratch, scratch),
        row("the week from scratch, aligned to days, empty cache", m["scratch_aligned"], scratch),
        row("**weekly after the 7 daily runs, aligned to days (goal <= 30%)**", m["weekly_aligned"], scratch),
        row("weekly after 6 daily runs (the 7th runs at the same slot), aligned", m["weekly_aligned_6"], scratch),
        row("weekly after the 7 daily runs, default planner", m["weekly_default"], scratch),
        row("the 7 daily runs themselves, aligned", m["daily_aligned"], scratch),
        row("the 7 daily runs themselves, default planner", m["daily_default"], scratch),
        "",
    ]


def section(measured: list[dict[str, Any]]) -> str:
    m = measured[0]
    return "\n".join([
        "## Rolling digests",
        "",
        f"`bench/bench_rolling_digest.py`, {date.today().isoformat()}, Python {platform.python_version()}: "
        f"{m['days']} days of a busy channel ({m['per_day']:,} synthetic messages a day, {m['messages']:,} in all), "
        "format structured, through the real engine and OpenAI provider against the fake OpenAI server, with the "
        "real chunk cache (DjangoChunkCache on the database cache, SQLite). Tokens are prompt + completion as the "
        "server counted them; each scenario has a cache of its own.",
        "",
        "    .venv/bin/python bench/bench_rolling_digest.py [--per-day 3000] [--days 7] [--small-context 16000]",
        "",
        *(line for m in measured for line in table(m)),
        "Scheduled jobs plan their chunks on their schedule's periods (summaries/services/schedule_runs.py "
        "`schedule_job_options`): each day of the week is planned as if summarized alone, so its chunks are "
        "the daily run's own chunks and the weekly run finds their summaries in the cache, leaving only the "
        "reduce over the days' chunk summaries (its cost grows with the number of chunks, hence the higher "
        "ratio in the small context). With the default planner the week is cut wherever its token budget runs "
        "out, across days, so few chunks match a daily one. Planning by day costs little on its own (a day's "
        "last chunk is rarely full), as the from-scratch aligned rows show. When the weekly run fires at the "
        "same slot as the last daily run, it summarizes that day itself: a week then costs about its last day "
        "plus the reduce. A daily and a weekly schedule share chunks when both fire at the same local time in "
        "the same zone (daily 09:00, weekly Monday 09:00); the pre-flight estimate and budget check still "
        "count the week's chunks as if none were cached (an upper bound).",
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", type=int, default=3_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--small-context", type=int, default=16_000, help="a second run's context (0: skip it)")
    parser.add_argument("--no-docs", action="store_true", help="print only, do not touch docs/performance.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(os.path.join(tmp, "bench.sqlite3"))
        measured = [asyncio.run(measure(args, context=None))]
        if args.small_context:
            measured.append(asyncio.run(measure(args, context=args.small_context)))
    text = section(measured)
    print(text)
    for m in measured:
        ratio = m["weekly_aligned"].tokens / m["scratch"].tokens
        print(f"context {m['context'] or 'default'}: weekly after daily runs, aligned: {ratio:.1%} (goal <= 30%)")
    if not args.no_docs:
        doc = write_doc_section("## Rolling digests", text)
        print(f"wrote the rolling digests section of {doc.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
