"""The compact chat-log format the model reads.

    Chat log from 2024-05-01 12:00 UTC. People: a=Alice, b=Bob Smith, c="Eve, the \\"admin\\""
    0 a: we should move the db
    1 b ^0: agreed, after the release\nsee the plan
    2 a +95m: done
    3 c ^before: that was settled last week

Each line: reference, author alias, the time since the previous line only when the silence is notable,
`^ref` for a reply (`^before` when the message replied to is before the chunk), then the text. Refs count
from the chunk's first message (citations.py), so most are one token however long the window. Against
`Alice (2024-05-01T12:00:00+00:00): ...` this drops the timestamp (about 15 tokens) and repeats a one-token alias instead of the name.

Members write the text and choose their names, so neither may forge the structure: every message is
exactly one line (a line break inside it is written `\n`, a backslash `\\`), and a name that could be
read as legend or line syntax is written as a JSON string. Plain names and plain text, nearly all of them,
are written as they are and cost nothing more.

Costs are counted per message once (`message.tokens`, the escaped text alone) and bounded here per line, so the
planner can size chunks without rendering them.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Sequence
from datetime import datetime, timedelta

from .citations import inline_ref_for, ref_for
from .compact import chunk_texts
from .normalize import PreparedMessage
from .tokens import TokenCounter

LEGEND_SEPARATOR = ", "
# Everything a model, or str.splitlines(), could read as the end of a line; and the backslash, escaped so
# that `\n` in a message always means a line break it contained.
_ESCAPED = re.compile(r"\\|\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
# Characters that would make a bare name ambiguous in the legend ("a=Alice, b=Bob") or in a Q&A line
# ("[3] Bob: text"); a name holding one, or any unprintable character, is quoted.
_NAME_SYNTAX = frozenset('"\\,=:[]^')
_JSON_UNESCAPED_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}
# Upper bounds in tokens: alias (<=2), ": " and the newline, plus one for the text's first token merging.
# A ref costs one token per three digits (both encodings group digits by three).
_LINE_BASE_COST = 5
_GAP_COST = 4  # " +95m"
_REPLY_BASE_COST = 1  # " ^"


def alias_for(position: int) -> str:
    """a, b, ... z, aa, ab, ...: single lowercase letters are one token each."""
    letters = string.ascii_lowercase
    alias = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        alias = letters[rest] + alias
    return alias


def _escape(match: re.Match[str]) -> str:
    return "\\\\" if match[0] == "\\" else "\\n"


def escape_text(text: str) -> str:
    """A message's text as one line: each line break written `\\n`, each backslash doubled.

    The common case, printable text without a backslash, is returned as it is after two scans in C.
    """
    if text.isprintable() and "\\" not in text:
        return text
    return _ESCAPED.sub(_escape, text)


def quote_name(name: str) -> str:
    """A display name as the legend and Q&A lines show it: bare when it is plain, otherwise a JSON string
    (a bare name never holds a quote, so a leading quote always starts one)."""
    if name and name.isprintable() and name == name.strip() and _NAME_SYNTAX.isdisjoint(name):
        return name
    # json.dumps escapes quotes, backslashes and C0 controls; not these three line breaks.
    return json.dumps(name, ensure_ascii=False).translate(_JSON_UNESCAPED_BREAKS)


def format_gap(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"+{minutes}m"
    if minutes < 48 * 60:
        return f"+{minutes // 60}h"
    return f"+{minutes // 1440}d"


def line_costs(messages: Sequence[PreparedMessage], gap_seconds: float) -> list[int]:
    """An upper bound of the tokens `render_chunk` spends on each message's line, whatever chunk it lands
    in (the gap marker is counted whenever the silence before it is notable, even at a chunk's start).

    Inline arithmetic rather than a call per message: this runs once per message of every request. Refs
    are counted at their position's width, a bound of what any chunk writes (it counts from its own start).
    """
    gap = timedelta(seconds=gap_seconds)
    costs: list[int] = []
    append = costs.append
    previous_time: datetime | None = None
    for message in messages:
        index = message.index
        cost = message.tokens + _LINE_BASE_COST + (1 if index < 1000 else 2 if index < 1_000_000 else 3)
        created_at = message.created_at
        if previous_time is not None and created_at - previous_time >= gap:
            cost += _GAP_COST
        reply = message.reply_to_index
        if reply is not None:
            cost += _REPLY_BASE_COST + (1 if reply < 1000 else 2 if reply < 1_000_000 else 3)
        previous_time = created_at
        append(cost)
    return costs


# Refs of up to six digits: the width a cost counts for every ref when periods are planned alone, since a
# message's position differs between its day's window and the week's (a million messages is far past any
# window the per-request token cap lets through).
PERIOD_REF_TOKENS = 2


def period_line_costs(messages: Sequence[PreparedMessage], periods: Sequence[range], gap_seconds: float) -> list[int]:
    """`line_costs` for periods planned alone: the same bound whether a period is the whole window or part
    of a longer one. Refs are counted at a fixed width rather than their position's, and no silence is
    counted before a period's first message (nothing precedes it when it is summarized alone).

    Replies to an earlier period must already be detached (planner.detach_cross_period_replies).
    """
    gap = timedelta(seconds=gap_seconds)
    line = _LINE_BASE_COST + PERIOD_REF_TOKENS
    reply = _REPLY_BASE_COST + PERIOD_REF_TOKENS
    costs: list[int] = []
    append = costs.append
    for period in periods:
        previous_time: datetime | None = None
        for message in messages[period.start : period.stop]:
            cost = message.tokens + line
            created_at = message.created_at
            if previous_time is not None and created_at - previous_time >= gap:
                cost += _GAP_COST
            if message.reply_to_index is not None:
                cost += reply
            previous_time = created_at
            append(cost)
    return costs


def legend_entry(alias: str, name: str) -> str:
    return f"{alias}={quote_name(name)}"


def legend_entry_cost(name: str, counter: TokenCounter) -> int:
    return counter.count(legend_entry("zz", name)) + 1  # + the separator


def header(start: datetime) -> str:
    return f"Chat log from {start.strftime('%Y-%m-%d %H:%M UTC')}. People: "


# A reply to a message the chunk does not hold: the model cannot read it, but knows the line answers something.
REPLY_BEFORE_CHUNK = "before"


def render_chunk(messages: Sequence[PreparedMessage], gap_seconds: float) -> str:
    """The transcript of consecutive messages, with its own alias legend and refs counted from its first
    message: each message's `shown` text (links short, long blocks cut), repeats within the chunk written
    once (compact.chunk_texts)."""
    if not messages:
        return ""
    first = messages[0].index
    aliases: dict[int, str] = {}
    names: list[str] = []
    lines: list[str] = []
    previous: PreparedMessage | None = None
    for message, text in zip(messages, chunk_texts(messages), strict=True):
        alias = aliases.get(message.author_id)
        if alias is None:
            alias = aliases[message.author_id] = alias_for(len(aliases))
            names.append(legend_entry(alias, message.author_name))
        parts = [ref_for(message.index, first), " ", alias]
        if previous is not None:
            gap = (message.created_at - previous.created_at).total_seconds()
            if gap >= gap_seconds:
                parts.append(" " + format_gap(gap))
        reply = message.reply_to_index
        if reply is not None:
            # Never longer than the ref line_costs counted: " ^before" is two tokens, as " ^0" is.
            parts.append(" ^" + (ref_for(reply, first) if reply >= first else REPLY_BEFORE_CHUNK))
        parts.append(": ")
        parts.append(escape_text(text))
        lines.append("".join(parts))
        previous = message
    return header(messages[0].created_at) + LEGEND_SEPARATOR.join(names) + "\n" + "\n".join(lines)


def render_recent(
    messages: Sequence[PreparedMessage], counter: TokenCounter, budget: int
) -> tuple[str, list[PreparedMessage]]:
    """Mention Q&A's transcript: `[n] Author: text` lines, numbered as the answer will cite them, the
    newest kept first when the budget runs out (recent context answers most questions).

    Returns the transcript and the messages in it, oldest first.
    """
    kept: list[str] = []
    shown: list[PreparedMessage] = []
    spent = 0
    for message in reversed(messages):
        line = f"{inline_ref_for(message.index)} {quote_name(message.author_name)}: {escape_text(message.text)}"
        cost = counter.count(line) + 1
        if spent + cost > budget:
            break
        kept.append(line)
        shown.append(message)
        spent += cost
    return "\n".join(reversed(kept)), list(reversed(shown))


def render_plain(messages: Sequence[PreparedMessage]) -> str:
    """The naive `author (ISO timestamp): text` format, the benchmark's point of comparison."""
    return "\n".join(f"{m.author_name} ({m.created_at.isoformat()}): {m.text}" for m in messages)
