"""A rough guess of the conversation's language, for the offline engine (the LLM reports its own).

Script first (Cyrillic, CJK, Arabic... decide alone), then the share of very common words for the Latin
languages. Good enough to label a summary; "und" when unsure.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_WORD = re.compile(r"[^\W\d_]+")
_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the",
            "and",
            "is",
            "are",
            "to",
            "of",
            "it",
            "you",
            "that",
            "this",
            "we",
            "i",
            "for",
            "with",
            "was",
            "not",
            "have",
            "be",
            "on",
            "what",
            "but",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "la",
            "los",
            "las",
            "que",
            "de",
            "y",
            "es",
            "en",
            "un",
            "una",
            "por",
            "para",
            "con",
            "no",
            "lo",
            "pero",
            "se",
            "como",
            "está",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "des",
            "que",
            "de",
            "et",
            "est",
            "un",
            "une",
            "pour",
            "pas",
            "dans",
            "ce",
            "il",
            "je",
            "on",
            "mais",
            "avec",
            "sur",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "und",
            "ist",
            "nicht",
            "ich",
            "wir",
            "ein",
            "eine",
            "zu",
            "mit",
            "auf",
            "den",
            "es",
            "sie",
            "auch",
            "aber",
        ]
    ),
    "pt": frozenset(
        [
            "o",
            "a",
            "os",
            "as",
            "que",
            "de",
            "e",
            "é",
            "um",
            "uma",
            "para",
            "não",
            "com",
            "em",
            "do",
            "da",
            "no",
            "na",
            "mas",
        ]
    ),
    "it": frozenset(
        [
            "il",
            "lo",
            "la",
            "gli",
            "le",
            "che",
            "di",
            "e",
            "è",
            "un",
            "una",
            "per",
            "non",
            "con",
            "in",
            "del",
            "della",
            "ma",
            "sono",
        ]
    ),
    "nl": frozenset(
        ["de", "het", "een", "en", "is", "niet", "dat", "ik", "we", "van", "op", "te", "met", "voor", "maar", "zijn"]
    ),
}
_SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
)


def detect_language(texts: Iterable[str], *, sample_chars: int = 20_000) -> str:
    sample_parts: list[str] = []
    size = 0
    for text in texts:
        sample_parts.append(text)
        size += len(text)
        if size >= sample_chars:
            break
    sample = " ".join(sample_parts)
    letters = sum(1 for c in sample if c.isalpha())
    if not letters:
        return "und"
    for code, pattern in _SCRIPTS:
        if len(pattern.findall(sample)) > letters * 0.3:
            return code
    words = Counter(w.lower() for w in _WORD.findall(sample))
    total = sum(words.values())
    scores = {code: sum(words[w] for w in stops) / total for code, stops in _STOPWORDS.items()}
    best = max(scores, key=lambda code: scores[code])
    return best if scores[best] >= 0.05 else "und"
