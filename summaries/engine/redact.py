"""PII and secret redaction, applied to every text before it can leave the process.

Values are replaced by `[kind]` placeholders and only counted; originals are never logged or returned.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import AnyStr

# Order matters: rules apply one after the other, the most specific shapes (credentials inside URLs,
# vendor tokens) before the generic ones (emails, numbers), so a token is not half-eaten as a phone.
_RULES: tuple[tuple[str, str], ...] = (
    ("private_key", r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z]+ )*PRIVATE KEY-----"),
    ("url_credentials", r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@\[\]]+:[^\s/@\[\]]+@"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}"),
    ("openai_key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
    ("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    ("aws_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("slack_token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    # A bot token is base64(user id).timestamp.hmac; ids are decimal digits, whose base64 starts M, N or O.
    ("discord_token", r"\b[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}\b"),
    ("bearer_token", r"(?i:\bbearer\s+)[A-Za-z0-9._~+/-]{20,}=*"),
    # Keep the key's name (it tells the reader what was shared), drop the value.
    (
        "password",
        (
            # Not \b: "DB_PASSWORD=" must match too, and "_" is a word character.
            r"(?i:(?<![A-Za-z0-9])(?:password|passwd|pwd|secret|client[_-]?secret|api[_-]?key|access[_-]?key|auth[_-]?token|token)"
            r"\s*[:=]\s*)[\"']?[^\s\"',;]{3,}[\"']?"
        ),
    ),
    ("email", r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
    ("card", r"(?<![\d.])\d(?:[ -]?\d){12,18}(?![\d.])"),
    ("ipv4", r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])"),
    ("ipv6", r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])"),
    (
        "phone",
        r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,5}){1,4}(?![\w])|(?<![\w+])\+\d{8,15}\b",
    ),
)

KINDS: tuple[str, ...] = tuple(kind for kind, _ in _RULES)
_PATTERNS = {kind: re.compile(pattern) for kind, pattern in _RULES}
_PHONE = _PATTERNS["phone"]
_DATE_LIKE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}")
_PASSWORD_KEY = re.compile(r"(?i)^.*?[:=]\s*")
_BEARER_KEY = re.compile(r"(?i)^bearer\s+")
_DIGIT_RUN = re.compile(r"[0-9][0-9 ().+/-]{6,}[0-9]")


# Each rule runs only when a cheap substring test says it could match: a substring test is a C-speed
# scan, while one regex with fifteen alternatives tries all fifteen at every position of every message.
# Redaction runs on every message of every request and must stay cheap next to tokenization.
def has_digit(text: str) -> bool:
    # Ten substring scans beat one regex search: no per-call regex overhead, no per-character dispatch.
    return (
        "0" in text
        or "1" in text
        or "2" in text
        or "3" in text
        or "4" in text
        or "5" in text
        or "6" in text
        or "7" in text
        or "8" in text
        or "9" in text
    )


def may_hold_pii(text: str) -> bool:
    """False for text no rule can match, decided with substring tests only. Preparation asks it only of
    the texts `pii_candidates` flagged, so over a conversation the per-text cost is paid by a few texts.

    Mirrors the gates below: '@' with a dot or "://" (emails, URL credentials), digit runs (cards, phones),
    two dots (IPv4, JWTs, Discord tokens), vendor key prefixes, "::" or seven colons (IPv6), a secret's name
    next to ':' or '='.
    """
    if "@" in text and ("." in text or "://" in text):
        return True
    dots = text.count(".")
    if dots >= 2 or "::" in text or text.count(":") >= 7:
        return True
    if "-" in text and ("sk-" in text or "xox" in text or "-----BEGIN" in text):
        return True
    if "_" in text and ("gh" in text or "github_pat_" in text):
        return True
    if "AKIA" in text or "ASIA" in text or "earer" in text or "EARER" in text:
        return True
    if ":" in text or "=" in text:
        lowered = text.lower()
        if "pass" in lowered or "pwd" in lowered or "secret" in lowered or "key" in lowered or "token" in lowered:
            return True
    return has_digit(text) and _DIGIT_RUN.search(text) is not None


def _gates(text: str) -> list[str]:
    kinds: list[str] = []
    if "-----BEGIN" in text:
        kinds.append("private_key")
    has_at = "@" in text
    if has_at and "://" in text:
        kinds.append("url_credentials")
    if "eyJ" in text:
        kinds.append("jwt")
    if "sk-" in text:
        kinds.append("openai_key")
    if "_" in text and (
        "ghp_" in text or "gho_" in text or "ghu_" in text or "ghs_" in text or "ghr_" in text or "github_pat_" in text
    ):
        kinds.append("github_token")
    if "AKIA" in text or "ASIA" in text:
        kinds.append("aws_key")
    if "xox" in text:
        kinds.append("slack_token")
    dots = text.count(".")
    if dots >= 2:
        kinds.append("discord_token")
    if ":" in text or "=" in text or "earer" in text or "EARER" in text:
        lowered = text.lower()
        if "bearer" in lowered:
            kinds.append("bearer_token")
        if "pass" in lowered or "pwd" in lowered or "secret" in lowered or "key" in lowered or "token" in lowered:
            kinds.append("password")
    if has_at and "." in text[text.index("@") :]:
        kinds.append("email")  # "@Bob" mentions, the common case, have no domain after them
    if has_digit(text):
        if _DIGIT_RUN.search(text):
            kinds.extend(("card", "ipv4", "phone") if dots >= 3 else ("card", "phone"))
        elif dots >= 3:
            kinds.append("ipv4")
        if "::" in text or text.count(":") >= 7:
            kinds.append("ipv6")
    elif "::" in text:
        kinds.append("ipv6")  # "fe::" holds no digit but is rare; "a::b" is refused by _ipv6_ok anyway
    return kinds


# Batch gate for a whole conversation. Each trigger is a piece that every match of its rules must contain,
# so a text in which no trigger matches comes out of redaction unchanged. Each is written to start with a
# literal character, with what precedes that character as a lookbehind: the regex engine then jumps from
# one occurrence of the literal to the next with a fast scan instead of trying every position, and one
# pass over the conversation's joined text costs a few milliseconds per hundred thousand messages.
# A change to a rule in _RULES must keep its trigger here a part of every match (the conversation test in
# tests/summaries/test_engine_redact.py holds an example of each kind among other messages).
_TRIGGERS = tuple(
    re.compile(pattern)
    for pattern in (
        r"-(?:----BEGIN|(?<=sk-)[A-Za-z0-9_-]{20}|(?<=xox[abposr]-)[A-Za-z0-9-]{10})",  # private key, openai, slack
        r"J(?<=eyJ)[A-Za-z0-9_-]{5,}\.eyJ",  # jwt
        r"_(?:(?<=gh[pousr]_)[A-Za-z0-9]{36}|(?<=github_pat_)[A-Za-z0-9_]{22})",  # github
        r"A(?:KIA|SIA)[0-9A-Z]{16}",  # aws
        r"\.(?:[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27}|\d{1,3}\.\d{1,3}\.)",  # discord token, ipv4 (".2.3." of 1.2.3.4)
        r":(?://[^\s/:@\[\]]+:[^\s/@\[\]]+@|[0-9A-Fa-f]{0,4}:)",  # url credentials, ipv6 (":db8:" of 2001:db8::1)
        r"@[A-Za-z0-9-]+\.",  # email (its domain's first label and dot)
    )
)
# The case-insensitive rules, on the case-folded text: folding keeps every ASCII letter a (?i) pattern
# matches (it also folds 'ſ' to 's' and the Kelvin sign to 'k', which (?i) matches too), and a pattern on
# folded text can stay case-sensitive, which is what lets it start with a literal.
_FOLDED_TRIGGERS = tuple(
    re.compile(pattern)
    for pattern in (
        r"bearer\s+[a-z0-9._~+/-]{20}",  # bearer
        r"p(?:ass(?:wor|w)|w)d\s*[:=]",  # password, passwd, pwd
        r"c(?<=sec)ret\s*[:=]",  # secret, client_secret
        r"k(?:ey|(?<=tok)en)\s*[:=]",  # api_key, access_key, auth_token, token
    )
)
# Card and phone numbers are only looked for where _DIGIT_RUN matches. On the UTF-8 bytes with ASCII digits
# mapped to "0" and the run's other characters to "1" (a multi-byte character never holds an ASCII byte),
# that is a run starting with a literal; the separator keeps its byte so texts can still be told apart.
_DIGIT_CLASSES = bytes(
    0x30 if chr(byte) in "0123456789" else 0x31 if chr(byte) in " ().+/-" else byte if byte == 0x1E else 0x78
    for byte in range(256)
)
_DIGIT_RUN_CLASSES = re.compile(rb"0[01]{6,}0")
_SEPARATOR = "\x1e"


def _texts_matching(pattern: re.Pattern[AnyStr], joined: AnyStr, separator: AnyStr, found: set[int]) -> None:
    """Add to `found` the index of each text of `joined` (texts joined by `separator`) the pattern matches
    in. After a hit the search moves on to the next text: one hit per text is all the gate needs."""
    index = position = 0
    while (match := pattern.search(joined, position)) is not None:
        start = match.start()
        index += joined.count(separator, position, start)
        found.add(index)
        position = joined.find(separator, start) + 1
        if not position:
            return
        index += 1


def pii_candidates(texts: Sequence[str]) -> list[int]:
    """Indices, in order, of the texts redaction might change; every other text is certain to come out of
    it unchanged. One pass of each trigger over all the texts at once: most chat holds nothing to redact,
    and a gate per text spent most of its time in interpreter overhead (about 0.2 s per hundred thousand
    messages, against under 0.1 s for these passes)."""
    if not texts:
        return []
    joined = _SEPARATOR.join(texts)
    if joined.count(_SEPARATOR) != len(texts) - 1:  # a text holds the separator: no telling texts apart
        return list(range(len(texts)))
    found: set[int] = set()
    for pattern in _TRIGGERS:
        _texts_matching(pattern, joined, _SEPARATOR, found)
    folded = joined.casefold()
    for pattern in _FOLDED_TRIGGERS:
        _texts_matching(pattern, folded, _SEPARATOR, found)
    digit_classes = joined.encode("utf-8", "surrogatepass").translate(_DIGIT_CLASSES)
    _texts_matching(_DIGIT_RUN_CLASSES, digit_classes, _SEPARATOR.encode(), found)
    return sorted(found)


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


_SECRET_KINDS = frozenset(
    {"jwt", "openai_key", "github_token", "aws_key", "slack_token", "discord_token", "private_key"}
)


def _phone_ok(value: str) -> bool:
    digits = sum(c.isdigit() for c in value)
    if not 9 <= digits <= 15 or _DATE_LIKE.search(value):
        return False  # "2024-05-01 12" is a date followed by an hour
    # Bare digit runs are ids and numbers, not phones: require a '+' or at least two separators.
    return value.startswith("+") or sum(c in " .-()" for c in value) >= 2


def _ipv6_ok(value: str) -> bool:
    if not any(c.isdigit() for c in value) or value.count(":") < 2:
        return False  # "a::b" in code is a scope operator, not an address
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


class Redactor:
    """Stateful only in its counters, so one instance serves one request."""

    __slots__ = ("_replacers", "counts")

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._replacers = {kind: self._replacer(kind) for kind in KINDS}

    def _replacer(self, kind: str) -> Callable[[re.Match[str]], str]:
        def replace(match: re.Match[str]) -> str:
            value = match.group()
            if kind == "card" and not luhn_valid("".join(c for c in value if c.isdigit())):
                return value  # the phone rule, which runs next, gets its chance
            if kind == "phone" and not _phone_ok(value):
                return value
            if kind == "ipv6" and not _ipv6_ok(value):
                return value
            self.counts[kind] += 1
            if kind == "url_credentials":
                return value.split("://", 1)[0] + "://[credentials]@"
            if kind in ("password", "bearer_token"):
                key = (_PASSWORD_KEY if kind == "password" else _BEARER_KEY).match(value)
                return f"{key.group() if key else ''}[secret]"
            if kind in _SECRET_KINDS:
                return "[secret]"
            return f"[{kind}]"

        return replace

    def redact(self, text: str) -> str:
        # Rules apply in _RULES order; a placeholder holds no digit, '@' or key shape, so a later rule
        # never matches inside an earlier rule's replacement.
        for kind in _gates(text):
            text = _PATTERNS[kind].sub(self._replacers[kind], text)
        return text


def redact_text(text: str) -> tuple[str, dict[str, int]]:
    """Redact one text; returns it with the count of each kind replaced."""
    redactor = Redactor()
    return redactor.redact(text), dict(redactor.counts)
