"""Everything the engine can be told, in one dataclass: the engine reads no settings of its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from summarybot.errors import InvalidInput

from .formats import FORMATS

DEFAULT_CONTEXT_TOKENS = 128_000


@dataclass(frozen=True, slots=True)
class SummaryOptions:
    format: str = "structured"
    # "auto" means: the language most of the conversation is written in.
    language: str = "auto"
    model: str = "gpt-4o-mini"
    # None: take the provider's context window (or DEFAULT_CONTEXT_TOKENS offline).
    context_tokens: int | None = None
    # Output reserve of every call, at most; also the ceiling of what one chunk summary may weigh in a reduce.
    # Small contexts get less (estimate.output_reserve), so that a transcript and a reduce still fit.
    max_output_tokens: int = 1_500
    # Long contexts are allowed but recall drops with length: chunks stay below this even when the window is larger.
    max_chunk_tokens: int = 60_000
    map_concurrency: int = 4
    # Hard cap on the prompt tokens one request may spend; checked before the first call.
    max_prompt_tokens: int = 2_000_000
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)
    redact_pii: bool = True
    include_bots: bool = False
    include_system: bool = False
    opt_out_marker: str = "!nosummary"
    opted_out_user_ids: frozenset[int] = frozenset()
    # A silence this long is shown to the model ("+95m") and preferred as a chunk boundary.
    notable_gap_minutes: int = 20
    # A single message longer than this is cut: one wall of pasted logs must not crowd out a conversation.
    max_message_tokens: int = 1_000
    temperature: float = 0.2
    # A member's catch-up: the messages that mention or answer them are listed first ("For you").
    for_member_id: int | None = None
    # Instants no chunk may straddle (a schedule's day starts, its run slots): each period between two is
    # planned as if it were summarized alone, so a week's chunks are its days' own chunks and the daily runs'
    # summaries of them in the chunk cache serve the week (engine/planner.py `plan_periods`). Empty: the
    # whole window is planned at once (on-demand summaries).
    chunk_boundaries: tuple[datetime, ...] = ()

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise InvalidInput(f"Unknown summary format {self.format!r}; choose one of {', '.join(FORMATS)}.")
        if self.map_concurrency < 1:
            raise InvalidInput("map_concurrency must be at least 1.")
        if self.max_output_tokens < 64:
            raise InvalidInput("max_output_tokens must be at least 64.")
        if any(b.tzinfo is None or b.utcoffset() is None for b in self.chunk_boundaries):
            raise InvalidInput("chunk_boundaries must be time-zone aware instants.")
        if not self.language.strip():
            raise InvalidInput("language must be 'auto' or a language name or code.")
