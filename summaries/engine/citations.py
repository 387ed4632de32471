"""The one place where the model's short references and real Discord message ids meet.

A position is a message's place in the prepared conversation. A chunk's transcript writes it as a ref
counted from the chunk's first message, in decimal: under o200k and cl100k every number below 1000 is a
single token (base-36 would split "1k" into a digit and a letter token), and counted from the chunk's start
most refs stay below 1000 however long the window (counted from the conversation's start, four in five
lines of a 5,000-message window paid a second token for theirs). The map step adds the chunk's start back
(`verify_refs(..., first=)`), so drafts, reduce inputs and the cache only ever hold positions, and a
reduce cites the original messages directly.

Free-text answers (mention Q&A) cite inline instead, as "[n]" counted from 1: members read those numbers
in the reply, next to the links they become.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .normalize import PreparedMessage
from .render.links import jump_url

_INLINE_REF = re.compile(r"\[(\d{1,4})\]")


def ref_for(index: int, first: int = 0) -> str:
    """The ref of position `index` in a transcript whose refs count from position `first`."""
    return str(index - first)


def inline_ref_for(index: int) -> str:
    return f"[{index + 1}]"


def link_inline_refs(text: str, shown: Sequence[PreparedMessage], guild_id: int | None) -> str:
    """Each "[n]" the model wrote becomes a jump link to that message; numbers of messages it was not
    shown (invented ones) are dropped."""
    by_number = {m.index + 1: m for m in shown}

    def replace(match: re.Match[str]) -> str:
        message = by_number.get(int(match[1]))
        if message is None:
            return ""
        return f"[{match[0]}]({jump_url(guild_id, message.channel_id, message.message_id)})"

    return _INLINE_REF.sub(replace, text).strip()


def parse_ref(value: object) -> int | None:
    """A reference as the model wrote it (42, "42", "#42", "^42") to a position, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str):
        text = value.strip().lstrip("#^").strip()
        if text.isdigit():
            return int(text)
    return None


def verify_refs(raw_refs: Iterable[object], allowed: set[int] | range, first: int = 0) -> list[int]:
    """The positions of the refs that were in the model's input (`allowed`, as the input wrote them, counted
    from position `first`), in first-cited order, without repeats."""
    seen: set[int] = set()
    kept: list[int] = []
    for raw in raw_refs:
        ref = parse_ref(raw)
        if ref is not None and ref in allowed and ref not in seen:
            seen.add(ref)
            kept.append(ref + first)
    return kept


class CitationMap:
    """Positions to Discord ids (and back) for one prepared conversation."""

    __slots__ = ("_messages", "_position_of")

    def __init__(self, messages: Sequence[PreparedMessage]) -> None:
        self._messages = messages
        self._position_of: dict[int, int] | None = None

    def message_ids(self, positions: Iterable[int]) -> list[int]:
        return [self._messages[p].message_id for p in positions]

    def channel_ids(self, positions: Iterable[int]) -> dict[int, int]:
        return {self._messages[p].message_id: self._messages[p].channel_id for p in positions}

    def positions(self, message_ids: Iterable[int]) -> list[int] | None:
        """Back from ids (as stored in the chunk cache) to positions; None if one is not here."""
        if self._position_of is None:
            self._position_of = {m.message_id: m.index for m in self._messages}
        found = [self._position_of.get(i) for i in message_ids]
        if any(p is None for p in found):
            return None
        return [p for p in found if p is not None]
