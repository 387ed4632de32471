"""Prices: one table (SUMMARY_PRICES, handed to the engine as data) and one rule for finding a model in it."""

from __future__ import annotations

from summaries.engine.costs import price_for

PRICES = {"gpt-4o-mini": (0.15, 0.60), "gpt-4o": (2.5, 10.0), "my-llama": (0.0, 0.1)}


def test_price_for_known_snapshot_and_unknown_models() -> None:
    assert price_for("gpt-4o-mini", PRICES) == (0.15, 0.60)
    assert price_for("gpt-4o-2024-08-06", PRICES) == (2.5, 10.0)
    assert price_for("my-llama", PRICES) == (0.0, 0.1)
    assert price_for("unknown", PRICES) == (0.0, 0.0)
