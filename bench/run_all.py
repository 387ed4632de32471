"""Run every benchmark in turn (`make bench`); each prints its ratios and rewrites its section of
docs/performance.md. Ratios are measured side by side in one run; nothing here asserts a time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCRIPTS = [
    "bench_engine.py",
    "bench_mapreduce.py",
    "bench_rolling_digest.py",
    "bench_history.py",
    "bench_defer.py",
    "bench_api.py",
    "bench_batch_cost.py",
    "bench_delivery.py",
    "bench_dashboard.py",
]


def main() -> int:
    failed = []
    for script in SCRIPTS:
        print(f"\n=== {script}", flush=True)
        if subprocess.run([sys.executable, str(BENCH / script)], cwd=BENCH.parent).returncode != 0:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
