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
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _docs import PERFORMANCE_DOC  # noqa: E402  (bench/ is the script directory)
from _docs import write_section as write_doc_section  # noqa: E402

from summaries.engine.estimate import build_plan
from summaries.engine.normalize import prepare
from summaries.engine.options import SummaryOptions
from summaries.engine.synthetic import synthetic_conversation
from summaries.engine.tokens import TokenCounter
from summaries.engine.transcript import render_chunk, render_plain

MODEL = "gpt-4o-mini"


def interleaved_best(runs: int, first: Callable[[], object], second: Callable[[], object]) -> tuple[float, float]:
    """Best CPU time of each (both are single-threaded), alternating runs: on a shared, loaded machine wall
    time measures the neighbours as much as the code."""
    best_first = best_second = float("inf")
    for _ in range(runs):
        started = time.process_time()
        first()
        best_first = min(best_first, time.process_time() - started)
        started = time.process_time()
        second()
        best_second = min(best_second, time.process_time() - started)
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
    # Where the engine's time goes, for the table (separate runs, so the parts only approximately add up).
    no_redaction = SummaryOptions(model=MODEL, redact_pii=False)
    prepare_plain, prepare_redacting = interleaved_best(
        runs, lambda: prepare(messages, no_redaction), lambda: prepare(messages, options)
    )
    conversation = prepare(messages, options)
    planning, _ = interleaved_best(
        runs, lambda: build_plan(conversation, options, context_tokens=128_000), lambda: None
    )
    return {
        "messages": count,
        "tiktoken": baseline,
        "engine": engine,
        "ratio": engine / baseline,
        "normalize": prepare_plain,
        "redact": max(0.0, prepare_redacting - prepare_plain),
        "plan": planning,
    }


def write_section(tokens: dict[str, float], speeds: list[dict[str, float]]) -> None:
    setup = (
        f"`bench/bench_engine.py`, {date.today().isoformat()}, Python {platform.python_version()}, "
        f"tiktoken o200k_base ({MODEL}), {platform.machine()}; synthetic developer-server chat "
        "(bursts, replies, mentions, emoji, links, code, attachments; about half the texts distinct)."
    )
    token_row = (
        f"| {tokens['messages']:.0f} | {tokens['chunks']:.0f} | {tokens['ours']:.2f} | {tokens['plain']:.2f} | "
        f"{tokens['saving']:.0%} |"
    )
    speed_intro = (
        "**Preparation + planning vs tiktoken alone** (preparation = drop, normalize, redact, count every "
        "message, plan chunks; baseline = `encode_ordinary` of the messages' text joined; process CPU time, "
        "best of alternating runs; the parts are timed separately):"
    )
    speed_header = (
        "| messages | tiktoken alone (s) | engine (s) | ratio (goal <= 2x) | of which: normalize | redact "
        "| count + plan |"
    )
    speed_rows = [
        (
            f"| {s['messages']:.0f} | {s['tiktoken']:.3f} | {s['engine']:.3f} | {s['ratio']:.2f}x | "
            f"{s['normalize']:.3f} | {s['redact']:.3f} | {s['plan']:.3f} |"
        )
        for s in speeds
    ]
    savings = (
        "Where the savings come from: no timestamps (about 15 tokens each in ISO form; a `+95m` marker only "
        "after a notable silence), a one-token alias per author instead of the name, and decimal refs (one "
        "token below 1000; base-36 refs like `1k` cost two because both encodings split digits from letters)."
    )
    time_spent = (
        "Where the time goes: counting is one encoder pass over the distinct texts joined by a separator "
        "that is always its own token, read from the encoder's uint32 buffer instead of a list of Python "
        "ints, so it costs less than tiktoken alone on all the text. Redaction is a batch gate: a dozen "
        "trigger patterns, each starting with a literal so the regex engine skips between its occurrences, "
        "scan the whole conversation joined (and its case-folded form, and a digit-class map of its bytes) "
        "in a few milliseconds each, and only the texts they flag go through the rules. The rest is CPython "
        "work per message: dropping and normalizing (a flat loop with a fast path for plain text, about a "
        "microsecond a message, most of it building each prepared message) and the planner (one pass over "
        "plain lists). That per-message work is now most of the gap to tiktoken; the next steps would be "
        "normalizing in worker processes for very large windows, or a compiled extension."
    )
    lines = [
        "## Engine",
        "",
        setup,
        "",
        "**Prompt tokens per message** (same prepared messages; ours includes chunk headers and alias legends):",
        "",
        "| messages | chunks | ours | plain `author (ISO time): text` | saving (goal >= 30%) |",
        "|---:|---:|---:|---:|---:|",
        token_row,
        "",
        speed_intro,
        "",
        speed_header,
        "|---:|---:|---:|---:|---:|---:|---:|",
        *speed_rows,
        "",
        savings,
        time_spent,
        "",
    ]
    write_doc_section("## Engine", "\n".join(lines))


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
        print(f"wrote the Engine section of {PERFORMANCE_DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
