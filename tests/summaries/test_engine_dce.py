"""DiscordChatExporter JSON import."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from summaries.engine.dce import load_dce, load_dce_file, parse_dce
from summaries.engine.normalize import prepare
from summaries.engine.options import SummaryOptions
from summarybot.errors import InvalidInput

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dce"
BASE = 1180000000000000000


def mid(i: int) -> int:
    return BASE + i * 100000


def test_a_real_export_becomes_chat_messages() -> None:
    export = load_dce_file(FIXTURES / "backend.json")
    assert (export.guild_id, export.guild_name) == (873290765519851561, "Summary Bot Dev")
    assert (export.channel_id, export.channel_name, export.channel_topic) == (
        873290766002196530,
        "backend",
        "Backend talk",
    )
    assert len(export.messages) == 15
    by_id = {m.id: m for m in export.messages}

    join = by_id[mid(0)]
    assert join.kind == "system"
    # .NET's seven fraction digits are read.
    assert join.created_at == datetime(2026, 11, 20, 8, 59, 12, 123456, tzinfo=UTC)

    first = by_id[mid(1)]
    assert (first.author.id, first.author.shown_name, first.author.bot) == (264462731318198272, "Alice", False)
    assert (first.channel_id, first.guild_id, first.reactions) == (873290766002196530, 873290765519851561, 3)

    reply = by_id[mid(2)]
    assert (reply.kind, reply.reply_to) == ("reply", mid(1))
    assert by_id[mid(4)].user_mentions == {301748503539556352: "Bob"}
    assert by_id[mid(5)].author.bot and by_id[mid(5)].embeds[0].title == "Build #4521 failed"
    assert by_id[mid(8)].attachments[0].filename == "migration-plan.png"
    assert by_id[mid(12)].kind == "system"  # ChannelPinnedMessage
    assert by_id[mid(13)].sticker_names == ("Wave",)
    assert by_id[mid(3)].author.shown_name == "carol.dev"  # no nickname: the username


def test_the_export_prepares_into_a_clean_conversation() -> None:
    conversation = prepare(load_dce_file(FIXTURES / "backend.json").messages, SummaryOptions())
    texts = {m.message_id: m.text for m in conversation.messages}
    assert texts[mid(4)].startswith("@Bob can you update")
    assert texts[mid(8)] == "Here is the plan for the migration :postgres: [image: migration-plan.png]"
    assert "[email]" in texts[mid(6)]
    assert texts[mid(13)] == "[sticker: Wave]"
    assert conversation.dropped == {"system": 2, "bot": 1, "opt_out_marker": 1}
    assert conversation.redactions == {"email": 1}


def test_dm_exports_have_no_guild() -> None:
    data = json.loads((FIXTURES / "backend.json").read_text())
    data["guild"] = {"id": "0", "name": "Direct Messages"}
    assert parse_dce(data).messages[0].guild_id is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe not utf-8", "not UTF-8"),
        ("[]", "expected an object with a 'messages' list"),
        ('{"messages": {}}', "expected an object with a 'messages' list"),
        ('{"channel": {"id": "x"}, "messages": []}', "channel.id must be a Discord id"),
        ('{"channel": {"id": "1"}, "messages": [{"id": "5"}]}', "message 5 (messages[0]).author must be an object"),
        (
            '{"channel": {"id": "1"}, "messages": [{"id": "5", "author": {"id": "2"}, "timestamp": 3}]}',
            "message 5 (messages[0]).timestamp must be an ISO 8601 date",
        ),
        (
            (
                '{"channel": {"id": "1"}, "messages": [{"id": "5", "author": {"id": "2"}, '
                '"timestamp": "2026-01-01T00:00:00Z", "attachments": "x"}]}'
            ),
            "attachments must be a list",
        ),
        ('{"channel": {"id": NaN}, "messages": []}', "NaN is not a JSON value"),
        ('{"channel": {"id": 1.5}, "messages": []}', "channel.id must be a Discord id, got 1.5"),
        ('{"channel": {"id": "-3"}, "messages": []}', "channel.id must be a Discord id"),
        ('{"channel": {"id": "99999999999999999999"}, "messages": []}', "channel.id must be a Discord id"),
        ('{"channel": {"id": ' + "9" * 5000 + '}, "messages": []}', "not valid JSON: Exceeds the limit"),
        ('{"channel": {"id": "' + "9" * 5000 + '"}, "messages": []}', "got '99999999999999999999999999999999999999…"),
        ('{"channel": {"id": "1", "name": "a\\udfff"}, "messages": []}', "channel.name holds a lone UTF-16 surrogate"),
        ('{"channel": {"id": "1"}, "messages": [], "x\\ud800": 1}', "A key in the export holds a lone UTF-16"),
        ('{"channel": {"id": "1"}, "messages": ["\ud800"]}', "not UTF-8 text: it holds a lone UTF-16 surrogate"),
    ],
)
def test_malformed_exports_say_what_is_wrong(content: str | bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        load_dce(content)


def test_a_surrogate_pair_escaped_in_json_is_ordinary_text() -> None:
    data = json.loads((FIXTURES / "backend.json").read_text())
    data["messages"][0]["content"] = "EMOJI"
    export = load_dce(json.dumps(data).replace("EMOJI", "ship it \\ud83d\\ude80"))
    assert export.messages[0].content == "ship it \U0001f680"


def test_fixture_files_for_bad_input_are_refused() -> None:
    with pytest.raises(InvalidInput, match="not valid JSON"):
        load_dce_file(FIXTURES / "truncated.json")
    with pytest.raises(InvalidInput, match="timestamp must be an ISO 8601 date"):
        load_dce_file(FIXTURES / "bad_timestamp.json")
    with pytest.raises(InvalidInput, match="Cannot read the export"):
        load_dce_file(FIXTURES / "missing.json")
    assert load_dce_file(FIXTURES / "empty.json").messages == []
