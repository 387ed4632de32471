"""Token counting works offline, picks the model's encoding and is built once."""

from __future__ import annotations

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
    assert counter.count_chat([{"content": "hello world"}]) == 2 + tokens.TOKENS_PER_CHAT_MESSAGE + tokens.TOKENS_PER_REQUEST
    long_text = "word " * 500
    cut = counter.truncate(long_text, 50)
    assert cut.endswith("…[truncated]") and counter.count(cut) <= 60
    assert counter.truncate("short", 50) == "short"
