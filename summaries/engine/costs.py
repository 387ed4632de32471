"""Prices and cost: USD per million tokens, from options.prices (the SUMMARY_PRICES setting)."""

from __future__ import annotations

from collections.abc import Mapping


def price_for(model: str, prices: Mapping[str, tuple[float, float]]) -> tuple[float, float]:
    """Exact name first, then the longest configured prefix ("gpt-4o-mini-2024-07-18" -> "gpt-4o-mini")."""
    if model in prices:
        return prices[model]
    matches = [name for name in prices if model.startswith(name)]
    if matches:
        return prices[max(matches, key=len)]
    return (0.0, 0.0)


def cost_usd(
    prompt_tokens: int, completion_tokens: int, model: str, prices: Mapping[str, tuple[float, float]]
) -> float:
    price_in, price_out = price_for(model, prices)
    return (prompt_tokens * price_in + completion_tokens * price_out) / 1_000_000
