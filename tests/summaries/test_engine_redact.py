"""PII and secret redaction: each rule, the false positives it must avoid, and that nothing leaks."""

from __future__ import annotations

import asyncio
import logging

import pytest

from summaries.engine.normalize import prepare
from summaries.engine.options import SummaryOptions
from summaries.engine.pipeline import summarize
from summaries.engine.redact import luhn_valid, may_hold_pii, redact_text
from summaries.engine.synthetic import make_message

FAKE_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("write to jane.doe+work@example.co.uk today", "write to [email] today", "email"),
        ("call me at +1 (555) 123-4567", "call me at [phone]", "phone"),
        ("my number is 06 12 34 56 78", "my number is [phone]", "phone"),
        ("whatsapp +447911123456", "whatsapp [phone]", "phone"),
        ("server at 192.168.10.254, ok", "server at [ipv4], ok", "ipv4"),
        ("v6 is 2001:db8:85a3::8a2e:370:7334 now", "v6 is [ipv6] now", "ipv6"),
        ("link-local fe80::1 here", "link-local [ipv6] here", "ipv6"),
        ("full 2001:0db8:85a3:0000:0000:8a2e:0370:7334 form", "full [ipv6] form", "ipv6"),
        ("card 4111 1111 1111 1111 exp", "card [card] exp", "card"),
        ("card 5500-0000-0000-0004", "card [card]", "card"),
        ("key sk-proj-Abc123def456GHI789jkl012mno345", "key [secret]", "openai_key"),
        ("old key sk-abcdefghijklmnopqrstuvwxyz0123456789ABCD", "old key [secret]", "openai_key"),
        ("token ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "token [secret]", "github_token"),
        ("pat github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "pat [secret]", "github_token"),
        ("aws AKIAIOSFODNN7EXAMPLE key", "aws [secret] key", "aws_key"),
        ("slack xoxb-123456789012-abcdefghijkl", "slack [secret]", "slack_token"),
        (f"jwt {FAKE_JWT}", "jwt [secret]", "jwt"),
        (
            "bot token MTA5ODc2NTQzMjEwOTg3NjU0Mw.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB",
            "bot token [secret]",
            "discord_token",
        ),
        (
            "header Authorization: Bearer abcdefghij0123456789xyz",
            "header Authorization: Bearer [secret]",
            "bearer_token",
        ),
        ("db password=hunter2!!", "db password=[secret]", "password"),
        ("export DB_PASSWORD = hunter2", "export DB_PASSWORD = [secret]", "password"),
        ("BEARER ABCDEFGHIJ0123456789XYZ in caps", "BEARER [secret] in caps", "bearer_token"),
        ('set API_KEY: "s3cr3t-value" then', "set API_KEY: [secret] then", "password"),
        (
            "use postgres://admin:pa55w0rd@db.internal:5432/app",
            "use postgres://[credentials]@db.internal:5432/app",
            "url_credentials",
        ),
        ("open https://user:tok@example.com/x", "open https://[credentials]@example.com/x", "url_credentials"),
        ("local redis://admin:hunter2@localhost/0", "local redis://[credentials]@localhost/0", "url_credentials"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY----- oops",
            "[secret] oops",
            "private_key",
        ),
    ],
)
def test_each_kind_is_replaced_by_its_placeholder_and_counted(text: str, expected: str, kind: str) -> None:
    redacted, counts = redact_text(text)
    assert redacted == expected
    assert counts == {kind: 1}
    # The cheap gate preparation uses must let every one of them through to the rules.
    assert may_hold_pii(text)
    assert prepare([make_message(0, text)], SummaryOptions()).messages[0].text == expected


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112 fails the Luhn check",
        "released v1.2.3 on 2024-05-01 12:30",
        "see message 1100000000000614400 and issue #4521",
        "std::vector<int> and a::b are code",
        "meeting 01.05.2024 at 14:00",
        "the build took 12 minutes, 3 retries",
        "ratio 3:2 and time 10:45:30",
        "password reset flow is broken",
        "the token expired yesterday",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == (text, {})


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")


