"""The engine for one guild: its provider (or the offline engine) and its options, set up in one place for
summary jobs, mention Q&A and the demo."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from guilds.models import Guild
from summaries.engine.costs import BATCH_PRICE_FACTOR
from summaries.engine.offline import MODEL_NAME as OFFLINE_MODEL
from summaries.engine.options import SummaryOptions
from summaries.llm.base import ChatProvider
from summaries.llm.batch import MAX_BATCH_REQUESTS
from summaries.llm.factory import batching_provider, build_provider
from summaries.models import JobSource
from summaries.selectors import summary_options

# Jobs nobody is waiting on, whose calls may take the Batch API's hours for its half price.
BATCHABLE_SOURCES = frozenset({JobSource.SCHEDULE})


class EngineSetup(NamedTuple):  # a tuple, so callers can write `provider, options = engine_setup(...)`
    provider: ChatProvider | None  # None: the offline engine; otherwise the caller closes it (aclose)
    options: SummaryOptions


def engine_setup(
    *,
    guild: Guild,
    channel_id: int | None,
    format: str,
    language: str,
    provider: str | None = None,
    source: str | None = None,
) -> EngineSetup:
    """The guild's own endpoint, key and model when it brought them, ours otherwise; the options carry the
    model actually used, so the plan, the prices and the stored summary all name the same model.

    `provider` overrides SUMMARY_PROVIDER ("local": the offline engine whatever is configured). `source`
    is the job's JobSource: a scheduled job goes through the Batch API when SUMMARY_BATCH_SCHEDULES is on
    and the endpoint has one (summaries.llm.factory.batching_provider).
    """
    chat_provider = build_provider(
        provider=provider,
        base_url=guild.llm_base_url or None,
        api_key=guild.llm_api_key or None,
        model=guild.llm_model or None,
    )
    batching = batching_provider(chat_provider, price_factor=BATCH_PRICE_FACTOR) if source in BATCHABLE_SOURCES else None
    if batching is not None:
        chat_provider = batching
    options = summary_options(
        guild=guild,
        channel_id=channel_id,
        format=format,
        language=language,
        model=chat_provider.model if chat_provider is not None else OFFLINE_MODEL,
        context_tokens=chat_provider.context_tokens if chat_provider is not None else None,
    )
    if batching is not None:
        # Every chunk of the map phase in one batch: the engine's concurrency limit would split it into
        # rounds, each waiting its own hours. The batching provider bounds its ordinary calls itself.
        options = dataclasses.replace(options, map_concurrency=MAX_BATCH_REQUESTS)
    return EngineSetup(provider=chat_provider, options=options)
