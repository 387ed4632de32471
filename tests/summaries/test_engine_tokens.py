"""Token counting works offline, picks the model's encoding and is built once."""

from __future__ import annotations

import sys

import pytest
import tiktoken.load

from summaries.engine import tokens
from summaries.engine.tokens import TokenCounter, encoding_name_for_model, get_encoding


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4o", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("openai/gpt-4.1", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("llama-3.1-8b-instruct", "cl100k_base"),
    ],
)
def test_model_families_map_to_their_encoding(model: str, encoding: str) -> None:
    assert encoding_name_for_model(model) == encoding


def test_encodings_load_without_any_download(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("tiktoken tried to fetch a BPE file")

    monkeypatch.setattr(tiktoken.load, "read_file", no_network)
    monkeypatch.setattr(tiktoken.load, "read_file_cached", no_network)
    get_encoding.cache_clear()
    try:
        assert get_encoding("o200k_base").encode_ordinary("hello world") == [24912, 2375]
        assert get_encoding("cl100k_base").encode_ordinary("hello world") == [15339, 1917]
    finally:
        get_encoding.cache_clear()


def test_the_encoding_is_cached() -> None:
    assert get_encoding("o200k_base") is get_encoding("o200k_base")
    assert TokenCounter("gpt-4o").encoding is TokenCounter("gpt-4.1").encoding


def test_a_corrupted_bundle_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(tokens._SPECS["cl100k_base"], "sha256", "0" * 64)
    with pytest.raises(RuntimeError, match="does not match"):
        tokens._load_ranks("cl100k_base")


def test_counting_and_truncating() -> None:
    counter = TokenCounter("gpt-4o-mini")
    assert counter.count("hello world") == 2
    assert counter.count_many(["hello", "hello world", ""]) == [1, 2, 0]
    assert (
        counter.count_chat([{"content": "hello world"}])
        == 2 + tokens.TOKENS_PER_CHAT_MESSAGE + tokens.TOKENS_PER_REQUEST
    )
    long_text = "word " * 500
    cut = counter.truncate(long_text, 50)
    assert cut.endswith("…[truncated]") and counter.count(cut) <= 60
    assert counter.truncate("short", 50) == "short"


def test_counting_many_texts_at_once_matches_counting_each_alone() -> None:
    from summaries.engine.synthetic import synthetic_conversation

    chat = [m.content for m in synthetic_conversation(500, seed=8)]
    edges = ["ok?", "¿qué?", "```py\nx = 1\n```", "123", "456 789", "naïve café 日本語", "'s", " lead", "trail "]
    for tokenizer in (TokenCounter("gpt-4o-mini"), TokenCounter("gpt-4-turbo")):
        # Exact on chat, with duplicates folded and without.
        assert tokenizer.count_many(chat) == [tokenizer.count(t) for t in chat]
        distinct = list(dict.fromkeys(chat))
        assert tokenizer.count_many(distinct) == [tokenizer.count(t) for t in distinct]
        # At worst one more at a text starting with punctuation; never fewer (budgets must hold).
        many = tokenizer.count_many(edges + chat[:3])
        alone = [tokenizer.count(t) for t in edges + chat[:3]]
        assert all(0 <= m - a <= 1 for m, a in zip(many, alone, strict=True))
    # "ouched!" (o200k) and " filler!" (cl100k) end in a token whose bytes, with the next token's, hold
    # the separator token's bytes across the boundary between the two: that is not a separator.
    straddling = ["untouched!", "x", " filler!", "y", "ouched!", "z"]
    # Special-token text in chat is ordinary text, in one pass as alone.
    special = ["see <|endoftext|> here", "<|endofprompt|>", "<|fim_prefix|>x"]
    for tokenizer in (TokenCounter("gpt-4o-mini"), TokenCounter("gpt-4-turbo")):
        assert tokenizer.count_many(straddling) == [tokenizer.count(t) for t in straddling]
        assert tokenizer.count_many(special) == [tokenizer.count(t) for t in special]
    counter = TokenCounter("gpt-4o-mini")
    # A text holding the separator itself falls back to one encoding per text.
    assert counter.count_many(["a\x1eb", "c"]) == [counter.count("a\x1eb"), 1]
    assert counter.count_many([]) == [] and counter.count_many(["hello world"]) == [2]


def test_the_split_count_falls_back_where_the_separator_straddles_two_tokens() -> None:
    from summaries.engine.synthetic import SHAPES, shaped_conversation

    # In o200k "ouched!" ends in a token whose bytes, with the next token's, spell the separator's token.
    tricky = ["I was touched! really", "ouched!", "hello", "x ouched! y", "the end"]
    counter = TokenCounter("gpt-4o-mini")
    data = counter._token_bytes(tokens._SEPARATOR.join(tricky))
    assert data.count(counter._separator_token().to_bytes(tokens._TOKEN_SIZE, sys.byteorder)) > len(tricky) - 1
    assert counter.count_many(tricky) == [counter.count(t) for t in tricky]
    # Where nothing straddles, the split in C gives what the search one separator at a time gave.
    for shape in SHAPES:
        texts = list(dict.fromkeys(m.content for m in shaped_conversation(shape, 400, seed=5)))
        data = counter._token_bytes(tokens._SEPARATOR.join(texts))
        separator = counter._separator_token().to_bytes(tokens._TOKEN_SIZE, sys.byteorder)
        assert counter.count_many(texts) == counter._count_by_search(data, separator, texts)
