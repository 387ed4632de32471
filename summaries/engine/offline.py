"""The offline extractive engine: no model, no network, the same sections with real citations.

It picks messages rather than writing prose. Decisions come from explicit markers ("Decided: ...", "let's
go with"), wrap-ups ("OK so the fix is ..."), assignments, and proposals others agreed to within a few
messages; action items from commitments ("I'll ..."), requests to someone named or mentioned and the reply
taking them, and assignments ("Sam owns the migration"); open questions are the ones no later message
answered (a reply, or a message soon after on the same words), social formulas left out. Key points
prefer messages that open a topic, carry links, numbers or outcomes, or drew replies and reactions, and
skip what other sections already say. English cues (and a few in other languages) sharpen it; the
structural signals (replies, reactions, mentions, timing) work in any language. Every look-ahead is
windowed (offline_threads.py), so the cost is linear in the conversation.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import offline_cues as cues
from .formats import SummaryFormat
from .normalize import PreparedConversation, PreparedMessage
from .offline_threads import Found, answered, find_actions, find_decisions, is_question
from .schema import Draft, DraftItem
from .shared_links import extract_links

# What results, usage rows and options name as the model when there is none; imported wherever it is needed.
MODEL_NAME = "local-extractive"
_TOPIC_SECTIONS = ("decisions", "action_items", "open_questions")


@dataclass(slots=True)
class _Signals:
    replies: list[int]
    scores: list[float]


def _quote(message: PreparedMessage, limit: int = 220) -> str:
    return f"{message.author_name}: {cues.excerpt(message.text, limit)}"


def _signals(messages: Sequence[PreparedMessage], bits: Sequence[int], gap_seconds: float) -> _Signals:
    """How much each message is worth as a point: engagement, and what it carries."""
    replies = [0] * len(messages)
    for message in messages:
        if message.reply_to_index is not None and messages[message.reply_to_index].author_id != message.author_id:
            replies[message.reply_to_index] += 1
    scores = []
    previous = None
    for message in messages:
        text = message.text
        length = len(text)
        score = (
            2.0 * replies[message.index]
            + 3.0 * math.log1p(message.reactions)
            + min(length / 120, 2.0)
            + 0.5 * len(message.mentioned_names)
            + (1.0 if "://" in text else 0.0)
            + (0.7 if message.has_code else 0.0)
        )
        if length < 12:
            score -= 1.5  # "ok", "lol", "+1": engagement noise, not content
        else:
            flags = bits[message.index]
            if flags & cues.TOPICS:
                score += 1.5
            if flags & cues.OUTCOMES:
                score += 1.0
            if cues.NUMBER.search(text):
                score += 0.5
            if flags & cues.PROBLEMS:
                score += 0.5
            if flags & cues.AGREES:
                score -= 1.0 if length < 40 else 0.5
            if flags & cues.ASKS and all(cues.is_question_sentence(s) for s in cues.sentences(text)):
                score -= 1.0  # the answer usually says more than the question
        if previous is None or (message.created_at - previous.created_at).total_seconds() >= gap_seconds:
            score += 0.5  # opens a stretch of conversation
        previous = message
        scores.append(score)
    return _Signals(replies=replies, scores=scores)


def _top(candidates: Sequence[PreparedMessage], signals: _Signals, limit: int) -> list[PreparedMessage]:
    best = sorted(candidates, key=lambda m: (-signals.scores[m.index], m.index))[:limit]
    return sorted(best, key=lambda m: m.index)


def _items(messages: Sequence[PreparedMessage], limit: int = 220) -> list[DraftItem]:
    return [DraftItem(text=_quote(m, limit), refs=[m.index]) for m in messages]


def _found_items(found: Sequence[Found], signals: _Signals, limit: int, *, owners: bool = False) -> list[DraftItem]:
    def rank(item: Found) -> float:
        return item.weight + sum(signals.scores[i] for i in item.refs) / len(item.refs)

    best = sorted(sorted(found, key=lambda f: (-rank(f), f.index))[:limit], key=lambda f: f.index)
    return [DraftItem(text=f.text, refs=list(f.refs), owner=f.owner if owners else None) for f in best]


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


def _key_points(
    messages: Sequence[PreparedMessage],
    signals: _Signals,
    limit: int,
    *,
    taken: set[int],
    bonus: dict[int, float],
    texts: dict[int, tuple[str, list[int]]],
) -> list[DraftItem]:
    """The best-scoring messages, leaving out what other sections cite and near-repeats of each other."""
    ranked = sorted(
        (m for m in messages if m.index not in taken),
        key=lambda m: (-(signals.scores[m.index] + bonus.get(m.index, 0.0)), m.index),
    )
    chosen: list[tuple[PreparedMessage, frozenset[str]]] = []
    for message in ranked:
        if len(chosen) >= limit:
            break
        if len(message.text) < 12 or cues.is_social(message.text):
            continue
        words = cues.content_words(message.text)
        if any(cues.overlap(words, other) >= 0.7 for _, other in chosen):
            continue
        chosen.append((message, words))
    return [
        DraftItem(text=texts[m.index][0], refs=list(texts[m.index][1])) if m.index in texts else _items([m])[0]
        for m in sorted((m for m, _ in chosen), key=lambda m: m.index)
    ]


def _discussion(
    messages: Sequence[PreparedMessage], signals: _Signals, gap_seconds: float, limit: int
) -> list[DraftItem]:
    """One point per stretch of conversation (split by notable silences, and by "Next: ..." topic openers),
    quoting its liveliest messages."""
    segments: list[list[PreparedMessage]] = [[]]
    for message in messages:
        current = segments[-1]
        if current and (
            (message.created_at - current[-1].created_at).total_seconds() >= gap_seconds
            or (len(current) >= 3 and cues.TOPIC.search(message.text))
        ):
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


def _solutions(
    messages: Sequence[PreparedMessage],
    bits: Sequence[int],
    problems: Sequence[PreparedMessage],
    signals: _Signals,
    limit: int,
) -> list[DraftItem]:
    """Fixes and workarounds, each with the problem it answers (the one replied to, or a recent one on the
    same words) cited beside it."""
    is_problem = {m.index for m in messages if bits[m.index] & cues.PROBLEMS} if problems else set()
    found = [
        m
        for m in messages
        if bits[m.index] & cues.SOLVES
        or (m.has_code and m.reply_to_index is not None and messages[m.reply_to_index].author_id != m.author_id)
    ]
    items = []
    for message in _top(found, signals, limit):
        solved = None
        if message.reply_to_index is not None and message.reply_to_index in is_problem:
            solved = messages[message.reply_to_index]
        else:
            # Nearby, one shared word will do; further back (the fix landing an hour later), two.
            words = cues.content_words(message.text)
            for earlier in range(message.index - 1, max(-1, message.index - 61), -1):
                if earlier in is_problem:
                    shared = len(words & cues.content_words(messages[earlier].text))
                    if shared >= 2 or (shared and message.index - earlier <= 12):
                        solved = messages[earlier]
                        break
        said = " ".join(x for x in cues.sentences(message.text) if not cues.is_question_sentence(x))
        text = f"{message.author_name}: {cues.excerpt(said or message.text)}"
        refs = [message.index]
        if solved is not None:
            text += f" (for: {cues.excerpt(solved.text, 90)})"
            refs.append(solved.index)
        items.append(DraftItem(text=text, refs=refs))
    return items


def summarize_extractive(conversation: PreparedConversation, fmt: SummaryFormat, *, gap_seconds: float) -> Draft:
    messages = conversation.messages
    bits = [cues.scan(m.text) for m in messages]
    signals = _signals(messages, bits, gap_seconds)
    names = cues.Names(messages)
    count = len(messages)
    scale = max(3, min(12, round(math.sqrt(count))))
    wanted = {section.name for section in fmt.sections}

    decisions = find_decisions(messages, names, bits)
    actions = find_actions(messages, names, bits)
    # A request to someone is an action item, a proposal put to the room a decision: neither is open.
    not_open = {f.index for f in actions} | {i for f in decisions for i in f.refs}
    open_questions = [
        m
        for m in messages
        if m.index not in not_open
        and bits[m.index] & cues.ASKS
        and is_question(m.text)
        and cues.asked_of_channel(m.text)
        and not answered(m, messages, signals.replies, bits)
    ]

    sections: dict[str, list[DraftItem]] = {}
    if "decisions" in wanted:
        sections["decisions"] = _found_items(decisions, signals, scale)
    if "action_items" in wanted:
        sections["action_items"] = _found_items(actions, signals, scale, owners=True)
    if "open_questions" in wanted:
        sections["open_questions"] = _items(_top(open_questions, signals, scale))
    taken = {i for name in _TOPIC_SECTIONS for item in sections.get(name, ()) for i in item.refs}
    # With no such sections (brief), decisions and commitments are what the key points should carry.
    bonus: dict[int, float] = {}
    texts: dict[int, tuple[str, list[int]]] = {}
    if not taken:
        for f in actions:
            bonus[f.index] = 1.0
        for f in decisions:
            bonus[f.index], texts[f.index] = 2.5, (f.text, f.refs)
    key_limit = 5 if fmt.name == "brief" else max(4, min(8, scale + 1))
    problems = (
        _top([m for m in messages if bits[m.index] & cues.PROBLEMS], signals, scale) if "problems" in wanted else []
    )

    builders: dict[str, Callable[[], list[DraftItem]]] = {
        "overview": lambda: [_overview(conversation, _top(messages, signals, 3))],
        "key_points": lambda: _key_points(messages, signals, key_limit, taken=taken, bonus=bonus, texts=texts),
        "discussion": lambda: _discussion(messages, signals, gap_seconds, max(5, scale)),
        "problems": lambda: _items(problems),
        "solutions": lambda: _solutions(messages, bits, problems, signals, scale),
        "code_decisions": lambda: _found_items(
            [f for f in decisions if not f.assignment and (cues.TECH.search(f.text) or messages[f.index].has_code)],
            signals,
            scale,
        ),
        "links": lambda: [DraftItem(text=link.url, refs=link.positions) for link in extract_links(messages)],
        "for_you": list,  # filled by the pipeline, for the offline engine and the LLM alike
        "still_open": list,  # filled by the schedule's run from earlier runs (engine/carry.py)
    }
    return Draft(
        language="",
        sections={
            section.name: sections[section.name] if section.name in sections else builders[section.name]()
            for section in fmt.sections
        },
    )
