"""The engine's entry point: messages and options in, a cited SummaryResult out."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from summarybot.errors import BudgetExceeded, InvalidInput

from ..llm.base import ChatProvider
from .cache import ChunkCache
from .citations import CitationMap
from .compact import expand_short_urls
from .costs import cost_usd, price_for
from .estimate import Estimate, build_plan, estimate_plan
from .formats import get_format
from .language import detect_language
from .mapreduce import CallCallback, MapReduceSummarizer, ProgressCallback
from .normalize import PreparedConversation, prepare
from .offline import MODEL_NAME as OFFLINE_MODEL
from .offline import summarize_extractive
from .options import SummaryOptions
from .prompts import PROMPT_VERSION
from .schema import Draft, DraftItem
from .shared_links import extract_links
from .types import ChatMessage, SummaryItem, SummaryResult, Usage

logger = logging.getLogger(__name__)

OFFLINE_PROVIDER = "local"


def _result(
    draft: Draft,
    conversation: PreparedConversation,
    options: SummaryOptions,
    *,
    model: str,
    provider: str,
    usage: Usage,
    language: str,
    chunk_count: int,
    reduce_levels: int,
) -> SummaryResult:
    fmt = get_format(options.format)
    citations = CitationMap(conversation.messages)
    items: list[SummaryItem] = []
    cited: set[int] = set()
    for section in fmt.sections:
        for item in draft.sections.get(section.name, []):
            cited.update(item.refs)
            items.append(
                SummaryItem(
                    section=section.name,
                    text=item.text,
                    message_ids=citations.message_ids(item.refs),
                    owner=item.owner,
                    unverified=item.unverified,
                )
            )
    channels = {
        message_id: channel_id
        for message_id, channel_id in citations.channel_ids(cited).items()
        if channel_id != conversation.channel_id
    }
    messages = conversation.messages
    return SummaryResult(
        format=options.format,
        language=language,
        model=model,
        provider=provider,
        items=items,
        message_count=len(messages),
        participant_count=conversation.participant_count,
        usage=usage,
        redactions=dict(conversation.redactions),
        chunk_count=chunk_count,
        reduce_levels=reduce_levels,
        first_message_at=messages[0].created_at,
        last_message_at=messages[-1].created_at,
        guild_id=conversation.guild_id,
        channel_id=conversation.channel_id,
        message_channels=channels,
        prompt_version=PROMPT_VERSION,
        trimmed=dict(conversation.trimmed),
    )


def _with_extracted(draft: Draft, conversation: PreparedConversation, options: SummaryOptions) -> Draft:
    """The sections the engine fills from the messages themselves: links, and a member's mentions."""
    fmt = get_format(options.format)
    if any(section.name == "links" for section in fmt.sections) and "links" not in draft.sections:
        draft.sections["links"] = [
            DraftItem(text=link.url, refs=link.positions) for link in extract_links(conversation.messages)
        ]
    if options.for_member_id is not None and any(section.name == "for_you" for section in fmt.sections):
        draft.sections["for_you"] = _for_member(conversation, options.for_member_id)
    return draft


def _with_full_urls(draft: Draft, conversation: PreparedConversation) -> Draft:
    """The model saw links in short form (compact.py); where its points repeat one, the URL it stands for."""
    urls = conversation.short_urls
    if urls:
        for items in draft.sections.values():
            for item in items:
                item.text = expand_short_urls(item.text, urls)
    return draft


MAX_FOR_MEMBER = 10
SNIPPET_CHARS = 160


def _for_member(conversation: PreparedConversation, member_id: int) -> list[DraftItem]:
    """The latest messages that mention the member or reply to one of theirs, quoted (as redacted) and cited."""
    messages = conversation.messages
    hits = [
        message
        for message in messages
        if message.author_id != member_id
        and (
            member_id in message.mentioned_ids
            or (message.reply_to_index is not None and messages[message.reply_to_index].author_id == member_id)
        )
    ]
    items = []
    for message in hits[-MAX_FOR_MEMBER:]:
        text = message.text if len(message.text) <= SNIPPET_CHARS else message.text[: SNIPPET_CHARS - 1] + "…"
        items.append(DraftItem(text=text, refs=[message.index], owner=message.author_name))
    return items


