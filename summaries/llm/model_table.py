"""The one rule for finding a model in a per-model table (prices, context windows)."""

from __future__ import annotations

from collections.abc import Iterable


def model_key(model: str, names: Iterable[str]) -> str | None:
    """The table entry `model` falls under: its exact name, else the longest name it extends with "-", so
    dated snapshots ("gpt-4o-mini-2024-07-18") inherit their family's row. Sharing letters is not sharing
    a family: "gpt-4omni" is not "gpt-4o"."""
    matches = [name for name in names if model == name or model.startswith(name + "-")]
    return max(matches, key=len) if matches else None
