"""Wall time of a large map-reduce through the real OpenAI provider against the fake server.

    .venv/bin/python bench/bench_mapreduce.py [--messages 50000] [--latency 1.0] [--concurrency 4]
                                              [--small-context 2048] [--small-messages 5000]

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
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _django import setup_django  # noqa: E402
from _docs import write_section as write_doc_section  # noqa: E402  (bench/ is the script directory)


async def run(args: argparse.Namespace, *, messages_count: int, context: int | None) -> dict:  # type: ignore[type-arg]
    from summaries.engine import SummaryOptions, summarize
    from summaries.engine.synthetic import synthetic_conversation
    from summaries.llm.factory import build_provider
    from tests.fakes.openai_server import FakeOpenAI

    messages = synthetic_conversation(messages_count, authors=40)
    options = SummaryOptions(
        format="structured", language="en", map_concurrency=args.concurrency, context_tokens=context
    )
    with FakeOpenAI() as server:
        server.latency = args.latency
        # A small local model refuses what does not fit its window, as llama.cpp and Ollama servers do.
        server.max_context_tokens = context
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
    within = all(r.prompt_tokens + r.body["max_tokens"] <= (context or 10**9) and r.status == 200 for r in requests)
    print(f"context             {context or 'model default'} tokens, every call within it: {within}")
    print(f"messages            {messages_count:,}")
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
    return {
        "messages": messages_count, "context": context, "within": within, "maps": per_level.get(0, 0), "reduces": calls - per_level.get(0, 0),
        "prompt_tokens": result.usage.prompt_tokens, "concurrency": args.concurrency, "latency": args.latency,
        "peak": server.peak_concurrency, "prep": prep, "wall": wall, "ideal": ideal, "level_ideal": level_ideal,
    }


def row(m: dict) -> str:  # type: ignore[type-arg]
    context = f"{m['context']:,}" if m["context"] else "128,000"
    return (
        f"| {m['messages']:,} | {context} | {m['maps']} + {m['reduces']} | {m['prompt_tokens']:,} | {m['concurrency']} | "
        f"{m['prep']:.2f} s | {m['wall']:.2f} s | {m['ideal']:.2f} s | {m['wall'] / m['ideal']:.2f}x | "
        f"{m['level_ideal']:.2f} s | {m['wall'] / m['level_ideal']:.2f}x | "
        f"{(m['wall'] - m['prep']) / m['level_ideal']:.2f}x |"
    )


def section(rows: list[dict]) -> str:  # type: ignore[type-arg]
    m = rows[0]
    return "\n".join([
        "## LLM map-reduce",
        "",
        f"`bench/bench_mapreduce.py`, {date.today().isoformat()}, Python {platform.python_version()}, the unmodified "
        f"openai SDK over real HTTP against the fake OpenAI server on 127.0.0.1 answering every call after "
        f"{m['latency']:.1f} s; the real engine on the engine's synthetic chat, the real provider from `build_provider` "
        "with the production defaults (shared limiter and circuit breaker in the database cache on SQLite).",
        "",
        "    .venv/bin/python bench/bench_mapreduce.py [--messages 50000] [--latency 1.0] [--concurrency 4]",
        "",
        "| messages | context | calls (map + reduce) | prompt tokens | concurrency | before first call | wall | ideal | "
        "ratio (goal <= 1.3x) | level-aware ideal | ratio | calls phase / level-aware |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(row(r) for r in rows),
        "",
        "The small-context row is a 2,048-token local model (Ollama's and llama.cpp's usual windows): the fake "
        "refuses any call over the window, and every call of the run fit "
        f"({'yes' if all(r['within'] for r in rows) else 'NO'}). Its output reserve scales down with the window "
        "(a quarter of what the prompt leaves), so it takes more, smaller calls and more reduce levels.",
        "",
        "\"Ideal\" is calls / concurrency x latency, the goal's yardstick. No schedule of a map-reduce plan reaches "
        "it exactly: the reduce needs every map result, so the floor is the sum over levels of "
        "ceil(calls at that level / concurrency) rounds, the level-aware ideal. The rest is the engine's "
        "preparation before the first call (normalizing, counting the tokens, planning) and, from the first call "
        f"on, the provider, limiter and breaker (a few ms of cache work per call). Peak concurrency seen by the "
        f"server: {m['peak']} (limit {m['concurrency']}). The machine is shared: runs vary by about 10%.",
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--small-context", type=int, default=2_048, help="context of the small-model run (0: skip it)")
    parser.add_argument("--small-messages", type=int, default=5_000)
    parser.add_argument("--verbose", action="store_true", help="print every call's start and duration")
    parser.add_argument("--no-docs", action="store_true", help="print only, do not touch docs/performance.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(os.path.join(tmp, "bench.sqlite3"))
        measured = [asyncio.run(run(args, messages_count=args.messages, context=None))]
        if args.small_context:
            measured.append(asyncio.run(run(args, messages_count=args.small_messages, context=args.small_context)))
    if not args.no_docs:
        doc = write_doc_section("## LLM map-reduce", section(measured))
        print(f"wrote the LLM map-reduce section of {doc.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
