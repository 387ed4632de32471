"""Engine benchmark: transcript compactness and preparation+planning speed, side by side in one run.

    .venv/bin/python bench/bench_engine.py [--sizes 10000 100000] [--no-write]

1. Prompt tokens per message, per channel shape (synthetic.SHAPES): our transcript (chunk headers and
   legends included) against the naive `author (ISO timestamp): content` line format, on the same prepared
   messages. Goal: <= 0.60x on every shape, every message in some call.
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
from summaries.engine.synthetic import SHAPES, shaped_conversation, synthetic_conversation
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


def token_comparison(count: int, shape: str = "developer") -> dict[str, float | str]:
    """Tokens per message of our transcript and of the naive one, on one channel shape.

    The naive transcript is rendered from the prepared messages before planning (which rewrites what the
    transcript shows, never `text`): full URLs, whole code blocks and logs, quotes repeated, as a plain
    export would send them. Coverage is the share of prepared messages that land in some chunk.
    """
    options = SummaryOptions(model=MODEL)
    counter = TokenCounter(MODEL)
    conversation = prepare(shaped_conversation(shape, count, seed=21), options)
    messages = conversation.messages
    plain = counter.count(render_plain(messages))
    plan = build_plan(conversation, options, context_tokens=128_000)
    gap = options.notable_gap_minutes * 60
    ours = sum(counter.count(render_chunk(messages[c.start : c.end], gap)) for c in plan.chunks)
    covered = sum(c.size for c in plan.chunks)
    return {
        "shape": shape,
        "messages": len(messages),
        "chunks": len(plan.chunks),
        "ours": ours / len(messages),
        "plain": plain / len(messages),
        "ratio": ours / plain,
        "coverage": covered / len(messages),
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


# Tokens per message on each shape before the transcript rewrote links, logs, repeats and quotes (this
# benchmark at the commit that added the shapes, 5,000 messages, seed 21): the "before" column.
BEFORE: dict[str, float] = {
    "developer": 23.65,
    "github": 96.89,
    "links": 19.87,
    "technical": 192.66,
    "research": 44.81,
    "estonian": 25.80,
}


def write_section(tokens: list[dict[str, float | str]], speeds: list[dict[str, float]]) -> None:
    setup = (
        f"`bench/bench_engine.py`, {date.today().isoformat()}, Python {platform.python_version()}, "
        f"tiktoken o200k_base ({MODEL}), {platform.machine()}; synthetic chat in six channel shapes "
        "(`summaries/engine/synthetic.py` SHAPES)."
    )
    token_rows = [
        (
            f"| {t['shape']} | {SHAPES[str(t['shape'])]} | {t['messages']:.0f} | {t['chunks']:.0f} | "
            f"{t['plain']:.2f} | {BEFORE[str(t['shape'])] if t['shape'] in BEFORE else float('nan'):.2f} | "
            f"{t['ours']:.2f} | "
            + (f"{BEFORE[str(t['shape'])] / float(t['plain']):.2f}x" if t["shape"] in BEFORE else "-")
            + f" | **{t['ratio']:.2f}x** | {t['coverage']:.1%} |"
        )
        for t in tokens
    ]
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
        "token below 1000; base-36 refs like `1k` cost two because both encodings split digits from letters). "
        "Then what the transcript shows of a message (summaries/engine/compact.py): links as site and readable "
        "path (`youtube.com/watch`, `github.com/django/django/pull/17350`; ids, hashes, query strings and the "
        "scheme left out, every full URL still in the links section), a link or long line already shown in "
        "the same call as `[=ref]`, a reply's quote of a message in the call left out (or `[quoting ref]`), "
        "and code blocks and logs over 12 lines cut to their first 5 and last 4 around `[… N lines cut]` "
        "(counted in the result's `trimmed`). What is left is text members wrote: a shape whose messages are "
        "mostly long prose (research) cannot go much below the ratio of its line overhead, about 4 tokens "
        "against the naive 20, to its text."
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
        "**Prompt tokens per message, per channel shape** (same prepared messages; ours includes chunk headers "
        "and legends; naive = `author (ISO time): text` with the whole text; coverage = messages in some call):",
        "",
        "| shape | what | messages | chunks | naive | ours before | ours | before / naive | ours / naive "
        "(goal <= 0.60x) | coverage |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *token_rows,
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
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md alone")
    args = parser.parse_args()

    tokens = [token_comparison(args.token_messages, shape) for shape in args.shapes]
    for t in tokens:
        print(
            f"{t['shape']:>10}: {t['messages']:.0f} messages, ours {t['ours']:.2f} tokens/message, naive "
            f"{t['plain']:.2f} -> {t['ratio']:.2f}x (goal <= 0.60x), coverage {t['coverage']:.1%}"
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
