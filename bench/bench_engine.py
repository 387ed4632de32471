"""Engine benchmark: transcript compactness and preparation+planning speed, side by side in one run.

    .venv/bin/python bench/bench_engine.py [--sizes 10000 100000] [--no-write]

1. Prompt tokens per message: our transcript (chunk headers and alias legends included) against the
   plain `author (ISO timestamp): content` line format, on the same prepared messages. Goal: >= 30% fewer.
2. Time of our preparation + planning (normalize, redact, count every message, plan chunks) against
   tiktoken encoding alone of the same messages' text, for each size. Goal: <= 2x.

Pure CPU, no Django, no network. Writes the "Engine" section of docs/performance.md (other sections kept).
"""

from __future__ import annotations

import argparse
import platform
import re
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from summaries.engine.estimate import build_plan  # noqa: E402
from summaries.engine.normalize import prepare  # noqa: E402
from summaries.engine.options import SummaryOptions  # noqa: E402
from summaries.engine.synthetic import synthetic_conversation  # noqa: E402
from summaries.engine.tokens import TokenCounter  # noqa: E402
from summaries.engine.transcript import render_chunk, render_plain  # noqa: E402

DOC = ROOT / "docs" / "performance.md"
MODEL = "gpt-4o-mini"


def interleaved_best(runs: int, first: Callable[[], object], second: Callable[[], object]) -> tuple[float, float]:
    """Best time of each, alternating runs so that a burst of load on a shared machine hits both alike."""
    best_first = best_second = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        first()
        best_first = min(best_first, time.perf_counter() - started)
        started = time.perf_counter()
        second()
        best_second = min(best_second, time.perf_counter() - started)
    return best_first, best_second


def token_comparison(count: int) -> dict[str, float]:
    options = SummaryOptions(model=MODEL)
    counter = TokenCounter(MODEL)
    conversation = prepare(synthetic_conversation(count, seed=21), options)
    plan = build_plan(conversation, options, context_tokens=128_000)
    messages = conversation.messages
    gap = options.notable_gap_minutes * 60
    ours = sum(counter.count(render_chunk(messages[c.start : c.end], gap)) for c in plan.chunks)
    plain = counter.count(render_plain(messages))
    return {
        "messages": len(messages),
        "chunks": len(plan.chunks),
        "ours": ours / len(messages),
        "plain": plain / len(messages),
        "saving": 1 - ours / plain,
    }


def speed_comparison(count: int, runs: int) -> dict[str, float]:
    options = SummaryOptions(model=MODEL)
    counter = TokenCounter(MODEL)  # loaded before timing: a worker loads it once per process
    messages = synthetic_conversation(count, seed=22)
    text = "\n".join(m.content for m in messages)
    encode = counter.encoding.encode_ordinary

    def ours() -> None:
        build_plan(prepare(messages, options), options, context_tokens=128_000)

    baseline, engine = interleaved_best(runs, lambda: encode(text), ours)
    return {"messages": count, "tiktoken": baseline, "engine": engine, "ratio": engine / baseline}


def write_section(tokens: dict[str, float], speeds: list[dict[str, float]]) -> None:
    lines = [
        "## Engine",
        "",
        f"`bench/bench_engine.py`, {date.today().isoformat()}, Python {platform.python_version()}, "
        f"tiktoken o200k_base ({MODEL}), {platform.machine()}; synthetic developer-server chat "
        "(bursts, replies, mentions, emoji, links, code, attachments).",
        "",
        "**Prompt tokens per message** (same prepared messages; ours includes chunk headers and alias legends):",
        "",
        "| messages | chunks | ours | plain `author (ISO time): text` | saving (goal >= 30%) |",
        "|---:|---:|---:|---:|---:|",
        f"| {tokens['messages']:.0f} | {tokens['chunks']:.0f} | {tokens['ours']:.2f} | {tokens['plain']:.2f} | "
        f"{tokens['saving']:.0%} |",
        "",
        "**Preparation + planning vs tiktoken alone** (best of several runs; preparation = drop, normalize, "
        "redact, count every message, plan chunks; baseline = `encode_ordinary` of the messages' text joined):",
        "",
        "| messages | tiktoken alone (s) | engine (s) | ratio (goal <= 2x) |",
        "|---:|---:|---:|---:|",
        *(
            f"| {s['messages']:.0f} | {s['tiktoken']:.3f} | {s['engine']:.3f} | {s['ratio']:.2f}x |"
            for s in speeds
        ),
        "",
        "Where the savings come from: no timestamps (about 15 tokens each in ISO form; a `+95m` marker only "
        "after a notable silence), a one-token alias per author instead of the name, and decimal refs (one "
        "token below 1000; base-36 refs like `1k` cost two because both encodings split digits from letters).",
        "Where the time goes: counting tokens is most of it; redaction runs one combined regular expression "
        "only on messages holding a digit, `@`, `:`, `=` or `-`.",
        "",
    ]
    section = "\n".join(lines)
    existing = DOC.read_text() if DOC.exists() else "# Performance\n"
    pattern = re.compile(r"^## Engine\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(existing):
        updated = pattern.sub(lambda _: section + "\n", existing)
    else:
        updated = existing.rstrip("\n") + "\n\n" + section
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(updated.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--token-messages", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md alone")
    args = parser.parse_args()

    tokens = token_comparison(args.token_messages)
    print(
        f"tokens/message over {tokens['messages']:.0f} messages: ours {tokens['ours']:.2f}, "
        f"plain {tokens['plain']:.2f} -> {tokens['saving']:.0%} fewer (goal >= 30%)"
    )
    speeds = []
    for size in args.sizes:
        result = speed_comparison(size, args.runs)
        speeds.append(result)
        print(
            f"{size:>7} messages: tiktoken alone {result['tiktoken']:.3f} s, preparation+planning "
            f"{result['engine']:.3f} s -> {result['ratio']:.2f}x (goal <= 2x)"
        )
    if not args.no_write:
        write_section(tokens, speeds)
        print(f"wrote the Engine section of {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
