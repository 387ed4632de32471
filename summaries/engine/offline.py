"""The offline extractive engine: no model, no network, the same sections with real citations.

It picks messages rather than writing prose: key messages by engagement (replies, reactions, mentions,
length), decisions and action items by wording (English keywords plus a few common ones in other
languages), questions by punctuation with replies as the "answered" signal, and links by URL. The
structural signals work in any language; the keywords make English (and a few others) better.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .formats import SummaryFormat
from .normalize import PreparedConversation, PreparedMessage
from .schema import Draft, DraftItem
from .shared_links import extract_links

MODEL_NAME = "local-extractive"

_DECISION = re.compile(
    r"(?i)\b(?:we'?ll|we will|we're going (?:to|with)|decided|decision|let'?s go with|let'?s do|let'?s use|"
    r"agreed|we agree|going with|settled on|final call|approved|ship it|"
    r"decidimos|acordamos|vamos con|on part sur|décidé|on a choisi|entschieden|beschlossen|abbiamo deciso|"
    r"besloten|decidiram|решили|договорились)\b"
)
_SELF_ACTION = re.compile(
    r"(?i)\b(?:i'?ll|i will|i'm going to|i am going to|will do|on it|i can take|i'll take|"
    r"je vais|je m'en occupe|ich werde|ich mache|voy a|me encargo|vou|сделаю)\b"
)
_REQUEST = re.compile(
    r"(?i)(?:\b(?:can you|could you|would you|can someone|could someone|please|pls|plz|need you to|"
    r"por favor|puedes|s'il te pla[iî]t|peux-tu|kannst du|bitte|puoi|per favore)\b)"
)
_TODO = re.compile(
    r"(?i)\b(?:todo|to-do|action item|follow[- ]up|deadline|by (?:monday|tuesday|wednesday|"
    r"thursday|friday|tomorrow|eod|end of day|next week))\b"
)
_QUESTION = re.compile(r"[?？\u037e؟](?:\s|$)|^¿")
_URLS = re.compile(r"https?://\S+")
_CODE_BLOCK = re.compile(r"```[\s\S]*?(?:```|$)")
_PROBLEM = re.compile(
    r"(?i)\b(?:error|exception|traceback|bug|crash(?:es|ed)?|fails?|failing|failed|broken|doesn'?t work|"
    r"not working|timeout|timed out|panic|segfault|regression|stack ?trace|leak|slow|500|404|issue)\b"
)
_SOLUTION = re.compile(
    r"(?i)\b(?:fixed|fix is|the fix|solved|resolved|works now|working now|workaround|turns out|"
    r"the problem was|the issue was|solution|try (?:setting|adding|using|running)|you need to|just need to|"
    r"patched|upgrade to|downgrade to)\b"
)
_TECH = re.compile(
    r"(?i)\b(?:api|schema|database|db|library|framework|migrate|migration|refactor|architecture|deploy|"
    r"endpoint|queue|cache|redis|postgres|sqlite|docker|kubernetes|python|django|typescript|rust|go|"
    r"version|dependency|interface|protocol|service|module|class|function)\b"
)


@dataclass(slots=True)
class _Signals:
    replies: list[int]
    scores: list[float]


def _excerpt(text: str, limit: int = 220) -> str:
    text = _CODE_BLOCK.sub("[code]", text) if "```" in text else text
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _quote(message: PreparedMessage, limit: int = 220) -> str:
    return f"{message.author_name}: {_excerpt(message.text, limit)}"


def _signals(messages: Sequence[PreparedMessage]) -> _Signals:
    replies = [0] * len(messages)
    for message in messages:
        if message.reply_to_index is not None and messages[message.reply_to_index].author_id != message.author_id:
            replies[message.reply_to_index] += 1
    scores = []
    for message in messages:
        length = len(message.text)
        score = (
            2.0 * replies[message.index]
            + 1.5 * math.log1p(message.reactions) * 2
            + min(length / 120, 2.5)
            + 0.5 * len(message.mentioned_names)
            + (0.7 if "://" in message.text else 0.0)
            + (0.7 if message.has_code else 0.0)
        )
        if length < 12:
            score -= 1.0  # "ok", "lol", "+1": engagement noise, not content
        scores.append(score)
    return _Signals(replies=replies, scores=scores)


def _is_question(text: str) -> bool:
    text = _URLS.sub("", _CODE_BLOCK.sub("", text)) if ("://" in text or "```" in text) else text
    return bool(_QUESTION.search(text.strip()))


def _answered(message: PreparedMessage, messages: Sequence[PreparedMessage], signals: _Signals) -> bool:
    if signals.replies[message.index]:
        return True
    following = messages[message.index + 1] if message.index + 1 < len(messages) else None
    # The next message, by someone else, soon after, and not itself a question: most likely the answer.
    return bool(
        following is not None
        and following.author_id != message.author_id
        and following.reply_to_index is None
        and (following.created_at - message.created_at).total_seconds() <= 600
        and not _is_question(following.text)
    )


def _top(candidates: Sequence[PreparedMessage], signals: _Signals, limit: int) -> list[PreparedMessage]:
    best = sorted(candidates, key=lambda m: (-signals.scores[m.index], m.index))[:limit]
    return sorted(best, key=lambda m: m.index)


def _items(messages: Sequence[PreparedMessage], limit: int = 220) -> list[DraftItem]:
    return [DraftItem(text=_quote(m, limit), refs=[m.index]) for m in messages]


def _action_owner(message: PreparedMessage, messages: Sequence[PreparedMessage]) -> str | None:
    text = message.text
    if _SELF_ACTION.search(text):
        return message.author_name
    if message.mentioned_names:
        return message.mentioned_names[0]
    if message.reply_to_index is not None:
        parent = messages[message.reply_to_index]
        if parent.author_id != message.author_id:
            return parent.author_name
    return message.author_name if _TODO.search(text) else None


def _action_items(messages: Sequence[PreparedMessage], signals: _Signals, limit: int) -> list[DraftItem]:
    found = [
        m
        for m in messages
        if (
            _SELF_ACTION.search(m.text)
            or _TODO.search(m.text)
            or (_REQUEST.search(m.text) and (m.mentioned_names or m.reply_to_index is not None or _is_question(m.text)))
        )
        and len(m.text) >= 8
    ]
    return [
        DraftItem(text=_excerpt(m.text), refs=[m.index], owner=_action_owner(m, messages))
        for m in _top(found, signals, limit)
    ]


def _overview(conversation: PreparedConversation, highlights: Sequence[PreparedMessage]) -> DraftItem:
    messages = conversation.messages
    first, last = messages[0].created_at, messages[-1].created_at
    same_day = first.date() == last.date()
    span = (
        f"on {first:%Y-%m-%d} between {first:%H:%M} and {last:%H:%M} UTC"
        if same_day
        else f"between {first:%Y-%m-%d %H:%M} and {last:%Y-%m-%d %H:%M} UTC"
    )
    activity = Counter(m.author_name for m in messages).most_common(3)
    people = ", ".join(f"{name} ({count})" for name, count in activity)
    count = len(messages)
    participants = conversation.participant_count
    text = (
        f"{count} message{'s' if count != 1 else ''} from {participants} participant"
        f"{'s' if participants != 1 else ''} {span}. Most active: {people}."
    )
    return DraftItem(text=text, refs=[m.index for m in highlights[:3]])


def _discussion(
    messages: Sequence[PreparedMessage], signals: _Signals, gap_seconds: float, limit: int
) -> list[DraftItem]:
    """One point per stretch of conversation between notable silences, quoting its liveliest messages."""
    segments: list[list[PreparedMessage]] = [[]]
    for message in messages:
        current = segments[-1]
        if current and (message.created_at - current[-1].created_at).total_seconds() >= gap_seconds:
            segments.append([])
        segments[-1].append(message)
    if len(segments) > limit:
        # Keep the liveliest stretches, in order.
        ranked = sorted(range(len(segments)), key=lambda i: -sum(signals.scores[m.index] for m in segments[i]))
        segments = [segments[i] for i in sorted(ranked[:limit])]
    items: list[DraftItem] = []
    for segment in segments:
        top = _top(segment, signals, 2)
        people = ", ".join(dict.fromkeys(m.author_name for m in segment))
        start, end = segment[0].created_at, segment[-1].created_at
        quotes = " / ".join(_quote(m, 160) for m in top)
        items.append(
            DraftItem(
                text=f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} ({len(segment)} messages; {people}): {quotes}",
                refs=[m.index for m in top],
            )
        )
    return items


def summarize_extractive(conversation: PreparedConversation, fmt: SummaryFormat, *, gap_seconds: float) -> Draft:
    messages = conversation.messages
    signals = _signals(messages)
    count = len(messages)
    scale = max(3, min(12, round(math.sqrt(count))))
    key_limit = 5 if fmt.name == "brief" else scale
    highlights = _top(messages, signals, key_limit)
    questions = [m for m in messages if _is_question(m.text)]
    # "can you ...?" asked of someone is an action item, already listed as one.
    unanswered = [
        m
        for m in questions
        if not _answered(m, messages, signals) and not (m.mentioned_names and _REQUEST.search(m.text))
    ]
    decisions = [m for m in messages if _DECISION.search(m.text)]

    builders: dict[str, Callable[[], list[DraftItem]]] = {
        "overview": lambda: [_overview(conversation, _top(messages, signals, 3))],
        "key_points": lambda: _items(highlights),
        "discussion": lambda: _discussion(messages, signals, gap_seconds, max(5, scale)),
        "decisions": lambda: _items(_top(decisions, signals, scale)),
        "action_items": lambda: _action_items(messages, signals, scale),
        "open_questions": lambda: _items(_top(unanswered, signals, scale)),
        "problems": lambda: _items(_top([m for m in messages if _PROBLEM.search(m.text)], signals, scale)),
        "solutions": lambda: _items(
            _top(
                [
                    m
                    for m in messages
                    if _SOLUTION.search(m.text)
                    or (
                        m.has_code
                        and m.reply_to_index is not None
                        and messages[m.reply_to_index].author_id != m.author_id
                    )
                ],
                signals,
                scale,
            )
        ),
        "code_decisions": lambda: _items(
            _top([m for m in decisions if m.has_code or _TECH.search(m.text)], signals, scale)
        ),
        "links": lambda: [DraftItem(text=link.url, refs=link.positions) for link in extract_links(messages)],
    }
    return Draft(language="", sections={section.name: builders[section.name]() for section in fmt.sections})