async def summarize(
    messages: Sequence[ChatMessage],
    options: SummaryOptions,
    *,
    provider: ChatProvider | None,
    cache: ChunkCache | None = None,
    on_progress: ProgressCallback | None = None,
    preflight: Callable[[Estimate], Awaitable[None]] | None = None,
    on_call: CallCallback | None = None,
) -> SummaryResult:
    """Summarize `messages`. With `provider=None` the offline extractive engine runs (no network).

    `preflight`, when given, is awaited once with the plan's Estimate after planning and before the first
    LLM call (never for the offline engine, which costs nothing): the caller's last word on cost, such as
    a guild's monthly budget, decided on the very plan that will run rather than on a second preparation.
    Whatever it raises aborts the summary with no call made. `on_call`, when given, is awaited after each
    LLM call with its usage (and the model that answered), for spend that must be recorded as it happens.

    Raises InvalidInput when nothing is left to summarize, BudgetExceeded (before any call) when the plan
    would exceed `options.max_prompt_tokens`, and the LLMError family when the provider fails.
    """
    if on_progress is not None:
        on_progress("preparing", 0, 1)
    conversation = prepare(messages, options)
    if not conversation.messages:
        raise InvalidInput(
            "No messages left to summarize (all were empty, from bots, system messages or opted out).",
            details={"dropped": conversation.dropped},
        )
    if provider is None:
        if on_progress is not None:
            on_progress("preparing", 1, 1)
            on_progress("summarizing", 0, 1)
        draft = _with_extracted(
            summarize_extractive(conversation, get_format(options.format), gap_seconds=options.notable_gap_minutes * 60),
            conversation,
            options,
        )
        if on_progress is not None:
            on_progress("summarizing", 1, 1)
        language = (
            detect_language(m.text for m in conversation.messages) if options.language == "auto" else options.language
        )
        return _result(
            draft,
            conversation,
            options,
            model=OFFLINE_MODEL,
            provider=OFFLINE_PROVIDER,
            usage=Usage(),
            language=language,
            chunk_count=1,
            reduce_levels=0,
        )

    plan = build_plan(conversation, options, context_tokens=provider.context_tokens)
    planned = estimate_plan(plan, options)
    if on_progress is not None:
        on_progress("preparing", 1, 1)
    if planned.prompt_tokens > options.max_prompt_tokens:
        raise BudgetExceeded(
            f"This summary would need about {planned.prompt_tokens:,} prompt tokens in {planned.llm_calls} calls, "
            f"over the per-request cap of {options.max_prompt_tokens:,}. Summarize a shorter window "
            "or raise SUMMARY_MAX_TOKENS_PER_REQUEST.",
            details=planned.to_dict() | {"max_prompt_tokens": options.max_prompt_tokens},
        )
    if preflight is not None:
        await preflight(planned)
    logger.info(
        "summarizing %d messages in %d chunk(s), about %d calls",
        planned.message_count,
        planned.chunk_count,
        planned.llm_calls,
    )
    usage = Usage()
    summarizer = MapReduceSummarizer(
        provider=provider,
        plan=plan,
        options=options,
        fmt=get_format(options.format),
        usage=usage,
        cache=cache,
        on_progress=on_progress,
        on_call=on_call,
    )
    draft = _with_extracted(_with_full_urls(await summarizer.run(), conversation), conversation, options)
    model = summarizer.model_seen or provider.model or options.model
    # A model the price table does not know (a dated snapshot it lacks) is priced as the one asked for.
    priced = model if price_for(model, options.prices) != (0.0, 0.0) else options.model
    usage.cost_usd = cost_usd(usage.prompt_tokens, usage.completion_tokens, priced, options.prices) - sum(
        # Calls billed below the list price (a batch API) take their discount off the total.
        cost_usd(c.prompt_tokens, c.completion_tokens, priced, options.prices, price_factor=1.0 - c.price_factor)
        for c in usage.calls
        if c.price_factor != 1.0
    )
    language = options.language if options.language != "auto" else (draft.language or "und")
    return _result(
        draft,
        conversation,
        options,
        model=model,
        provider=getattr(provider, "name", "llm"),
        usage=usage,
        language=language,
        chunk_count=summarizer.chunk_count,
        reduce_levels=summarizer.reduce_levels,
    )
