"""Cues for the offline engine, one message or sentence at a time: wording (English first, a few other
languages), sentences, content words, and the names people go by in the conversation.

Nothing here looks at more than one message, so every function is linear in the text it is given.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from .normalize import PreparedMessage

# --- decisions --------------------------------------------------------------------------------------
# "decided" is a marker only when the group decided ("we decided", "Decided: ..."): "God bless whoever
# decided to put spaces between words" is a joke about someone else's choice, not this channel's decision.
EXPLICIT_DECISION = re.compile(
    r"(?i)(?:^\W*decided\b|\b(?:we|we'?ve|we have|we all|team|it'?s|it is|it was|has been|have|i'?ve|finally)\s+"
    r"(?:\w+\s+)?decided\b|\bdecision\s*(?::|is\b|was\b)|\bfinal decision|\bfinal call|\bfinal\s*:|\bagreed\s*:|"
    r"\bwe(?:'ll| will| are|'re) go(?:ing)? with|\blet'?s go with|\bsettled on|\bit'?s settled|\bship it|"
    r"\bwe (?:all )?agreed|\bconsensus(?: is|\s*:)|\bthe plan is|"
    r"\bdecidimos|\bacordamos|\bvamos con|\bon part sur|\b(?:on a|nous avons|c'est) décidé|^\W*décidé\b|\bon a choisi|"
    r"\b(?:wir haben|haben wir|ist)\s+(?:\w+\s+)?(?:entschieden|beschlossen)|^\W*(?:entschieden|beschlossen)\b|"
    r"\babbiamo deciso|\bbesloten|\bdecidiram|\bрешили|\bдоговорились)"
)
# Said in jest: a marker inside a joke decides nothing.
JOKE = re.compile(
    r"(?i)(?:\b(?:lol|lmao|rofl|haha\w*|hehe\w*|jk|god bless|kidding|mdr|jaja\w*|xd)\b|/s\b|😂|🤣|😆|😅|🙃)"
)
NOT_DECIDED = re.compile(r"(?i)\b(?:not|n't|never|yet to be|undecided)\s+(?:\w+\s+)?decided")
# A wrap-up that states the outcome: "OK so the fix is ...", "So we'll ...".
CONCLUSION = re.compile(
    r"(?i)^\W*(?:(?:ok(?:ay)?|alright|right)[,.!]?\s+so\b|so\s*,?\s+(?:we(?:'ll| will| are going to)|"
    r"the (?:fix|plan|answer|solution|decision) is|let'?s)|in that case,?\s+(?:we|let'?s))"
)
PROPOSAL = re.compile(
    r"(?i)\b(?:let'?s|let us|i propose|proposal\s*:|i suggest|suggestion\s*:|how about|why don'?t we|"
    r"we should|i'?d (?:say|go with)|my vote is|propongo|je propose|ich schlage vor|proporrei)\b"
)
# Asking the room for consent turns a statement into a proposal.
CONSENT = re.compile(
    r"(?i)(?:objections?|einwände|bedenken|objeciones|obiezioni|d'accord|einverstanden|concerns?|sounds? (?:good|ok(?:ay)?)|ok(?:ay)? (?:with|for) (?:everyone|everybody|all)|"
    r"agreed|agree|everyone ok|👍)\s*\?"
)
AGREEMENT = re.compile(
    r"(?i)^\W*(?:agreed|i agree|agree|yes|yep|yeah|yup|sure|ok(?:ay)?|fine|sounds (?:good|great|fine|ok)|"
    r"works for me|fine (?:by|with) me|no objections?|none from me|lgtm|\+1|👍|✅|makes sense|good (?:idea|call)|"
    r"great (?:idea|call)|let'?s do it|ship it|approved|d'accord|ok pour moi|einverstanden|passt|de acuerdo|"
    r"vale|va bene|d'accordo|согласен|согласна|да)(?=\W|$)|\b(?:works for me|no objections?|fine by me)\b"
)
DISAGREEMENT = re.compile(
    r"(?i)^\W*(?:no\b(?!\s+(?:objection|problem|worries|concerns))|nope|disagree|i disagree|not sure|"
    r"i don'?t think|-1|👎|i object|objection\b|wait\b|hold on)"
)

# --- action items -----------------------------------------------------------------------------------
SELF_ACTION = re.compile(
    r"(?i)\b(?:i'?ll|i will|i'm going to|i am going to|i can (?:take|own|do|handle|look|check|write|fix|review|"
    r"update|draft|prepare|run)|let me(?! know)|will do|on it|je vais|je m'en occupe|ich werde|ich mache|voy a|"
    r"me encargo|vou|сделаю)\b"
)
# An intention, not a commitment: "I'll try to watch that when I get the time", "maybe I'll look at it".
VAGUE = re.compile(
    r"(?i)\b(?:try(?:ing)? (?:to|and)|maybe|might|perhaps|probably|possibly|hopefully|some ?day|at some point|"
    r"eventually|one day|(?:if|when|once) i (?:get|have|find)(?: the| some)? (?:time|chance|a minute)|"
    r"if i remember|i'?ll see|i'?ll think|i guess|i'?ll be (?!done\b)|i'?ll never|"
    r"peut-être|essayer|quand j'aurai le temps|un jour|vielleicht|versuchen|irgendwann|wenn ich zeit habe|"
    r"quizás|quizá|tal vez|intentar\w*|cuando tenga tiempo|algún día|forse|magari)\b"
)
REQUEST = re.compile(
    r"(?i)\b(?:can you|could you|would you|will you|can someone|could someone|can anyone|could anyone|"
    r"please|pls|plz|need you to|need someone to|someone (?:needs|should) to|anyone (?:able|willing|want) to|"
    r"por favor|puedes|s'il te pla[iî]t|peux-tu|kannst du|bitte|puoi|per favore)\b"
)
UNASSIGNED = re.compile(r"(?i)\b(?:someone|somebody|anyone|anybody|a volunteer)\b")
TODO = re.compile(r"(?i)\b(?:todo|to-do|action item|follow[- ]up)\b")
ACCEPT = re.compile(
    r"(?i)^\W*(?:yes|yep|yeah|sure|ok(?:ay)?|will do|on it|can do|done|of course|no problem|np|got it|absolutely|"
    r"👍|sí|claro|oui|d'accord|ja|klar|certo|да)(?=\W|$)"
)
# "Tom, can you ...", "@Tom please ...": the person addressed at the start of a sentence.
VOCATIVE = re.compile(r"^\W*@?(?P<name>[A-Z][\w\-]*)\s*[,:]\s*(?=\S)")
TRAILING_VOCATIVE = re.compile(r",\s*@?(?P<name>[A-Z][\w\-]*)\s*[?!.]*$")
# "Sam owns the migration, Lin reviews the runbook", "Tom to update the docs".
ASSIGNMENT = re.compile(
    r"(?:^|[,;]\s*|\band\s+)\W*@?(?P<name>[A-Z][\w\-]*)\s+(?P<task>(?:owns|takes|reviews|handles|leads|drives|"
    r"writes|fixes|updates|is on|is owning|is handling|is taking|is responsible for|will (?!be\b|not\b)\w+|"
    r"to (?:own|take|review|handle|write|fix|update|do|check|investigate|look into|prepare|draft))\b[^,;.!?]*)"
)

# --- questions, topics, outcomes ----------------------------------------------------------------------
QUESTION = re.compile(r"[?？\u037e؟](?:\s|$)|^¿")
# Meeting and social formulas: questions nobody is expected to answer in substance.
SOCIAL = re.compile(
    r"(?i)^\W*(?:(?:ok(?:ay)?|so|and|alright|excellent|great|cool|good|well)[,.!]?\s+)?(?:anything else|"
    r"any(?:thing)? (?:other|more)|any(?: other| more)? questions|any other business|any objections?|objections?|"
    r"any concerns|thoughts|how are (?:you|we|things|everyone|y'all)|how(?:'s| is) (?:it going|everyone|everybody|"
    r"life|your (?:day|weekend))|what'?s up|sup|wassup|you there|everyone (?:here|ready)|ready|right|"
    r"makes? sense|got it|ok(?:ay)?|really|seriously|huh|eh|lol|who knows|isn'?t it|sounds good|"
    r"ça va|como estás|wie geht'?s|come va)\b[^?]{0,40}\?"
)
# Questions nobody is asked: to oneself, rhetorical, or exclaimed ("why did I do that?", "who cares?").
RHETORICAL = re.compile(
    r"(?i)(?:\b(?:why|how|what) (?:did|do|was|am|have|would) i\b|\bwhat was i\b|\bam i the only one\b|"
    r"\bwho (?:cares|knows|does that|even)\b|\bwhy would (?:anyone|you|someone)\b|\bwhat could (?:possibly )?go wrong\b|"
    r"\bcan you believe\b|\bguess what\b|\bwhy not\b|\bisn'?t (?:it|that) (?:great|funny|wild|crazy)\b|"
    r"\bwho would have thought\b|\bright\?$|"
    r"\bpourquoi (?:j'ai|ai-je)\b|\bqui s'en soucie\b|\bwarum habe ich\b|\bwen interessiert\b|"
    r"\bpor qué (?:hice|lo hice)\b|\ba quién le importa\b)"
)
TOPIC = re.compile(
    r"(?i)^\W*(?:(?:morning|hi|hello|hey)\b[^.!:]*[.!:]\s*)?(?:agenda|next(?:\s+(?:up|topic|item))?\s*:|topic\s*:|"
    r"moving on|about (?:the )?[^:,.?]{1,40}:|re\s*:|regarding\b|first(?:ly)?,|update\s*:|fyi\b|heads up|"
    r"announcement|psa\b)"
)
OUTCOME = re.compile(
    r"(?i)\b(?:merged|passed|shipped|released|deployed|landed|resolved|completed|works now|is up|is live|"
    r"went (?:down|up) from|faster|slower)\b"
)
NUMBER = re.compile(r"\d")
PROBLEM = re.compile(
    r"(?i)\b(?:error|exception|traceback|bug|crash(?:es|ed)?|fails?|failing|failed|broken|doesn'?t work|"
    r"not working|timeout|timed out|panic|segfault|(?:a|the) regression\b(?! pass| test| suite)|stack ?trace|leak|"
    r"slow|[45]0\d(?! runs)|issue)\b"
)
SOLUTION = re.compile(
    r"(?i)\b(?:fixed|fix is|the fix|solved|resolved|works now|working now|workaround|turns out|"
    r"the problem was|the issue was|solution|try (?:setting|adding|using|running)|you need to|just need to|"
    r"patched|upgrade to|downgrade to|pushed a fix|merged|passed \d+)\b"
)
TECH = re.compile(
    r"(?i)\b(?:api|schema|database|db|library|framework|migrate|migration|refactor|architecture|deploy|"
    r"endpoint|queue|cache|redis|postgres|sqlite|docker|kubernetes|python|django|typescript|rust|go|"
    r"version|dependency|interface|protocol|service|module|class|function|client|server)\b"
)
CODE_BLOCK = re.compile(r"```[\s\S]*?(?:```|$)")
URLS = re.compile(r"https?://\S+")

_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])\s+|\n+")
_CLAUSE = re.compile(r"(?i),?\s+but\s+|;\s*|,\s+(?:and|while|whereas)\s+")
_WORD = re.compile(r"[^\W_]+(?:[.'’][^\W_]+)*")
_STOP = frozenset(
    """a an the and or but if then so to of in on at by for with from about into over after before than as
    is are was were be been being am do does did done have has had i you he she it we they me him her us them
    my your our their its this that these those there here what which who whom whose when where why how not no
    yes ok okay just also too very can could would should will shall may might must i'll i'm i've i'd we'll
    we're it's that's let's don't doesn't didn't can't won't isn't all any some more most much many other
    only now still get got go going one out up down off again like really think know want need someone anyone
    le la les des de et est un une pour pas dans ce il el los las que en y es por para con der die das und ist
    nicht ein eine zu mit il di che per non""".split()
)


# Bits of `scan`: which cues a message carries, found once per message and read by every section.
DECIDES, PROPOSES, COMMITS, REQUESTS, TODOS, PROBLEMS, SOLVES, OUTCOMES, TOPICS, AGREES, ASKS, ASSIGNS = (
    1 << n for n in range(12)
)
# The case-insensitive cues searched in the lower-cased text without re.I: about three times faster.
_GATES = tuple(
    (bit, re.compile(pattern.pattern.removeprefix("(?i)")))
    for bit, pattern in (
        (DECIDES, EXPLICIT_DECISION),
        (DECIDES, CONCLUSION),
        (PROPOSES, PROPOSAL),
        (COMMITS, SELF_ACTION),
        (REQUESTS, REQUEST),
        (TODOS, TODO),
        (PROBLEMS, PROBLEM),
        (SOLVES, SOLUTION),
        (OUTCOMES, OUTCOME),
        (TOPICS, TOPIC),
        (AGREES, AGREEMENT),
    )
)
_CONSENT_LOWER = re.compile(CONSENT.pattern.removeprefix("(?i)"))


def scan(text: str) -> int:
    lower = text.lower()
    bits = 0
    for bit, pattern in _GATES:
        if not bits & bit and pattern.search(lower):
            bits |= bit
    if QUESTION.search(text):
        bits |= ASKS
        if _CONSENT_LOWER.search(lower):
            bits |= PROPOSES
    if ASSIGNMENT.search(text):
        bits |= ASSIGNS
    return bits


@functools.lru_cache(maxsize=1024)
def sentences(text: str) -> tuple[str, ...]:
    if "```" in text:
        text = CODE_BLOCK.sub(" [code] ", text)
    return tuple(s.strip() for s in _SENTENCE_END.split(text) if s and s.strip())


def clauses(sentence: str) -> list[str]:
    """ "I can own it, but I need someone to review X" -> its two clauses."""
    return [c.strip() for c in _CLAUSE.split(sentence) if c and c.strip()]


def is_question_sentence(sentence: str) -> bool:
    stripped = sentence.rstrip()
    return stripped.endswith(("?", "？", "؟")) or stripped.startswith("¿")


def _stem(word: str) -> str:
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


@functools.lru_cache(maxsize=4096)  # windows look at the same few neighbours again and again
def content_words(text: str) -> frozenset[str]:
    """Lower-cased, roughly stemmed words that carry meaning; numbers like "2.4" count."""
    if "://" in text:
        text = URLS.sub(" ", text)
    return frozenset(
        _stem(w) for w in (w.lower().replace("’", "'") for w in _WORD.findall(text)) if w not in _STOP and len(w) > 1
    )


def overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Shared words over the smaller set: 1.0 when one says nothing the other does not."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def is_social(text: str) -> bool:
    """Every question in the message is a formula ("Anything else?", "How are you?")."""
    asked = [s for s in sentences(text) if is_question_sentence(s)]
    return bool(asked) and all(SOCIAL.search(s) for s in asked)


class Names:
    """The names people go by here (authors and mentions), to resolve "Tom, can you ..." to a person."""

    __slots__ = ("_known",)

    def __init__(self, messages: Iterable[PreparedMessage]) -> None:
        full: dict[str, str] = {}
        for message in messages:
            full.setdefault(message.author_name.lower(), message.author_name)
            for name in message.mentioned_names:
                full.setdefault(name.lower(), name)
        first: dict[str, set[str]] = {}
        for key, name in full.items():
            head = re.split(r"[\s._\-]+", key, maxsplit=1)[0]
            if len(head) > 1 and head != key:
                first.setdefault(head, set()).add(name)
        self._known = dict(full)
        for head, names in first.items():
            if len(names) == 1 and head not in self._known:
                self._known[head] = next(iter(names))

    def resolve(self, word: str | None) -> str | None:
        return self._known.get(word.lower().lstrip("@")) if word else None

    def addressed(self, sentence: str, message: PreparedMessage) -> str | None:
        """Who a request sentence is addressed to, by name or @mention, if anyone."""
        for pattern in (VOCATIVE, TRAILING_VOCATIVE):
            match = pattern.search(sentence)
            if match and (name := self.resolve(match.group("name"))):
                return name
        for name in sorted(message.mentioned_names, key=len, reverse=True):
            if "@" + name in sentence:
                return name
        return None


_QUOTE_LINE = re.compile(r"(?m)^> .*(?:\n|$)")


def asked_of_channel(text: str) -> bool:
    """The message asks the channel something: a question of its own (not in a quote, code or a link) that
    is neither a formula, rhetorical, nor said in jest."""
    if JOKE.search(text):
        return False
    if text.startswith("> ") or "\n> " in text:
        text = _QUOTE_LINE.sub("", text)
    if "```" in text:
        text = CODE_BLOCK.sub(" ", text)
    if "://" in text:
        text = URLS.sub(" ", text)
    asked = [s for s in sentences(text) if is_question_sentence(s)]
    return any(not SOCIAL.search(s) and not RHETORICAL.search(s) for s in asked)


def strip_opener(sentence: str) -> str:
    """ "Yes, I'll open a PR" -> "I'll open a PR": the acceptance is in the citation, not the task."""
    match = ACCEPT.match(sentence)
    if match:
        rest = sentence[match.end() :].lstrip(" ,.!:-")
        if rest:
            return rest[0].upper() + rest[1:]
    return sentence


def statement_text(text: str) -> str:
    """The message's statements: questions ("Objections?") and one-word fillers ("Great.") left out."""
    kept = [s for s in sentences(text) if not is_question_sentence(s) and len(s.split()) >= 2]
    return " ".join(kept) if kept else text


def excerpt(text: str, limit: int = 220) -> str:
    text = CODE_BLOCK.sub("[code]", text) if "```" in text else text
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
