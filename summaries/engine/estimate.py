"""Counting and planning a prepared conversation, and the pre-flight estimate built on it.

The same Plan drives the real run (pipeline.py) and `estimate()`, so what a user is told before a
request is what the request will do; the only unknown is the size of the model's replies, taken at
their ceiling (max_output_tokens), which makes the estimate an upper bound.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from .compact import MAX_BLOCK_LINES, Trimmed, compact_text
from .costs import cost_usd
from .formats import FORMATS
from .normalize import PreparedConversation, PreparedMessage, gc_paused, prepare
from .options import DEFAULT_CONTEXT_TOKENS, SummaryOptions
from .planner import (
    Budget,
    Chunk,
    detach_cross_period_replies,
    group_for_reduce,
    line_costs,
    period_ranges,
    plan_chunks,
    plan_periods,
)
from .prompts import chunk_system_prompt, reduce_system_prompt
from .schema import json_schema_text
from .tokens import TokenCounter
from .transcript import escape_text, header, legend_entry_cost, period_line_costs
from .types import ChatMessage

# Framing of a partial summary in a reduce input ("Part 12 (messages 3400-3711):" and section labels).
REDUCE_ITEM_FRAMING = 24


@dataclass(slots=True)
class Plan:
    conversation: PreparedConversation
    counter: TokenCounter
    budget: Budget
    costs: list[int]
    chunks: list[Chunk]


@dataclass(frozen=True, slots=True)
class Estimate:
    message_count: int
    chunk_count: int
    llm_calls: int
    reduce_levels: int
    prompt_tokens: int
    max_completion_tokens: int
    cost_usd: float

    def to_dict(self) -> dict[str, int | float]:
        return {
            "message_count": self.message_count,
            "chunk_count": self.chunk_count,
            "llm_calls": self.llm_calls,
            "reduce_levels": self.reduce_levels,
            "prompt_tokens": self.prompt_tokens,
            "max_completion_tokens": self.max_completion_tokens,
            "cost_usd": round(self.cost_usd, 6),
        }


@functools.lru_cache(maxsize=64)
def prompt_overhead(format_name: str, language: str, model: str) -> int:
    """Tokens of everything in a call but the transcript: the longest system prompt, the schema (OpenAI
    counts it as input), the chat framing and the header line."""
    counter = TokenCounter(model)
    fmt = FORMATS[format_name]
    longest_system = max(
        (
            chunk_system_prompt(fmt, language, part=9999, parts=9999),
            chunk_system_prompt(fmt, language),
            reduce_system_prompt(fmt, language),
        ),
        key=counter.count,
    )
    longest_header = header(datetime(2000, 12, 30, 23, 59, tzinfo=UTC))
    return (
        counter.count_chat([{"content": longest_system}, {"content": longest_header}])
        + counter.count(json_schema_text(format_name))
        + 16  # slack for the schema's wrapping and the tokenizer's merges at the seams
    )


def output_reserve(context_tokens: int, overhead_tokens: int, ceiling: int) -> int:
    """What each call may answer: `ceiling`, or a quarter of what the prompt leaves in a small context.

    A quarter leaves three for the input, which always holds two partial summaries for a reduce: a 2k-token
    local model answers in ~320 tokens and still summarizes any history, where a fixed reserve of 1,500
    left it no room for a transcript at all.
    """
    return max(64, min(ceiling, (context_tokens - overhead_tokens) // 4))


def make_budget(options: SummaryOptions, context_tokens: int | None) -> Budget:
    context = options.context_tokens or context_tokens or DEFAULT_CONTEXT_TOKENS
    overhead = prompt_overhead(options.format, options.language, options.model)
    budget = Budget(
        context_tokens=context,
        overhead_tokens=overhead,
        output_tokens=output_reserve(context, overhead, options.max_output_tokens),
        max_chunk_tokens=options.max_chunk_tokens,
    )
    budget.check()
    return budget


def measure(conversation: PreparedConversation, counter: TokenCounter, options: SummaryOptions, budget: Budget) -> None:
    """Decide what the transcript shows of each message (compact.py) and count its tokens, cutting any
    single message that would crowd out the rest. `text` is left whole: only `shown` is cut."""
    limit = max(16, min(options.max_message_tokens, budget.input_tokens // 2))
    messages = conversation.messages
    trimmed = Trimmed()

    def shown(message: PreparedMessage) -> str:
        text = message.text
        if "://" in text or (not text.isprintable() and text.count("\n") > MAX_BLOCK_LINES):
            compacted = compact_text(text, trimmed)
            if compacted != text:
                message.shown = text = compacted
        return escape_text(text)

    # What the transcript shows: the text compacted (compact.py) and escaped onto one line. Plain text, most
    # messages, is tested inline rather than by a call: this runs once per message of every request.
    # ("/" rather than "://": a one-character test is a memchr, and as few messages hold one as hold a URL.)
    texts = [t if (t := m.text).isprintable() and "\\" not in t and "/" not in t else shown(m) for m in messages]
    conversation.trimmed = trimmed.counts()
    conversation.short_urls = trimmed.urls
    counts = counter.count_many(texts)
    for message, tokens in zip(messages, counts, strict=True):
        if tokens > limit:
            keep = limit - 8
            while tokens > limit:
                # Escaping can lengthen a text (each backslash doubles): cut further until it fits.
                message.shown = counter.truncate(message.shown or message.text, keep)
                tokens = counter.count(escape_text(message.shown))
                keep //= 2
        message.tokens = tokens


def build_plan(conversation: PreparedConversation, options: SummaryOptions, *, context_tokens: int | None) -> Plan:
    counter = TokenCounter(options.model)
    budget = make_budget(options, context_tokens)
    gap_seconds = options.notable_gap_minutes * 60
    messages = conversation.messages
    periods = period_ranges(messages, options.chunk_boundaries) if options.chunk_boundaries else None
    with gc_paused():
        measure(conversation, counter, options, budget)
        if periods is None:
            costs = line_costs(messages, gap_seconds)
        else:
            detach_cross_period_replies(messages, periods)
            costs = period_line_costs(messages, periods, gap_seconds)
    legend: dict[int, int] = {}
    for message in messages:
        if message.author_id not in legend:
            legend[message.author_id] = legend_entry_cost(message.author_name, counter)
    if periods is None:
        chunks = plan_chunks(messages, costs, legend, budget.input_tokens, gap_seconds=gap_seconds)
    else:
        chunks = plan_periods(messages, costs, legend, budget.input_tokens, periods=periods, gap_seconds=gap_seconds)
    return Plan(conversation=conversation, counter=counter, budget=budget, costs=costs, chunks=chunks)


def estimate_plan(plan: Plan, options: SummaryOptions) -> Estimate:
    overhead = plan.budget.overhead_tokens
    output = plan.budget.output_tokens
    prompt = sum(overhead + chunk.tokens for chunk in plan.chunks)
    calls = len(plan.chunks)
    levels = 0
    sizes = [output + REDUCE_ITEM_FRAMING] * len(plan.chunks)
    while len(sizes) > 1:
        levels += 1
        groups = group_for_reduce(sizes, plan.budget.input_tokens)
        reduced = [g for g in groups if len(g) > 1]
        calls += len(reduced)
        prompt += sum(overhead + sum(sizes[i] for i in g) for g in reduced)
        sizes = [output + REDUCE_ITEM_FRAMING if len(g) > 1 else sizes[g.start] for g in groups]
    completion = calls * output
    return Estimate(
        message_count=len(plan.conversation.messages),
        chunk_count=len(plan.chunks),
        llm_calls=calls,
        reduce_levels=levels,
        prompt_tokens=prompt,
        max_completion_tokens=completion,
        cost_usd=cost_usd(prompt, completion, options.model, options.prices),
    )


def estimate(
    messages: Sequence[ChatMessage], options: SummaryOptions, *, context_tokens: int | None = None
) -> Estimate:
    """Pre-flight: how many calls and tokens, and what cost (an upper bound), without calling anything."""
    conversation = prepare(messages, options)
    if not conversation.messages:
        return Estimate(0, 0, 0, 0, 0, 0, 0.0)
    return estimate_plan(build_plan(conversation, options, context_tokens=context_tokens), options)
