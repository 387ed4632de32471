"""What a week of daily digests costs through ordinary calls and through OpenAI's Batch API.

    .venv/bin/python bench/bench_batch_cost.py [--days 7] [--messages 3000] [--context 32000]

The same synthetic day (one seed per day) is summarized twice by the real engine through the unmodified
openai SDK against the fake OpenAI server: once through the ordinary provider from `build_provider`, once
through the BatchingProvider around it, the one a scheduled job gets with SUMMARY_BATCH_SCHEDULES=true
(files upload, batch create, polls, output file). Costs are what the engine metered (`usage.cost_usd`,
the figure the usage records carry) at the SUMMARY_PRICES defaults; the fake's batches finish after three
polls, so their wall times say nothing about OpenAI's (minutes to hours), only the cost and token columns do.
Runs against a throw-away SQLite database. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _django import setup_django  # noqa: E402
from _docs import write_section as write_doc_section  # noqa: E402  (bench/ is the script directory)

MODEL = "gpt-4o-mini"


@dataclass
class Day:
    calls: int
    batches: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


async def digest(day: int, args: argparse.Namespace, *, batched: bool, base_url: str) -> Day:
    from summaries.engine import SummaryOptions, summarize
    from summaries.engine.costs import BATCH_PRICE_FACTOR
    from summaries.engine.synthetic import synthetic_conversation
    from summaries.llm.base import ChatProvider
    from summaries.llm.batch import MAX_BATCH_REQUESTS, BatchingProvider, BatchTiming
    from summaries.llm.factory import build_provider
    from summarybot.config import DEFAULT_PRICES

    messages = synthetic_conversation(args.messages, seed=1000 + day, authors=25)
    ordinary = build_provider(provider="openai", base_url=base_url, api_key="sk-bench", model=MODEL)
    assert ordinary is not None
    provider: ChatProvider = ordinary
    concurrency = 4
    if batched:
        # What engine_setup does for a scheduled job: the whole map phase in one batch.
        timing = BatchTiming(deadline_seconds=600, gather_seconds=0.2, poll_max_seconds=0.05)
        provider = BatchingProvider(ordinary, timing=timing, price_factor=BATCH_PRICE_FACTOR)  # type: ignore[arg-type]
        concurrency = MAX_BATCH_REQUESTS
    options = SummaryOptions(
        format="structured", language="en", model=MODEL, context_tokens=args.context, map_concurrency=concurrency,
        prices=dict(DEFAULT_PRICES),
    )
    try:
        result = await summarize(messages, options, provider=provider)
    finally:
        await provider.aclose()
    return Day(
        calls=result.usage.llm_calls,
        batches=len(provider.batches) if isinstance(provider, BatchingProvider) else 0,
        prompt_tokens=result.usage.prompt_tokens,
        completion_tokens=result.usage.completion_tokens,
        cost_usd=result.usage.cost_usd,
    )


async def week(args: argparse.Namespace) -> list[tuple[Day, Day]]:
    from tests.fakes.openai_server import FakeOpenAI

    days = []
    with FakeOpenAI() as server:
        for day in range(args.days):
            plain = await digest(day, args, batched=False, base_url=server.base_url)
            ordinary_calls = len(server.chat_requests)
            batched = await digest(day, args, batched=True, base_url=server.base_url)
            # Both ways made the same calls; the batched ones never reached the chat endpoint.
            assert len(server.chat_requests) == ordinary_calls, "a batched digest fell back to ordinary calls"
            days.append((plain, batched))
            print(
                f"day {day + 1}: {plain.calls} calls, {plain.prompt_tokens:,} + {plain.completion_tokens:,} tokens, "
                f"${plain.cost_usd:.4f} ordinary / ${batched.cost_usd:.4f} in {batched.batches} batches",
                flush=True,
            )
    return days


def section(args: argparse.Namespace, days: list[tuple[Day, Day]]) -> str:
    from summarybot.config import DEFAULT_PRICES

    plain_cost = sum(p.cost_usd for p, _ in days)
    batch_cost = sum(b.cost_usd for _, b in days)
    prompt = sum(p.prompt_tokens for p, _ in days)
    completion = sum(p.completion_tokens for p, _ in days)
    calls = sum(p.calls for p, _ in days)
    batches = sum(b.batches for _, b in days)
    same_tokens = all(p.prompt_tokens == b.prompt_tokens for p, b in days)
    rows = []
    for model in ("gpt-4o-mini", "gpt-4.1-mini", "gpt-4o"):
        price_in, price_out = DEFAULT_PRICES[model]
        # The measured tokens at each model's list price; the batch column is what the engine metered times
        # the same ratio (it metered gpt-4o-mini), so the rows share one measurement.
        full = (prompt * price_in + completion * price_out) / 1_000_000
        scale = full / plain_cost if plain_cost else 0.0
        rows.append(f"| {model} | ${full:.4f} | ${batch_cost * scale:.4f} | {batch_cost / plain_cost:.2f} |")
    return "\n".join([
        "## Scheduled digests through the Batch API",
        "",
        f"`bench/bench_batch_cost.py`, {date.today().isoformat()}, Python {platform.python_version()}: a week of daily "
        f"digests ({args.days} days of {args.messages:,} synthetic messages each, a different day's chat each day, "
        f"context {args.context:,} tokens so each digest is a map-reduce) summarized twice on the same messages by "
        "the real engine through the unmodified openai SDK against the fake OpenAI server: ordinary chat calls "
        "from `build_provider`, and the BatchingProvider a scheduled job gets with `SUMMARY_BATCH_SCHEDULES=true` "
        "(JSONL upload, batch, polls, output file). Costs are what the engine metered, the figure the usage "
        "records carry.",
        "",
        "    .venv/bin/python bench/bench_batch_cost.py [--days 7] [--messages 3000] [--context 32000]",
        "",
        f"Per week: {calls} LLM calls ({calls // args.days} a day), {prompt:,} prompt + {completion:,} completion "
        f"tokens; the batched runs sent {batches} batches ({batches // args.days} a day: the map phase, then each "
        f"reduce level) and made no ordinary call. Same tokens both ways: {'yes' if same_tokens else 'NO'}.",
        "",
        "| model (list price) | a week, ordinary calls | a week, Batch API | ratio |",
        "|---|---:|---:|---:|",
        *rows,
        "",
        "The saving is the Batch API's 50% on the same tokens; nothing else changes. The price is latency: "
        "OpenAI promises a batch within 24 hours (small ones often take minutes), so a digest waits up to "
        "`SUMMARY_BATCH_DEADLINE_SECONDS` (default two thirds of `Q_TIMEOUT`, 600 s) and then makes ordinary "
        "calls at full price for whatever the batch had not answered. A digest that is due at a fixed time can "
        "still be on time only if the deadline (and `Q_TIMEOUT`) are set to what the operator can wait.",
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--messages", type=int, default=3_000, help="messages per day")
    parser.add_argument("--context", type=int, default=32_000, help="the model's context in tokens (planning)")
    parser.add_argument("--no-docs", action="store_true", help="print only, do not touch docs/performance.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(os.path.join(tmp, "bench.sqlite3"))
        days = asyncio.run(week(args))
    text = section(args, days)
    print(text)
    if not args.no_docs:
        doc = write_doc_section("## Scheduled digests through the Batch API", text)
        print(f"wrote the Batch API section of {doc.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