def test_several_values_in_one_message_are_all_counted() -> None:
    redacted, counts = redact_text("a@b.io, c@d.io and 10.0.0.1")
    assert redacted == "[email], [email] and [ipv4]"
    assert counts == {"email": 2, "ipv4": 1}


def test_preparation_redacts_text_and_tags_and_totals_the_counts() -> None:
    messages = [
        make_message(0, "mail bob@example.com"),
        make_message(1, "and alice@example.com, key sk-abcdefghijklmnopqrstuvwx"),
    ]
    conversation = prepare(messages, SummaryOptions())
    assert [m.text for m in conversation.messages] == ["mail [email]", "and [email], key [secret]"]
    assert conversation.redactions == {"email": 2, "openai_key": 1}


def test_preparation_catches_uppercase_bearer_and_prefixed_password_keys() -> None:
    messages = [
        make_message(0, "ok"),
        make_message(1, "BEARER ABCDEFGHIJ0123456789XYZ"),
        make_message(2, "set DB_PASSWORD=hunter2 please"),
    ]
    conversation = prepare(messages, SummaryOptions())
    assert [m.text for m in conversation.messages][1:] == ["BEARER [secret]", "set DB_PASSWORD=[secret] please"]
    assert conversation.redactions == {"bearer_token": 1, "password": 1}


def test_redaction_can_be_turned_off() -> None:
    conversation = prepare([make_message(0, "mail bob@example.com")], SummaryOptions(redact_pii=False))
    assert conversation.messages[0].text == "mail bob@example.com"
    assert conversation.redactions == {}


def test_secrets_never_reach_the_result_or_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    secret = "sk-proj-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1"
    messages = [
        make_message(0, f"here is the key {secret} can you rotate it?"),
        make_message(1, "I'll rotate it, mail me at ops@example.com", author_id=2, author_name="bob"),
    ]
    with caplog.at_level(logging.DEBUG):
        result = asyncio.run(summarize(messages, SummaryOptions(), provider=None))
    stored = str(result.to_dict())
    assert secret not in stored and "ops@example.com" not in stored
    assert secret not in caplog.text and "ops@example.com" not in caplog.text
    assert result.redactions == {"openai_key": 1, "email": 1}


SCATTERED = [
    "write to jane.doe+work@example.co.uk today",
    "call me at +1 (555) 123-4567",
    "server at 192.168.10.254, ok",
    "link-local fe80::1 here",
    "card 4111 1111 1111 1111 exp",
    "key sk-proj-Abc123def456GHI789jkl012mno345",
    "token ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgHiJ",
    "aws AKIAIOSFODNN7EXAMPLE key",
    "slack xoxb-123456789012-abcdefghijkl",
    f"jwt {FAKE_JWT}",
    "bot token MTA5ODc2NTQzMjEwOTg3NjU0Mw.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB",
    "header Authorization: Bearer abcdefghij0123456789xyz",
    "db password = hunter2!!",
    "use postgres://admin:pa55w0rd@db.internal:5432/app",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- oops",
]


@pytest.mark.parametrize("separator_in_chat", [False, True])
def test_a_conversation_is_redacted_as_each_message_alone(separator_in_chat: bool) -> None:
    # Preparation gates the whole conversation at once and maps hits back to messages: values at its
    # first and last message and between multi-byte text must each land on their own message.
    filler = ["ok", "naïve café 日本語 😀 v1.2 at 10:30", "the token expired yesterday", "see @Bob. and a::b"]
    texts = [SCATTERED[0]]
    for position, text in enumerate(SCATTERED[1:]):
        texts += [filler[position % len(filler)], text]
    if separator_in_chat:
        texts.insert(3, "odd \x1e byte")
    prepared = prepare([make_message(i, t) for i, t in enumerate(texts)], SummaryOptions())
    assert [m.text for m in prepared.messages] == [redact_text(t)[0].strip() for t in texts]
    assert sum(prepared.redactions.values()) == len(SCATTERED)
