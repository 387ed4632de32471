"""The engine for one guild: its provider (or the offline engine) and its options, set up in one place for
summary jobs, mention Q&A and the demo."""

from __future__ import annotations

from typing import NamedTuple

from guilds.models import Guild
from summaries.engine.offline import MODEL_NAME as OFFLINE_MODEL
from summaries.engine.options import SummaryOptions
from summaries.llm.base import ChatProvider
from summaries.llm.factory import build_provider
from summaries.selectors import summary_options


class EngineSetup(NamedTuple):  # a tuple, so callers can write `provider, options = engine_setup(...)`
    provider: ChatProvider | None  # None: the offline engine; otherwise the caller closes it (aclose)
    options: SummaryOptions


def engine_setup(
    *, guild: Guild, channel_id: int | None, format: str, language: str, provider: str | None = None
) -> EngineSetup:
    """The guild's own endpoint, key and model when it brought them, ours otherwise; the options carry the
    model actually used, so the plan, the prices and the stored summary all name the same model.

    `provider` overrides SUMMARY_PROVIDER ("local": the offline engine whatever is configured).
    """
    chat_provider = build_provider(
        provider=provider,
        base_url=guild.llm_base_url or None,
        api_key=guild.llm_api_key or None,
        model=guild.llm_model or None,
    )
    options = summary_options(
        guild=guild,
        channel_id=channel_id,
        format=format,
        language=language,
        model=chat_provider.model if chat_provider is not None else OFFLINE_MODEL,
        context_tokens=chat_provider.context_tokens if chat_provider is not None else None,
    )
    return EngineSetup(provider=chat_provider, options=options)
