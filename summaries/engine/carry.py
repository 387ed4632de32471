"""Open items carried forward: which earlier action items and open questions a new window resolves.

A schedule's run lists, under "Still open", the action items and open questions of its earlier runs that no
message has resolved since, each citing the message where it was raised. This module holds the rules, on
the new window's messages alone; the service (summaries/services/open_items.py) keeps the items between
runs. Only a message sent after the item's own message can resolve it:

- an answer: a reply to a question's message by anyone but who asked it (an action item is not settled by
  a reply alone: "can you also…" is no answer);
- "done" by the owner: a message saying done, fixed, merged, shipped or resolved (or "erledigt", "terminé",
  "hecho", "feito", "fatto", "готово"…), not negated or asked ("not done yet", "is it merged?"), by the
  item's owner: the person it was assigned to or who committed to it, for a question who asked it. The
  owner is known by author id when the item was raised in a window that had their messages, else by
  display name. Such a message settles the item it replies to; otherwise the owner's items whose words it
  shares, or their only open item: a bare "done" from someone with several open items settles none. An
  item nobody owns is settled by a "done" in reply to it from anyone;
- a resolving reaction (✅ ✔️ ☑️ 👍) on the item's message. Reactions are read from the window's
  messages, so one counts only while the item's message is in the window: in practice a reaction made
  before the run that raised the item. Later runs do not fetch older messages, so a ✅ added afterwards is
  not seen (a reply or a "done" is).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .formats import get_format
from .offline_cues import content_words
from .types import Author, ChatMessage, SummaryItem, SummaryResult

CARRIED_SECTIONS = ("action_items", "open_questions")
STILL_OPEN = "still_open"

DONE = re.compile(
    r"(?i)\b(?:done|fixed|merged|shipped|resolved|erledigt|behoben|terminé|corrigé|résolu|hecho|arreglado|"
    r"resuelto|feito|resolvido|fatto|risolto|готово|сделано|исправлено)\b"
)
# A word among the three before a "done" that makes it not (yet) a claim: "not done", "almost fixed",
# "once it's merged", "it will be shipped", "need to get it done".
_NOT_YET = frozenset(
    "not never no almost nearly yet once when until after if before will would should could can must "
    "need needs to gonna".split()
)
_WORD = re.compile(r"[\w']+")
# Emoji as Discord names them; skin tones and the emoji variation selector are ignored.
RESOLVING_REACTIONS = frozenset({"✅", "✔", "☑", "👍"})
_EMOJI_NOISE = re.compile("[\ufe0f\U0001f3fb-\U0001f3ff]")


@dataclass(frozen=True, slots=True)
class OpenItem:
    """An action item or open question raised in an earlier window.

    `message_id` is the message it was raised in (its first citation), `channel_id` where that message lives
    (the channel or one of its threads). `owner` is the name the summary gave; `owner_id` the owner's author
    id when it is known, `raised_by_id` the author of the raising message. `key` is the caller's own id.
    """

    section: str
    text: str
    message_id: int
    channel_id: int
    owner: str | None = None
    owner_id: int | None = None
    raised_by_id: int | None = None
    raised_at: datetime | None = None
    key: int | None = None


@dataclass(frozen=True, slots=True)
class Resolution:
    item: OpenItem
    message_id: int  # the message that resolved it (for a reaction, the item's own message)
    at: datetime
    how: str  # "answer", "done" or "reaction"


@dataclass(slots=True)
class Carry:
    still_open: list[OpenItem] = field(default_factory=list)
    resolved: list[Resolution] = field(default_factory=list)


def says_done(text: str) -> bool:
    """The text claims something is done: a done word, neither negated nor in a question."""
    for match in DONE.finditer(text):
        sentence_end = re.search(r"[.!?\n]", text[match.end():])
        if sentence_end and sentence_end.group() == "?":
            continue
        before = re.split(r"[.!?\n]", text[: match.start()])[-1]
        words = [w.lower() for w in _WORD.findall(before)][-3:]
        if not any(w in _NOT_YET or w.endswith(("n't", "'ll")) for w in words):
            return True
    return False


def _names(author: Author) -> set[str]:
    names = {author.name.casefold(), author.shown_name.casefold()}
    first = author.shown_name.split()
    if first:
        names.add(first[0].casefold())
    return {name for name in names if name}


def _is_owner(author: Author, item: OpenItem) -> bool:
    """`author` is who may call the item done: its owner, or for an item without one who raised it."""
    if item.owner:
        if item.owner_id is not None:
            return author.id == item.owner_id
        return item.owner.casefold().lstrip("@") in _names(author)
    return item.raised_by_id is not None and author.id == item.raised_by_id


def _reacted(message: ChatMessage) -> bool:
    return any(
        count > 0 and _EMOJI_NOISE.sub("", name) in RESOLVING_REACTIONS
        for name, count in message.reaction_emojis.items()
    )


def _shares_words(message: ChatMessage, item: OpenItem) -> bool:
    said = content_words(DONE.sub(" ", message.content))
    return bool(said & content_words(item.text))


def resolve(items: Sequence[OpenItem], messages: Sequence[ChatMessage]) -> Carry:
    """Which of `items` the messages resolve (each by its first resolving message), and which stay open,
    in the order given."""
    by_id = {message.id: message for message in messages}
    resolved: dict[int, Resolution] = {}
    for position, item in enumerate(items):
        raised = by_id.get(item.message_id)
        if raised is not None and _reacted(raised):
            resolved[position] = Resolution(item, raised.id, raised.created_at, "reaction")
    raised_in = {item.message_id for item in items}
    for message in messages:
        if message.author.bot or message.kind == "system":
            continue
        if message.reply_to not in raised_in and not says_done(message.content):
            continue  # most messages: neither an answer nor a "done"
        open_now = [
            (position, item) for position, item in enumerate(items)
            if position not in resolved and item.message_id < message.id
        ]
        for position, item, how in _settled_by(message, open_now):
            resolved[position] = Resolution(item, message.id, message.created_at, how)
    return Carry(
        still_open=[item for position, item in enumerate(items) if position not in resolved],
        resolved=[resolved[position] for position in sorted(resolved)],
    )


def _settled_by(message: ChatMessage, open_now: list[tuple[int, OpenItem]]) -> list[tuple[int, OpenItem, str]]:
    """The open items one message resolves, with how (see the module's rules)."""
    replied = [(p, item) for p, item in open_now if message.reply_to == item.message_id]
    done = says_done(message.content)
    for position, item in replied:
        if item.section == "open_questions" and item.raised_by_id != message.author.id:
            return [(position, item, "answer")]
        if done and (_is_owner(message.author, item) or not item.owner):
            return [(position, item, "done")]
    if not done or replied:
        return []  # a "done" in reply to an item it may not settle settles no other item either
    owned = [(p, item) for p, item in open_now if _is_owner(message.author, item)]
    sharing = [(p, item) for p, item in owned if _shares_words(message, item)]
    chosen = sharing or (owned if len(owned) == 1 else [])
    return [(p, item, "done") for p, item in chosen]


def items_raised(result: SummaryResult, messages: Iterable[ChatMessage]) -> list[OpenItem]:
    """The action items and open questions of a new result, as items to carry: each raised in its first
    cited message; its owner's id found among the window's authors when the name is theirs (one author only)."""
    by_id = {message.id: message for message in messages}
    authors: dict[int, Author] = {message.author.id: message.author for message in by_id.values()}
    items: list[OpenItem] = []
    for item in result.items:
        if item.section not in CARRIED_SECTIONS or not item.message_ids:
            continue
        message_id = min(item.message_ids)
        raised = by_id.get(message_id)
        if raised is None:  # an invented citation: nothing to link to or to watch
            continue
        owner_id = None
        if item.owner:
            key = item.owner.casefold().lstrip("@")
            if key in _names(raised.author):
                owner_id = raised.author.id
            else:
                named = [author.id for author in authors.values() if key in _names(author)]
                owner_id = named[0] if len(named) == 1 else None
        items.append(OpenItem(
            section=item.section, text=item.text, message_id=message_id,
            channel_id=result.channel_of(message_id) or raised.channel_id, owner=item.owner, owner_id=owner_id,
            raised_by_id=raised.author.id, raised_at=raised.created_at,
        ))
    return items


def with_still_open(result: SummaryResult, items: Sequence[OpenItem]) -> SummaryResult:
    """`result` with `items` as its "Still open" section, each citing the message where it was raised;
    those the result lists itself (citing the same message in its action items or open questions) are left
    out. The result is returned as it is when nothing is left to add."""
    cited = {mid for item in result.items if item.section in CARRIED_SECTIONS for mid in item.message_ids}
    carried = [item for item in items if item.message_id not in cited]
    if not carried:
        return result
    added = [
        SummaryItem(section=STILL_OPEN, text=item.text, message_ids=[item.message_id], owner=item.owner)
        for item in carried
    ]
    order = {section.name: position for position, section in enumerate(get_format(result.format).sections)}
    items_in_order = sorted([*result.items, *added], key=lambda item: order.get(item.section, len(order)))
    channels = dict(result.message_channels)
    for item in carried:
        if item.channel_id != result.channel_id:
            channels[item.message_id] = item.channel_id
    return dataclasses.replace(result, items=items_in_order, message_channels=channels)
