"""The chunk-summary cache: a tiny async protocol, an in-memory implementation, and the cache key.

A cached chunk summary cites Discord message ids, not positions, and its key hashes the chunk's content
(ids, authors, times, texts) rather than its transcript, so the same stretch of conversation summarized
again inside a different window (where positions shift) still hits.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol

from .normalize import PreparedMessage
from .prompts import PROMPT_VERSION


class ChunkCache(Protocol):
    """Stores JSON-able dicts. Async because the real one (summaries/chunk_cache.py) may hit a database."""

    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def set(self, key: str, value: dict[str, Any]) -> None: ...


class InMemoryChunkCache:
    """A bounded LRU dict, for tests, benchmarks and one-off command runs."""

    def __init__(self, max_entries: int = 1024) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    async def get(self, key: str) -> dict[str, Any] | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    async def set(self, key: str, value: dict[str, Any]) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)


def chunk_fingerprint(chunk: Sequence[PreparedMessage], all_messages: Sequence[PreparedMessage]) -> str:
    digest = hashlib.sha256()
    for message in chunk:
        parent = all_messages[message.reply_to_index].message_id if message.reply_to_index is not None else 0
        digest.update(
            f"{message.message_id}\x1f{message.author_id}\x1f{message.author_name}\x1f{parent}\x1f"
            f"{message.created_at.timestamp():.0f}\x1f{message.text}\x1e".encode()
        )
    return digest.hexdigest()


def chunk_cache_key(*, fingerprint: str, stage: str, format_name: str, language: str, model: str) -> str:
    parts = f"{fingerprint}\x1f{stage}\x1f{format_name}\x1f{language}\x1f{PROMPT_VERSION}\x1f{model}"
    return "chunk:" + hashlib.sha256(parts.encode()).hexdigest()
