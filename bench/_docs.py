"""Where benchmarks record their results: one `## Section` each in docs/performance.md."""

from __future__ import annotations

import re
from pathlib import Path

PERFORMANCE_DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def write_section(heading: str, text: str, *, doc: Path = PERFORMANCE_DOC) -> Path:
    """Replace the section titled `heading` (e.g. "## Engine") with `text`, or append it; others stay."""
    existing = doc.read_text() if doc.exists() else "# Performance\n"
    section = text.rstrip("\n") + "\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(existing):
        updated = pattern.sub(lambda _: section + "\n", existing)
    else:
        updated = existing.rstrip("\n") + "\n\n" + section
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(updated.rstrip("\n") + "\n")
    return doc
