"""The benchmark's channel shapes: each holds what it claims to, the same way for a given seed."""

from __future__ import annotations

import pytest

from summaries.engine.synthetic import SHAPES, shaped_conversation, synthetic_conversation


def share(messages, predicate) -> float:
    return sum(1 for m in messages if predicate(m.content)) / len(messages)


@pytest.mark.parametrize("shape", ["github", "links", "technical", "research"])
def test_link_heavy_shapes_have_30_to_60_percent_of_messages_with_urls(shape: str) -> None:
    messages = shaped_conversation(shape, 2000, seed=3)
    assert 0.3 <= share(messages, lambda text: "://" in text) <= 0.65


@pytest.mark.parametrize("shape", ["github", "links", "technical", "research", "estonian"])
def test_urls_are_shared_again(shape: str) -> None:
    urls = [word for m in shaped_conversation(shape, 2000, seed=3) for word in m.content.split() if "://" in word]
    assert len(set(urls)) < 0.85 * len(urls)


def test_technical_shapes_carry_code_logs_and_quotes() -> None:
    messages = shaped_conversation("technical", 2000, seed=3)
    assert share(messages, lambda text: "```" in text) > 0.1
    assert share(messages, lambda text: text.count("\n") > 20) > 0.05  # long code blocks and pasted logs
    assert share(messages, lambda text: text.startswith("> ")) > 0.01
    assert share(messages, lambda text: len(text) > 400) > 0.2


def test_links_shape_is_mostly_links_alone() -> None:
    messages = shaped_conversation("links", 2000, seed=3)
    assert share(messages, lambda text: text.startswith("https://") and " " not in text) > 0.4


def test_estonian_shape_is_not_english() -> None:
    assert share(shaped_conversation("estonian", 500, seed=3), lambda text: any(c in text for c in "äöõü")) > 0.4


def test_shapes_are_deterministic_and_developer_is_the_classic_chat() -> None:
    for shape in SHAPES:
        assert [m.content for m in shaped_conversation(shape, 50, seed=5)] == [
            m.content for m in shaped_conversation(shape, 50, seed=5)
        ]
    assert shaped_conversation("developer", 30, seed=5) == synthetic_conversation(30, seed=5)
    with pytest.raises(ValueError, match="unknown shape"):
        shaped_conversation("nope", 10)
