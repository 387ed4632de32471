"""The redaction table (tests/summaries/redaction_cases.py): every planted value is removed, every
ordinary text is left alone, through the function and through preparation (what reaches a provider)."""

from __future__ import annotations

import pytest

from summaries.engine.normalize import prepare
from summaries.engine.options import SummaryOptions
from summaries.engine.redact import normalized_for_redaction, redact_text
from summaries.engine.synthetic import make_message
from tests.summaries.redaction_cases import NEGATIVE, POSITIVE


def test_the_table_is_as_large_as_promised():
    assert len(POSITIVE) >= 80 and len(NEGATIVE) >= 40


@pytest.mark.parametrize(("text", "secret"), POSITIVE, ids=[text[:40] for text, _ in POSITIVE])
def test_planted_pii_is_removed(text: str, secret: str) -> None:
    redacted, counts = redact_text(text)
    assert secret not in redacted and normalized_for_redaction(secret) not in redacted, redacted
    assert counts and all(n > 0 for n in counts.values())
    assert secret not in prepare([make_message(0, text)], SummaryOptions()).messages[0].text


@pytest.mark.parametrize("text", NEGATIVE, ids=[text[:40] for text in NEGATIVE])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == (text, {})


@pytest.mark.django_db(transaction=True)  # the provider's shared limiter lives in the cache
async def test_no_planted_pii_reaches_the_provider_in_a_5000_message_summary(fake_openai, make_provider) -> None:
    from dataclasses import replace

    from summaries.engine import summarize
    from summaries.engine.synthetic import synthetic_conversation
    from summaries.engine.types import Author

    messages = synthetic_conversation(5_000)
    planted = {}
    # Every table value planted among ordinary chat, and two members whose display names are PII.
    for n, (text, secret) in enumerate(POSITIVE):
        position = 40 + n * 55
        messages[position] = replace(messages[position], content=text)
        planted[position] = secret
    for position, name in ((13, "jane.doe@example.com"), (2_000, "+49 30 55502422")):
        author = Author(id=99_000 + position, name=name, display_name=name)
        messages[position] = replace(messages[position], author=author)
    provider = make_provider(context_tokens=16_000)

    result = await summarize(messages, SummaryOptions(format="structured", language="en"), provider=provider)

    sent = "\n".join(m["content"] for r in fake_openai.chat_requests for m in r.body["messages"])
    leaked = [secret for secret in planted.values() if secret in sent or normalized_for_redaction(secret) in sent]
    assert leaked == []
    assert "jane.doe@example.com" not in sent and "55502422" not in sent
    assert result.usage.llm_calls == len(fake_openai.chat_requests) > 1
