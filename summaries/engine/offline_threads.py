"""What the offline engine finds across a few messages: decisions (a marker, or a proposal others agreed
to), action items with owners (commitments, requests and the replies taking them, assignments) and
questions left open.

Every look-ahead is bounded by a window of a few messages and minutes, so the cost stays linear in the
length of the conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from . import offline_cues as cues
from .normalize import PreparedMessage

WINDOW = 6  # messages looked at after a proposal, a request or a question
WINDOW_SECONDS = 30 * 60
IMMEDIATE_SECONDS = 600


@dataclass(slots=True)
class Found:
    """A decision or an action item: the message it rests on, and every message that supports it."""

    index: int
    text: str
    refs: list[int]
    words: frozenset[str]
    owner: str | None = None
    agreed_by: list[str] = field(default_factory=list)
    explicit: bool = False
    assignment: bool = False
    weight: float = 0.0


def _window(messages: Sequence[PreparedMessage], index: int) -> range:
    start = messages[index].created_at
    stop = index + 1
    while (
        stop < len(messages)
        and stop <= index + WINDOW
        and (messages[stop].created_at - start).total_seconds() <= WINDOW_SECONDS
    ):
        stop += 1
    return range(index + 1, stop)


def _is_agreement(message: PreparedMessage) -> bool:
    return bool(cues.AGREEMENT.search(message.text)) and not cues.DISAGREEMENT.search(message.text)


# --- decisions --------------------------------------------------------------------------------------


def _decision_kind(message: PreparedMessage, names: cues.Names, bits: int) -> tuple[str, str] | None:
    """("explicit" | "assignment" | "proposal", the sentences to quote) for a message that decides or proposes."""
    text = message.text
    if not bits & (cues.DECIDES | cues.PROPOSES | cues.ASSIGNS):
        return None  # the common case
    said = cues.sentences(text)
    statements = [s for s in said if not cues.is_question_sentence(s)]
    # Said in jest ("God bless whoever decided ...", "we should rewrite it in Rust haha"), nothing is decided,
    # whoever answers "ok".
    if cues.JOKE.search(text):
        return None
    if any(cues.EXPLICIT_DECISION.search(s) for s in statements) and not cues.NOT_DECIDED.search(text):
        return "explicit", cues.statement_text(text)
    if statements and cues.CONCLUSION.search(statements[0]) and len(cues.content_words(statements[0])) >= 3:
        return "explicit", statements[0]
    if any(cues.PROPOSAL.search(s) for s in statements) or (statements and cues.CONSENT.search(text)):
        return "proposal", cues.statement_text(text)
    # Handing out work to others ("Sam owns the migration, Lin reviews the runbook") settles who does what.
    assigned = [name for name, _ in _assignments(message, names, bits) if name != message.author_name]
    if assigned:
        return "assignment", cues.statement_text(text)
    return None


def find_decisions(messages: Sequence[PreparedMessage], names: cues.Names, bits: Sequence[int]) -> list[Found]:
    found: list[Found] = []
    for message in messages:
        kind = _decision_kind(message, names, bits[message.index])
        if kind is None:
            continue
        what, text = kind
        agreed: list[int] = []
        disagreed = 0
        # "Yes" to a message that also asks something ("..., Tom, can you take that?") answers the question.
        asks = any(cues.is_question_sentence(s) and not cues.CONSENT.search(s) for s in cues.sentences(message.text))
        for later in () if asks else _window(messages, message.index):
            other = messages[later]
            if other.author_id == message.author_id:
                continue
            if len(other.text) < 80 and cues.DISAGREEMENT.search(other.text):
                disagreed += 1
            elif (bits[later] & cues.AGREES and _is_agreement(other)) or (
                other.reply_to_index == message.index and len(other.text) < 40
            ):
                agreed.append(later)
            else:
                break  # the room moved on: later agreement is about something else
        if what == "proposal" and len(agreed) <= disagreed:
            continue
        owners = [messages[i].author_name for i in agreed]
        item = Found(
            index=message.index,
            text=f"{message.author_name}: {cues.excerpt(text)}",
            refs=[message.index, *agreed],
            words=cues.content_words(text),
            agreed_by=list(dict.fromkeys(owners)),
            explicit=what != "proposal",
            assignment=what == "assignment",
        )
        previous = found[-1] if found else None
        if (
            previous is not None
            and message.index - max(previous.refs) <= WINDOW
            and (message.index in previous.refs or cues.overlap(previous.words, item.words) >= 0.4)
            and len(previous.words & item.words) >= 2
        ):
            # The same decision twice (a proposal, then "Decided: ..."): one item, the final wording.
            keep = item if item.explicit or not previous.explicit else previous
            keep.refs = sorted({*previous.refs, *item.refs})
            keep.agreed_by = list(dict.fromkeys([*previous.agreed_by, *item.agreed_by]))
            keep.words = previous.words | item.words
            found[-1] = keep
        else:
            found.append(item)
    for item in found:
        others = [name for name in item.agreed_by if not item.text.startswith(name + ":")]
        if others:
            item.text += f" (agreed by {', '.join(others)})"
        item.weight = 1.0 + len(item.refs)
    return found


# --- action items -----------------------------------------------------------------------------------


def _assignments(message: PreparedMessage, names: cues.Names, bits: int) -> list[tuple[str, str]]:
    """(owner, task) for "Sam owns the migration, Lin reviews the runbook" (people named, not "It will")."""
    if not bits & cues.ASSIGNS:
        return []
    found = []
    for sentence in cues.sentences(message.text):
        if cues.is_question_sentence(sentence):
            continue
        for match in cues.ASSIGNMENT.finditer(sentence):
            name = names.resolve(match.group("name"))
            if name:
                task = match.group("task").strip()
                found.append((name, task[:1].upper() + task[1:]))
    return found


def _own_commitment(message: PreparedMessage, bits: int) -> str | None:
    if not bits & cues.COMMITS:
        return None
    for sentence in cues.sentences(message.text):
        if not cues.is_question_sentence(sentence) and cues.SELF_ACTION.search(sentence):
            for clause in cues.clauses(sentence):
                # "I'll try to watch that when I get the time" is an intention, not a commitment.
                if cues.SELF_ACTION.search(clause) and not cues.VAGUE.search(clause):
                    return cues.strip_opener(clause)
    return None


def _text_score(text: str, own: bool) -> tuple[float, bool]:
    words = len(cues.content_words(text))
    return words + (2 if own else 0) - (3 if words <= 1 else 0), own


def _add(found: list[Found], recent: dict[str, list[Found]], item: Found, candidates: list[tuple[str, bool]]) -> None:
    """Add an action item, or fold it into a near-identical one by the same owner."""
    text = max(candidates, key=lambda c: _text_score(c[0], c[1]))[0]
    item.text = cues.excerpt(text)
    key = (item.owner or "").lower()
    for previous in recent.get(key, ()):
        if item.index - max(previous.refs) <= 40 and cues.overlap(previous.words, item.words) >= 0.5:
            previous.refs = sorted({*previous.refs, *item.refs})
            # weight > 0: the item carries its owner's own words ("I'll ...").
            if _text_score(item.text, item.weight > 0)[0] > _text_score(previous.text, previous.weight > 0)[0]:
                previous.text = item.text
            previous.words |= item.words
            return
    found.append(item)
    recent.setdefault(key, []).append(item)
    del recent[key][:-6]


def find_actions(messages: Sequence[PreparedMessage], names: cues.Names, bits: Sequence[int]) -> list[Found]:
    found: list[Found] = []
    recent: dict[str, list[Found]] = {}
    taken: set[int] = set()  # replies already folded into a request
    for message in messages:
        text = message.text
        flags = bits[message.index]
        if (
            len(text) < 8
            or message.index in taken
            or not flags & (cues.ASSIGNS | cues.COMMITS | cues.REQUESTS | cues.TODOS)
        ):
            continue
        for name, task in _assignments(message, names, flags):
            words = cues.content_words(task)
            _add(found, recent, Found(message.index, "", [message.index], words, owner=name), [(task, False)])
        commitment = _own_commitment(message, flags)
        request = None
        owner = None
        if not commitment and flags & cues.REQUESTS:
            for sentence in cues.sentences(text):
                if (
                    cues.REQUEST.search(sentence)
                    and not cues.VAGUE.search(sentence)
                    and (
                        message.mentioned_names
                        or message.reply_to_index is not None
                        or cues.is_question_sentence(sentence)
                        or cues.UNASSIGNED.search(sentence)
                        or names.addressed(sentence, message)
                    )
                ):
                    request = sentence
                    owner = names.addressed(sentence, message)
                    break
        if commitment:
            words = cues.content_words(commitment)
            item = Found(message.index, "", [message.index], words, owner=message.author_name, weight=1.0)
            _add(found, recent, item, [(commitment, True)])
            continue
        if request is None:
            if flags & cues.TODOS and not cues.VAGUE.search(text):
                owner = message.mentioned_names[0] if message.mentioned_names else message.author_name
                _add(
                    found,
                    recent,
                    Found(message.index, "", [message.index], cues.content_words(text), owner=owner),
                    [(text, False)],
                )
            continue
        if owner is None and message.reply_to_index is not None and not cues.UNASSIGNED.search(request):
            parent = messages[message.reply_to_index]
            owner = parent.author_name if parent.author_id != message.author_id else None
        # A request short of content ("Tom, can you take that?") says more with what came before it.
        if owner and request.startswith("@" + owner):
            request = request[len(owner) + 1 :].lstrip(" ,:")  # "@Bob can you ..." -> "can you ..."
        candidates = [(request if len(cues.content_words(request)) >= 3 else text, False)]
        refs = [message.index]
        for later in _window(messages, message.index):
            other = messages[later]
            if other.author_id == message.author_id:
                continue
            answer = other.author_name == owner or (owner is None and not bits[later] & cues.ASKS)
            reply = _own_commitment(other, bits[later])
            if answer and (reply or cues.ACCEPT.search(other.text)):
                owner = other.author_name
                refs.append(later)
                taken.add(later)
                if reply:
                    candidates.append((reply, True))
                break
        if owner is None:
            continue  # an action item needs someone who does it: "can someone ...?" nobody took is not one
        words = frozenset().union(*(cues.content_words(c) for c, _ in candidates))
        weight = 1.0 if len(candidates) > 1 else 0.0
        _add(found, recent, Found(message.index, "", refs, words, owner=owner, weight=weight), candidates)
    return found


# --- questions --------------------------------------------------------------------------------------


def is_question(text: str) -> bool:
    text = cues.URLS.sub("", cues.CODE_BLOCK.sub("", text)) if ("://" in text or "```" in text) else text
    return bool(cues.QUESTION.search(text.strip()))


def answered(
    message: PreparedMessage, messages: Sequence[PreparedMessage], replies: Sequence[int], bits: Sequence[int]
) -> bool:
    """A reply, the next message by someone else right after, or a message soon after on the same words."""
    if replies[message.index]:
        return True
    window = _window(messages, message.index)
    if not window:
        return False
    following = messages[window.start]
    if (
        following.author_id != message.author_id
        and following.reply_to_index is None
        and (following.created_at - message.created_at).total_seconds() <= IMMEDIATE_SECONDS
        and not (bits[following.index] & cues.ASKS and is_question(following.text))
    ):
        return True
    asked = cues.content_words(" ".join(s for s in cues.sentences(message.text) if cues.is_question_sentence(s)))
    needed = 1 if len(asked) <= 3 else 2
    for later in window:
        other = messages[later]
        if other.author_id == message.author_id or (bits[later] & cues.ASKS and is_question(other.text)):
            continue
        if len(asked & cues.content_words(other.text)) >= needed or "@" + message.author_name in other.text:
            return True
    return False
