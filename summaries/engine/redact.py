"""PII and secret redaction, applied to every text before it can leave the process.

Values are replaced by `[kind]` placeholders and only counted; originals are never logged or returned.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from typing import AnyStr

import phonenumbers
from stdnum import iban
from stdnum.us import ssn

# Order matters: rules apply one after the other, the most specific shapes (credentials inside URLs,
# vendor tokens) before the generic ones (emails, numbers), so a token is not half-eaten as a phone.
_RULES: tuple[tuple[str, str], ...] = (
    ("private_key", r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----[\s\S]*?-----END (?:[A-Z]+ )*PRIVATE KEY-----"),
    # A webhook URL is a credential: whoever has it can post as the webhook.
    (
        "discord_webhook",
        r"\bhttps?://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api(?:/v\d+)?/webhooks/\d+/[A-Za-z0-9_-]+",
    ),
    ("url_credentials", r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/:@\[\]]+:[^\s/@\[\]]+@"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}"),
    ("openai_key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
    ("stripe_key", r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"),
    ("google_key", r"\bAIza[0-9A-Za-z_-]{35}"),
    ("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    ("aws_key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("slack_token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    # A bot token is base64(user id).timestamp.hmac; ids are decimal digits, whose base64 starts M, N or O.
    ("discord_token", r"\b[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}\b"),
    ("bearer_token", r"(?i:\bbearer\s+)[A-Za-z0-9._~+/-]{20,}=*"),
    # An AWS secret access key pasted on its own: 40 characters of base64 (checked by _aws_secret_ok).
    ("aws_secret", r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"),
    # Keep the key's name (it tells the reader what was shared), drop the value. JSON (`"password": "x"`),
    # assignments, and prose ("my password is x"); _password_ok refuses ordinary words after "is".
    (
        "password",
        (
            # Not \b: "DB_PASSWORD=" must match too, and "_" is a word character.
            r"(?i:(?<![A-Za-z0-9])(?:password|passwd|passphrase|pass|pwd|secret|client[_-]?secret|api[_-]?key"
            r"|access[_-]?key|auth[_-]?token|token)[\"']?(?:\s*[:=]\s*|\s+(?:is|was)\s+))[\"']?[^\s\"',;]+[\"']?"
        ),
    ),
    # \w is Unicode: internationalized addresses (jürgen@müller.de) are addresses too.
    ("email", r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])"),
    ("iban", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b"),
    ("ssn", r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])"),
    ("card", r"(?<![\d.])\d(?:[ .-]?\d){12,18}(?!\.?\d)"),
    ("ipv4", r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])"),
    ("ipv6", r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])"),
    # Phone numbers are found by libphonenumber (_redact_phones), not by a pattern: this one only names
    # the kind's place in the order, after every rule that could hold a digit run of its own.
    ("phone", r"(?!)"),
)

KINDS: tuple[str, ...] = tuple(kind for kind, _ in _RULES)
_PATTERNS = {kind: re.compile(pattern) for kind, pattern in _RULES}
_DATE_LIKE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}")
_PASSWORD_KEY = re.compile(r"(?i)^.*?(?:[:=]\s*|\s(?:is|was)\s+)")
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
    """False for text no rule can match, decided with substring tests only (the gates below). Preparation
    asks it only of the texts `pii_candidates` flagged, so over a conversation the per-text cost is paid by
    a few texts."""
    return bool(_gates(text))


def _gates(text: str) -> list[str]:
    kinds: list[str] = []
    if "-----BEGIN" in text:
        kinds.append("private_key")
    if "/webhooks/" in text:
        kinds.append("discord_webhook")
    has_at = "@" in text
    if has_at and "://" in text:
        kinds.append("url_credentials")
    if "eyJ" in text:
        kinds.append("jwt")
    if "sk-" in text:
        kinds.append("openai_key")
    if "_live_" in text or "_test_" in text:
        kinds.append("stripe_key")
    if "AIza" in text:
        kinds.append("google_key")
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
    lowered = text.lower()
    if "bearer" in lowered:
        kinds.append("bearer_token")
    if len(text) >= 40 and _BASE64_RUN.search(text):
        kinds.append("aws_secret")
    if "pass" in lowered or "pwd" in lowered or "secret" in lowered or "key" in lowered or "token" in lowered:
        kinds.append("password")
    if has_at and "." in text[text.index("@") :]:
        kinds.append("email")  # "@Bob" mentions, the common case, have no domain after them
    if has_digit(text):
        if _DIGIT_RUN.search(text):
            kinds.extend(("iban", "ssn", "card", "ipv4", "phone") if dots >= 3 else ("iban", "ssn", "card", "phone"))
        elif dots >= 3:
            kinds.append("ipv4")
        if "::" in text or text.count(":") >= 7:
            kinds.append("ipv6")
    elif "::" in text:
        kinds.append("ipv6")  # "fe::" holds no digit but is rare; "a::b" is refused by _ipv6_ok anyway
    return kinds


_BASE64_RUN = re.compile(r"[A-Za-z0-9/+]{40}")


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
        r"_(?:(?<=gh[pousr]_)[A-Za-z0-9]{36}|(?<=github_pat_)[A-Za-z0-9_]{22}|(?:live|test)_[A-Za-z0-9]{16})",  # github, stripe
        r"A(?:KIA|SIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}",  # aws, google
        r"\.(?:[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27}|\d{1,3}\.\d{1,3}\.)",  # discord token, ipv4 (".2.3." of 1.2.3.4)
        r":(?://[^\s/:@\[\]]+:[^\s/@\[\]]+@|[0-9A-Fa-f]{0,4}:)",  # url credentials, ipv6 (":db8:" of 2001:db8::1)
        r"@[\w-]+\.",  # email (its domain's first label and dot)
        r"/webhooks/\d",  # discord webhook
    )
)
# The case-insensitive rules, on the case-folded text: folding keeps every ASCII letter a (?i) pattern
# matches (it also folds 'ſ' to 's' and the Kelvin sign to 'k', which (?i) matches too), and a pattern on
# folded text can stay case-sensitive, which is what lets it start with a literal.
_FOLDED_TRIGGERS = tuple(
    re.compile(pattern)
    for pattern in (
        r"bearer\s+[a-z0-9._~+/-]{20}",  # bearer
        r"p(?:ass(?:word|wd|phrase)?|wd)[\"']?(?:\s*[:=]|\s+(?:is|was)\s)",  # password, passwd, pass, pwd
        r"c(?<=sec)ret[\"']?(?:\s*[:=]|\s+(?:is|was)\s)",  # secret, client_secret
        r"k(?:ey|(?<=tok)en)[\"']?(?:\s*[:=]|\s+(?:is|was)\s)",  # api_key, access_key, auth_token, token
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
# A bare AWS secret is 40 base64 characters in a row. As a character class at every position the regex
# cost 0.2 s per hundred thousand messages; with base64 bytes mapped to "a" it is a literal, found by a
# plain substring scan (bytes.find: three times faster than the same literal as a regex).
_BASE64_CLASSES = bytes(
    0x61 if chr(byte).isascii() and (chr(byte).isalnum() or chr(byte) in "/+") else byte if byte == 0x1E else 0x20
    for byte in range(256)
)
_BASE64_RUN_CLASSES = b"a" * 40
_SEPARATOR = "\x1e"


def _texts_matching(
    pattern: re.Pattern[AnyStr] | bytes, joined: AnyStr, separator: AnyStr, found: set[int]
) -> None:
    """Add to `found` the index of each text of `joined` (texts joined by `separator`) the pattern (or
    plain bytes) matches in. After a hit the search moves on to the next text: one hit per text is all
    the gate needs."""
    index = position = 0
    while True:
        if isinstance(pattern, bytes):
            start = joined.find(pattern, position)  # type: ignore[arg-type]
            if start < 0:
                return
        else:
            match = pattern.search(joined, position)
            if match is None:
                return
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
    encoded = joined.encode("utf-8", "surrogatepass")
    _texts_matching(_DIGIT_RUN_CLASSES, encoded.translate(_DIGIT_CLASSES), _SEPARATOR.encode(), found)
    _texts_matching(_BASE64_RUN_CLASSES, encoded.translate(_BASE64_CLASSES), _SEPARATOR.encode(), found)
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
    {
        "jwt", "openai_key", "stripe_key", "google_key", "github_token", "aws_key", "aws_secret", "slack_token",
        "discord_token", "discord_webhook", "private_key",
    }
)
# Names whose value is a secret only when it looks like one: "token: bucket" is talk about rate limiting.
_WEAK_SECRET_NAMES = ("token", "key", "secret")
# Words that follow "the password is" in talk about passwords rather than in a shared one.
_NOT_A_PASSWORD = frozenset(
    "wrong incorrect invalid expired required correct right empty missing weak strong not the a an too set "
    "changed reset same different case-sensitive saved stored hashed shared there here in on what".split()
)
# Digits before a number that make it an order, ticket or parcel number rather than a phone.
_REFERENCE_CONTEXT = re.compile(
    r"(?i)(?:(?<![^\W\d_])(?:order|ticket|parcel|tracking|invoice|case|ref(?:erence)?|issue|pr|build|job|id|no\.?"
    r"|nr\.?)(?:\s+(?:number|no\.?|#))?|#)\s*[:#]?\s*(?:is\s+)?$"
)
# libphonenumber's national formats for the countries our members write from, most used first; numbers
# written in international form (+49 …) are found whatever the region.
PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "BR", "JP", "AU")
# Where a number written nationally always starts with the trunk prefix 0 ("030 …", "020 …", "06 …"):
# without it, "1700000000" would be a valid German number and a Unix time is redacted as a phone.
_TRUNK_PREFIX_REGIONS = frozenset({"GB", "DE", "FR", "NL", "JP", "AU"})
# A run of digits with the separators people type: "+49 30 55502422", "(202) 555-0143", "06.12.34.56.78".
# ASCII boundaries: Japanese writes "電話番号は03-1234-5678です" with no space around the number.
_PHONE_CANDIDATE = re.compile(r"(?<![A-Za-z0-9_+])(?:\+|\(\+?)?\d(?:[ \t().\-/]{0,2}\d){6,16}(?![A-Za-z0-9_])")


def _is_phone(value: str) -> bool:
    digits = sum(c.isdigit() for c in value)
    if not 7 <= digits <= 15 or _DATE_LIKE.search(value):
        return False  # "01.05.2024" is a valid Italian number and a date
    if value.startswith("+"):
        return _parses(value, None, phonenumbers.is_possible_number)
    trunk = value.lstrip("(").startswith("0")
    return any(
        _parses(value, region, phonenumbers.is_valid_number)
        for region in PHONE_REGIONS
        if trunk or region not in _TRUNK_PREFIX_REGIONS
    )


def _parses(value: str, region: str | None, check: Callable[[phonenumbers.PhoneNumber], bool]) -> bool:
    try:
        return check(phonenumbers.parse(value, region))
    except phonenumbers.NumberParseException:
        return False


def _ipv4_ok(value: str) -> bool:
    # "1.2.3.4" is a version number far more often than an address; single-digit octets are never personal.
    return any(len(octet) > 1 for octet in value.split("."))


def _aws_secret_ok(value: str) -> bool:
    # Base64 of random bytes mixes cases and digits; a git SHA (hex) or a long word does not.
    return (
        any(c.isupper() for c in value) and any(c.islower() for c in value) and any(c.isdigit() for c in value)
        and not all(c in "0123456789abcdefABCDEF" for c in value)
    )


def _password_ok(value: str) -> bool:
    key = _PASSWORD_KEY.match(value)
    secret = value[key.end() :].strip("\"'") if key else value
    name = key.group().lower() if key else ""
    if secret.lower() in _NOT_A_PASSWORD:
        return False
    if any(weak in name for weak in _WEAK_SECRET_NAMES) and not any(
        strong in name for strong in ("pass", "pwd", "client")
    ):
        # An API key or a token is long or holds digits; a plain word after "token:" is prose.
        return len(secret) >= 16 or any(c.isdigit() for c in secret)
    return True


def _iban_ok(value: str) -> bool:
    return iban.is_valid(value)


def _ssn_ok(value: str) -> bool:
    return ssn.is_valid(value)


def _ipv6_ok(value: str) -> bool:
    if not any(c.isdigit() for c in value) or value.count(":") < 2:
        return False  # "a::b" in code is a scope operator, not an address
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


_VALIDATORS: dict[str, Callable[[str], bool]] = {
    "card": lambda value: luhn_valid("".join(c for c in value if c.isdigit())),
    "iban": _iban_ok,
    "ssn": _ssn_ok,
    "ipv4": _ipv4_ok,
    "ipv6": _ipv6_ok,
    "aws_secret": _aws_secret_ok,
    "password": _password_ok,
}


def normalized_for_redaction(text: str) -> str:
    """NFKC, so that full-width digits (０３０…) and look-alike '@' or '.' are seen as what they are."""
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return text
    return unicodedata.normalize("NFKC", text)


class Redactor:
    """Stateful only in its counters, so one instance serves one request."""

    __slots__ = ("_replacers", "counts")

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._replacers = {kind: self._replacer(kind) for kind in KINDS}

    def _replacer(self, kind: str) -> Callable[[re.Match[str]], str]:
        validate = _VALIDATORS.get(kind)

        def replace(match: re.Match[str]) -> str:
            value = match.group()
            if validate is not None and not validate(value):
                return value  # the rules after this one get their chance
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

    def _redact_phones(self, text: str) -> str:
        # Digit runs shaped like a number, each checked by libphonenumber: written with a country code, a
        # number of a possible length is taken (fictional 555 numbers and new ranges included); written
        # nationally, it must be valid in one of PHONE_REGIONS' numbering plans. Parsing each run beats
        # PhoneNumberMatcher's twelve scans of the whole text by two orders of magnitude.
        pieces: list[str] = []
        position = 0
        for match in _PHONE_CANDIDATE.finditer(text):
            value = match.group()
            if not _is_phone(value) or _REFERENCE_CONTEXT.search(text[max(0, match.start() - 20) : match.start()]):
                continue
            pieces += [text[position : match.start()], "[phone]"]
            position = match.end()
            self.counts["phone"] += 1
        return "".join(pieces) + text[position:] if pieces else text

    def redact(self, text: str) -> str:
        """Redact one text; a text that needed NFKC to show its PII comes back normalized."""
        normalized = normalized_for_redaction(text)
        redacted = normalized
        # Rules apply in _RULES order; a placeholder holds no digit, '@' or key shape, so a later rule
        # never matches inside an earlier rule's replacement.
        for kind in _gates(normalized):
            if kind == "phone":
                redacted = self._redact_phones(redacted)
            else:
                redacted = _PATTERNS[kind].sub(self._replacers[kind], redacted)
        return text if redacted == normalized else redacted


def redact_text(text: str) -> tuple[str, dict[str, int]]:
    """Redact one text; returns it with the count of each kind replaced."""
    redactor = Redactor()
    return redactor.redact(text), dict(redactor.counts)
