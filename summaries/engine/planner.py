"""Planning: how many calls, over which messages, within the model's input budget.

Chunks are cut at message boundaries only, and preferably at the longest silence near the end of a full
chunk, so a chunk tends to hold whole conversations rather than the two halves of one.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from summarybot.errors import InvalidInput

from .normalize import PreparedMessage
from .transcript import line_costs

__all__ = [
    "Budget",
    "Chunk",
    "detach_cross_period_replies",
    "group_for_reduce",
    "line_costs",
    "period_ranges",
    "plan_chunks",
    "plan_periods",
    "split_chunk",
]

# A boundary is looked for in the last part of a chunk only: cutting at 10% full would waste calls.
MIN_FILL = 0.6


@dataclass(frozen=True, slots=True)
class Chunk:
    start: int  # position of the first message
    end: int  # one past the last
    tokens: int  # upper bound of the chunk's transcript tokens, legend included

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Budget:
    """Tokens one call may spend on its input (the transcript or the partial summaries)."""

    context_tokens: int
    overhead_tokens: int  # system prompt, schema, chat framing, header
    output_tokens: int
    max_chunk_tokens: int

    @property
    def input_tokens(self) -> int:
        return min(self.context_tokens - self.overhead_tokens - self.output_tokens, self.max_chunk_tokens)

    def check(self) -> None:
        # A reduce must fit at least two partial summaries, or the tree would never shrink.
        if self.input_tokens < 2 * self.output_tokens + 64:
            raise InvalidInput(
                f"The model's context ({self.context_tokens} tokens) is too small for summaries of "
                f"{self.output_tokens} tokens: raise the context size or lower the output reserve."
            )


def plan_chunks(
    messages: Sequence[PreparedMessage],
    costs: Sequence[int],
    legend_costs: dict[int, int],
    budget: int,
    *,
    gap_seconds: float,
) -> list[Chunk]:
    """Consecutive chunks covering every message, each within `budget` tokens.

    `costs[i]` bounds message i's line, `legend_costs[author_id]` the author's legend entry, paid once per
    chunk the author appears in. A message heavier than the budget on its own cannot happen: preparation
    truncates messages to half the budget.
    """
    chunks: list[Chunk] = []
    n = len(messages)
    # Plain lists and a timedelta threshold: this loop visits every message (some twice) per request.
    authors_of = [m.author_id for m in messages]
    times = [m.created_at for m in messages]
    notable = timedelta(seconds=gap_seconds)
    fill = MIN_FILL * budget
    legend = legend_costs.get
    start = 0
    while start < n:
        used = 0
        authors: set[int] = set()
        best_cut = -1
        best_gap = timedelta(0)
        best_used = 0
        position = start
        cut = n
        while position < n:
            author = authors_of[position]
            cost = costs[position]
            if author not in authors:
                cost += legend(author, 0)
                authors.add(author)
            if used + cost > budget and position > start:
                cut = best_cut if best_cut > start and best_gap >= notable else position
                if cut == best_cut:
                    used = best_used
                break
            if used >= fill and position > start:
                gap = times[position] - times[position - 1]
                if gap >= best_gap:
                    best_cut, best_gap, best_used = position, gap, used
            used += cost
            position += 1
        chunks.append(Chunk(start=start, end=cut, tokens=used))
        start = cut
    return chunks


def period_ranges(messages: Sequence[PreparedMessage], boundaries: Iterable[datetime]) -> list[range]:
    """The messages between consecutive boundaries, as consecutive non-empty ranges covering them all.

    A message stamped exactly at a boundary opens the period that starts there, as a window [since, until)
    holds its `since` and not its `until`.
    """
    times = [m.created_at for m in messages]
    periods: list[range] = []
    start = 0
    for boundary in sorted(set(boundaries)):
        cut = bisect.bisect_left(times, boundary, lo=start)
        if cut > start:
            periods.append(range(start, cut))
            start = cut
    if start < len(messages):
        periods.append(range(start, len(messages)))
    return periods


def detach_cross_period_replies(messages: Sequence[PreparedMessage], periods: Sequence[range]) -> None:
    """Forget, in place, which message of an earlier period a message replies to.

    Its period summarized alone never had that message, so neither its transcript (`^ref`), its cost nor
    its cache fingerprint may depend on it; the reply's own text is kept.
    """
    for period in periods:
        for message in messages[period.start : period.stop]:
            if message.reply_to_index is not None and message.reply_to_index < period.start:
                message.reply_to_index = None


def plan_periods(
    messages: Sequence[PreparedMessage],
    costs: Sequence[int],
    legend_costs: dict[int, int],
    budget: int,
    *,
    periods: Sequence[range],
    gap_seconds: float,
) -> list[Chunk]:
    """`plan_chunks` over each period on its own: no chunk straddles two, and a period's chunks are the ones
    it gets as a whole window (given costs from `period_line_costs`, which do not depend on the window)."""
    chunks: list[Chunk] = []
    for period in periods:
        start, stop = period.start, period.stop
        planned = plan_chunks(messages[start:stop], costs[start:stop], legend_costs, budget, gap_seconds=gap_seconds)
        chunks.extend(Chunk(start + c.start, start + c.end, c.tokens) for c in planned)
    return chunks


def split_chunk(chunk: Chunk, messages: Sequence[PreparedMessage], costs: Sequence[int]) -> tuple[Chunk, Chunk]:
    """Two halves at the longest silence in the middle half, for a chunk the model refused as too long."""
    if chunk.size < 2:
        raise ValueError("a single message cannot be split")
    low = max(chunk.start + 1, chunk.start + chunk.size // 4)
    high = max(low, min(chunk.end - 1, chunk.end - chunk.size // 4))
    middle = (chunk.start + chunk.end) / 2

    def preference(i: int) -> tuple[float, float]:
        return ((messages[i].created_at - messages[i - 1].created_at).total_seconds(), -abs(i - middle))

    cut = max(range(low, high + 1), key=preference)
    first = sum(costs[chunk.start : cut])
    second = sum(costs[cut : chunk.end])
    legend = max(0, chunk.tokens - first - second)  # each half's legend is at most the whole one's
    return Chunk(chunk.start, cut, first + legend), Chunk(cut, chunk.end, second + legend)


def group_for_reduce(sizes: Sequence[int], budget: int) -> list[range]:
    """Consecutive groups of partial summaries, each within the budget and of at least two when possible."""
    groups: list[range] = []
    start = 0
    used = 0
    for index, size in enumerate(sizes):
        if used + size > budget and index - start >= 2:
            groups.append(range(start, index))
            start, used = index, 0
        used += size
    groups.append(range(start, len(sizes)))
    if len(groups) > 1 and len(groups[-1]) == 1:
        # A lone trailing summary would cost a call for nothing: give it to the previous group if it fits,
        # otherwise carry it up a level as is (a group of one is passed through, not re-summarized).
        last, previous = groups[-1], groups[-2]
        if sum(sizes[i] for i in previous) + sizes[last.start] <= budget:
            groups[-2:] = [range(previous.start, last.stop)]
    return groups
