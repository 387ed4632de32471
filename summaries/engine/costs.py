"""Prices and cost: USD per million tokens, from options.prices (the SUMMARY_PRICES setting).

The one price lookup of the project: the engine receives the table as data, the services pass the setting.
"""

from __future__ import annotations

from collections.abc import Mapping

from summaries.llm.model_table import model_key

# OpenAI bills Batch API requests at half the list price, input and output alike. The provider that
# batches is handed this factor (services wire it) and reports it on each response it resolves.
BATCH_PRICE_FACTOR = 0.5


def price_for(model: str, prices: Mapping[str, tuple[float, float]]) -> tuple[float, float]:
    """(input, output) USD per million tokens; (0, 0) for a model with no price (the offline engine)."""
    name = model_key(model, prices)
    if name is None:
        return (0.0, 0.0)
    price_in, price_out = prices[name]
    return (float(price_in), float(price_out))


def cost_usd(
    prompt_tokens: int,
    completion_tokens: int,
    model: str,
    prices: Mapping[str, tuple[float, float]],
    *,
    price_factor: float = 1.0,
) -> float:
    """What the tokens cost; `price_factor` is the share of the list price billed (BATCH_PRICE_FACTOR)."""
    price_in, price_out = price_for(model, prices)
    return (prompt_tokens * price_in + completion_tokens * price_out) / 1_000_000 * price_factor
