"""The LLM path: one call when the conversation fits, otherwise map over chunks then reduce level by level.

Every call goes through `_call`, which holds the concurrency semaphore, enforces the per-request token
cap, validates the JSON (one repair attempt), and drops citations that were not in that call's input.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from summarybot.errors import BudgetExceeded

from ..llm.base import ChatProvider, ChatRequest, ChatResponse
from ..llm.errors import LLMBadOutput, LLMContextLengthExceeded
from .cache import ChunkCache, chunk_cache_key, chunk_fingerprint
from .citations import CitationMap, ref_for, verify_refs
from .estimate import Plan
from .formats import SummaryFormat
from .options import SummaryOptions
from .planner import Chunk, group_for_reduce, split_chunk
from .prompts import chunk_system_prompt, reduce_system_prompt, repair_prompt
from .schema import Draft, DraftItem, SchemaError, json_schema, parse_reply
from .transcript import escape_text, render_chunk
from .types import CallUsage, Usage

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[str, int, int], None]
# Awaited after every LLM call with that call's usage and the model that answered: spend is reported as it
# happens, so a summary interrupted halfway has still accounted for the calls it made.
CallCallback = Callable[[CallUsage, str], Awaitable[None]]


def draft_from_reply(data: dict[str, Any], fmt: SummaryFormat, allowed: set[int] | range, first: int = 0) -> Draft:
    """A validated reply to a Draft. Invented refs are dropped; a point left without any is kept, flagged.
    Refs are read as counted from position `first` (a chunk's transcript counts from its first message)."""
    sections: dict[str, list[DraftItem]] = {}
    for section in fmt.model_sections:
        items: list[DraftItem] = []
        for raw in data.get(section.name, []):
            text = raw["text"].strip()
            if not text:
                continue
            refs = verify_refs(raw.get("refs", []), allowed, first)
            owner = raw.get("owner") if section.has_owner else None
            items.append(DraftItem(text=text, refs=refs, owner=(owner or None), unverified=not refs))
        sections[section.name] = items
    return Draft(language=str(data.get("language", "")).strip(), sections=sections)


def render_draft(draft: Draft, fmt: SummaryFormat, label: str) -> str:
    """A partial summary as a reduce input: plain lines, each point ending with the refs it cites."""
    lines = [label]
    for section in fmt.model_sections:
        items = draft.sections.get(section.name, [])
        if not items:
            continue
        lines.append(f"{section.name}:")
        for item in items:
            # The model's text comes from members' words: one line per point, whatever it holds.
            owner = f" (owner: {escape_text(item.owner)})" if item.owner else ""
            refs = ", ".join(ref_for(r) for r in item.refs)
            lines.append(f"- {escape_text(item.text)}{owner} [{refs}]")
    return "\n".join(lines)


def draft_to_cache(draft: Draft, citations: CitationMap) -> dict[str, Any]:
    return {
        "language": draft.language,
        "sections": {
            name: [
                {
                    "text": item.text,
                    "message_ids": citations.message_ids(item.refs),
                    "owner": item.owner,
                    "unverified": item.unverified,
                }
                for item in items
            ]
            for name, items in draft.sections.items()
        },
    }


def draft_from_cache(value: dict[str, Any], citations: CitationMap) -> Draft | None:
    sections: dict[str, list[DraftItem]] = {}
    for name, items in value.get("sections", {}).items():
        converted: list[DraftItem] = []
        for item in items:
            refs = citations.positions(item.get("message_ids", []))
            if refs is None:
                return None  # an entry from another window that does not line up: treat as a miss
            converted.append(
                DraftItem(
                    text=item["text"], refs=refs, owner=item.get("owner"), unverified=item.get("unverified", False)
                )
            )
        sections[name] = converted
    return Draft(language=value.get("language", ""), sections=sections)


async def _run_all(coroutines: Sequence[Coroutine[Any, Any, list[Draft]]]) -> list[Draft]:
    """Run concurrently, cancelling the others on the first failure (TaskGroup), and raise that failure
    itself: callers and the job wrapper classify one SummaryBotError, not an ExceptionGroup."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coroutines]
    except BaseExceptionGroup as failure:
        error: BaseException = failure
        while isinstance(error, BaseExceptionGroup):
            error = error.exceptions[0]
        raise error from None
    return [draft for task in tasks for draft in task.result()]


class MapReduceSummarizer:
    def __init__(
        self,
        *,
        provider: ChatProvider,
        plan: Plan,
        options: SummaryOptions,
        fmt: SummaryFormat,
        usage: Usage,
        cache: ChunkCache | None,
        on_progress: ProgressCallback | None,
        on_call: CallCallback | None = None,
    ) -> None:
        self.provider = provider
        self.plan = plan
        self.options = options
        self.fmt = fmt
        self.usage = usage
        self.cache = cache
        self.on_progress = on_progress
        self.on_call = on_call
        self.messages = plan.conversation.messages
        self.citations = CitationMap(self.messages)
        self.gap_seconds = options.notable_gap_minutes * 60
        self.semaphore = asyncio.Semaphore(options.map_concurrency)
        self.model_seen = ""
        self.chunk_count = 0
        self.reduce_levels = 0
        self._mapped = 0
        self._reduced = 0
        self._map_total = len(plan.chunks)
        # Chunks planned on period boundaries are each some shorter window's own chunks: their prompt names no
        # position in this window, and a period that was a shorter run's only chunk is found under that run's key.
        self.aligned = bool(options.chunk_boundaries)

    def _progress(self, stage: str, done: int, total: int) -> None:
        if self.on_progress is not None:
            self.on_progress(stage, done, total)

    async def run(self) -> Draft:
        chunks = self.plan.chunks
        total = len(chunks)
        self._progress("summarizing", 0, total)
        drafts = await _run_all([self._map(chunk, part, total) for part, chunk in enumerate(chunks, 1)])
        self.chunk_count = len(drafts)
        if len(drafts) == 1:
            return drafts[0]
        return await self._reduce_all(drafts)

    # --- map -----------------------------------------------------------------------------------

    async def _map(self, chunk: Chunk, part: int, parts: int) -> list[Draft]:
        chunk_messages = self.messages[chunk.start : chunk.end]
        stage = "single" if parts == 1 else "map"
        key = None
        if self.cache is not None:
            fingerprint = chunk_fingerprint(chunk_messages, self.messages)
            key = self._cache_key(fingerprint, stage)
            # A quiet day was its daily run's single chunk, summarized as a whole conversation: in the week
            # it serves as that day's part (a reduce input like any other) rather than being asked again.
            lookups = [key, self._cache_key(fingerprint, "single")] if self.aligned and stage == "map" else [key]
            for lookup in lookups:
                cached = await self.cache.get(lookup)
                draft = draft_from_cache(cached, self.citations) if cached is not None else None
                if draft is not None:
                    self.usage.cached_chunks += 1
                    self._mapped += 1
                    self._progress("summarizing", self._mapped, self._map_total)
                    return [draft]
        system = chunk_system_prompt(self.fmt, self.options.language, part=part, parts=parts, numbered=not self.aligned)
        transcript = render_chunk(chunk_messages, self.gap_seconds)
        try:
            draft = await self._call(
                system,
                transcript,
                allowed=range(chunk.size),
                first=chunk.start,
                stage=stage,
                level=0,
                estimated=self.plan.budget.overhead_tokens + chunk.tokens,
            )
        except LLMContextLengthExceeded:
            if chunk.size < 2:
                raise
            # The provider's window is smaller than we were told, or its tokenizer counts differently:
            # halve this chunk and carry on rather than fail the whole request.
            logger.warning("chunk of %d messages refused as too long; splitting it", chunk.size)
            first, second = split_chunk(chunk, self.messages, self.plan.costs)
            self._map_total += 1
            return await _run_all([self._map(first, part, parts + 1), self._map(second, part, parts + 1)])
        if self.cache is not None and key is not None:
            await self.cache.set(key, draft_to_cache(draft, self.citations))
        self._mapped += 1
        self._progress("summarizing", self._mapped, self._map_total)
        return [draft]

    def _cache_key(self, fingerprint: str, stage: str) -> str:
        return chunk_cache_key(
            fingerprint=fingerprint,
            stage=stage,
            format_name=self.fmt.name,
            language=self.options.language,
            model=self.options.model,
        )

    # --- reduce --------------------------------------------------------------------------------

    async def _reduce_all(self, drafts: list[Draft]) -> Draft:
        counter = self.plan.counter
        budget = self.plan.budget.input_tokens
        while len(drafts) > 1:
            self.reduce_levels += 1
            level = self.reduce_levels
            texts = [render_draft(d, self.fmt, f"Part {i}:") for i, d in enumerate(drafts, 1)]
            sizes = [counter.count(t) + 2 for t in texts]
            groups = group_for_reduce(sizes, budget)
            calls = [g for g in groups if len(g) > 1]
            self._progress("reducing", 0, len(calls))
            self._reduced = 0
            drafts = await _run_all([self._reduce_group(g, drafts, texts, sizes, level, len(calls)) for g in groups])
        return drafts[0]

    async def _reduce_group(
        self,
        indexes: range,
        drafts: Sequence[Draft],
        texts: Sequence[str],
        sizes: Sequence[int],
        level: int,
        calls: int,
    ) -> list[Draft]:
        if len(indexes) == 1:
            return [drafts[indexes.start]]  # nothing to merge it with at this level: it moves up as is
        result = await self._reduce(
            [drafts[i] for i in indexes], [texts[i] for i in indexes], [sizes[i] for i in indexes], level
        )
        self._reduced += 1
        self._progress("reducing", self._reduced, calls)
        return result

    async def _reduce(
        self, drafts: Sequence[Draft], texts: Sequence[str], sizes: Sequence[int], level: int
    ) -> list[Draft]:
        allowed: set[int] = set()
        for draft in drafts:
            allowed |= draft.cited()
        try:
            merged = await self._call(
                reduce_system_prompt(self.fmt, self.options.language),
                "\n\n".join(texts),
                allowed=allowed,
                stage="reduce",
                level=level,
                estimated=self.plan.budget.overhead_tokens + sum(sizes),
            )
        except LLMContextLengthExceeded:
            if len(drafts) < 3:
                raise
            logger.warning("reduce of %d summaries refused as too long; splitting it", len(drafts))
            middle = len(drafts) // 2
            # Fewer inputs per call: the next level merges the two results.
            return [
                *(await self._reduce(drafts[:middle], texts[:middle], sizes[:middle], level)),
                *(await self._reduce(drafts[middle:], texts[middle:], sizes[middle:], level)),
            ]
        return [merged]

    # --- one call ------------------------------------------------------------------------------

    async def _call(
        self,
        system: str,
        user: str,
        *,
        allowed: set[int] | range,
        stage: str,
        level: int,
        estimated: int,
        first: int = 0,
    ) -> Draft:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        async with self.semaphore:
            response = await self._chat(messages, stage, level, estimated)
            try:
                data = parse_reply(response.content, self.fmt)
            except SchemaError as error:
                logger.info("invalid JSON from the model at stage %s (%s); asking once for a repair", stage, error)
                repair = [
                    *messages,
                    {"role": "assistant", "content": response.content},
                    {"role": "user", "content": repair_prompt(str(error))},
                ]
                response = await self._chat(repair, stage, level, estimated + self.plan.budget.output_tokens + 64)
                try:
                    data = parse_reply(response.content, self.fmt)
                except SchemaError as second:
                    raise LLMBadOutput(
                        f"The model's reply was not valid summary JSON, even after a repair attempt: {second}"
                    ) from None
        return draft_from_reply(data, self.fmt, allowed, first)

    async def _chat(self, messages: list[dict[str, str]], stage: str, level: int, estimated: int) -> ChatResponse:
        cap = self.options.max_prompt_tokens
        if self.usage.prompt_tokens + estimated > cap:
            raise BudgetExceeded(
                f"Stopping before another call: this request has used {self.usage.prompt_tokens} prompt tokens "
                f"and the next call needs about {estimated}, over the per-request cap of {cap}.",
                details={"used_prompt_tokens": self.usage.prompt_tokens, "max_prompt_tokens": cap},
            )
        request = ChatRequest(
            messages=messages,
            json_schema=json_schema(self.fmt.name),
            max_output_tokens=self.plan.budget.output_tokens,
            temperature=self.options.temperature,
            estimated_prompt_tokens=estimated,
            purpose=f"summary_{stage}",
        )
        response = await self.provider.chat(request)
        self.model_seen = response.model or self.model_seen
        call = CallUsage(
            stage=stage,
            level=level,
            prompt_tokens=response.prompt_tokens,
            completion_tokens=response.completion_tokens,
            price_factor=response.price_factor,
        )
        self.usage.add_call(call)
        if self.on_call is not None:
            await self.on_call(call, response.model or self.provider.model)
        return response
