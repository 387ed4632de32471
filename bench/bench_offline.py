"""Offline engine benchmark: precision per section, and recall of planted decisions, on generated chat.

    .venv/bin/python bench/bench_offline.py [--sizes 300 2000] [--seeds 5] [--no-write]

The chat (summaries/engine/synthetic_planted.py) holds planted decisions, action items and open
questions among filler and their look-alikes (jokes using "decided", vague intentions, rhetorical and
answered questions, requests nobody takes), in English, French and German. An item the engine files in a
section is right when it cites a message of an item planted in that section. Ten of each are planted, so
every decision fits in the section (its limit is at least twelve from 150 messages up): recall counts the
planted decisions cited.

Pure CPU, no Django, no network. Writes the "Offline engine" section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _docs import write_section  # noqa: E402  (bench/ is the script directory)

from summaries.engine.options import SummaryOptions
from summaries.engine.pipeline import summarize
from summaries.engine.synthetic_planted import LANGUAGES, planted_conversation

SECTIONS = ("decisions", "action_items", "open_questions")


def measure(count: int, language: str, seeds: int) -> dict[str, float]:
    right = dict.fromkeys(SECTIONS, 0)
    filed = dict.fromkeys(SECTIONS, 0)
    found_decisions = planted_decisions = 0
    for seed in range(seeds):
        planted = planted_conversation(count, language, seed=seed)
        result = asyncio.run(summarize(planted.messages, SummaryOptions(format="structured"), provider=None))
        for section in SECTIONS:
            groups = planted.sections[section]
            for item in result.section(section):
                filed[section] += 1
                right[section] += any(set(item.message_ids) & group for group in groups)
        cited = {i for item in result.section("decisions") for i in item.message_ids}
        planted_decisions += len(planted.sections["decisions"])
        found_decisions += sum(1 for group in planted.sections["decisions"] if group & cited)
    row: dict[str, float] = {f"{s}_precision": right[s] / filed[s] if filed[s] else 1.0 for s in SECTIONS}
    row.update({f"{s}_filed": filed[s] for s in SECTIONS})
    row["decision_recall"] = found_decisions / planted_decisions
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[300, 2000])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows = []
    for count in args.sizes:
        for language in LANGUAGES:
            row = measure(count, language, args.seeds)
            rows.append((count, language, row))
            print(
                f"{count:>5} {language}: precision decisions {row['decisions_precision']:.0%} "
                f"({row['decisions_filed']:.0f} filed), action items {row['action_items_precision']:.0%} "
                f"({row['action_items_filed']:.0f}), open questions {row['open_questions_precision']:.0%} "
                f"({row['open_questions_filed']:.0f}); decision recall {row['decision_recall']:.0%}"
            )
    if args.no_write:
        return
    table = [
        f"| {count} | {language} | {r['decisions_precision']:.0%} ({r['decisions_filed']:.0f}) | "
        f"{r['action_items_precision']:.0%} ({r['action_items_filed']:.0f}) | "
        f"{r['open_questions_precision']:.0%} ({r['open_questions_filed']:.0f}) | {r['decision_recall']:.0%} |"
        for count, language, r in rows
    ]
    lines = [
        "## Offline engine",
        "",
        f"`bench/bench_offline.py`, {date.today().isoformat()}, Python {platform.python_version()}; "
        f"{args.seeds} generated exports per row (summaries/engine/synthetic_planted.py), format structured: "
        "10 planted decisions, action items and open questions each, among filler and look-alikes (jokes "
        'using "decided", vague intentions, rhetorical and answered questions, requests nobody takes).',
        "",
        "| messages | language | decisions precision (items filed) | action items precision | open questions "
        "precision | recall of planted decisions |",
        "|---:|---|---:|---:|---:|---:|",
        *table,
        "",
    ]
    write_section("## Offline engine", "\n".join(lines))
    print("wrote the Offline engine section of docs/performance.md")


if __name__ == "__main__":
    main()
