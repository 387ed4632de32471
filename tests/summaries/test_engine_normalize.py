"""Preparation: Discord markup to readable text, tags for attachments, and who is left out."""

from __future__ import annotations

import pytest

from summaries.engine.normalize import normalize_content, prepare
from summaries.engine.options import SummaryOptions
from summaries.engine.synthetic import make_message, message_id
from summaries.engine.types import Attachment, EmbedInfo

OPTIONS = SummaryOptions()


def texts(messages, options=OPTIONS) -> list[str]:
    return [m.text for m in prepare(messages, options).messages]


@pytest.mark.parametrize("markup", ["<@42>", "<@!42>"])
def test_user_mentions_become_names_from_the_mention_map(markup: str) -> None:
    message = make_message(0, f"thanks {markup}!", user_mentions={42: "Bob"})
    assert normalize_content(message) == "thanks @Bob!"


def test_unknown_user_mention_does_not_leak_the_id() -> None:
    assert normalize_content(make_message(0, "hey <@999>")) == "hey @unknown-user"


def test_role_and_channel_mentions_become_names() -> None:
    message = make_message(0, "<@&7> see <#8>", role_mentions={7: "Moderators"}, channel_mentions={8: "rules"})
    assert normalize_content(message) == "@Moderators see #rules"


@pytest.mark.parametrize(
    ("markup", "expected"),
    [("<:pepe:123456789012345678>", ":pepe:"), ("<a:party_parrot:123456789012345678>", ":party_parrot:")],
)
def test_custom_emoji_become_their_names(markup: str, expected: str) -> None:
    assert normalize_content(make_message(0, f"nice {markup}")) == f"nice {expected}"


def test_discord_timestamps_become_readable_dates() -> None:
    assert normalize_content(make_message(0, "at <t:1767225600:R>")) == "at 2026-01-01 00:00 UTC"


def test_attachments_embeds_and_stickers_become_short_tags() -> None:
    message = make_message(
        0,
        "look",
        attachments=(
            Attachment(filename="x.png"),
            Attachment(filename="clip.bin", content_type="video/mp4"),
            Attachment(filename="notes.pdf"),
        ),
        embeds=(EmbedInfo(title="Release 2.0", url="https://example.com"), EmbedInfo(url="https://x.org/a")),
        sticker_names=("wave",),
    )
    assert normalize_content(message) == (
        "look [image: x.png] [video: clip.bin] [file: notes.pdf] [embed: Release 2.0] [embed: https://x.org/a] "
        "[sticker: wave]"
    )


def test_an_attachment_alone_is_kept_as_its_tag() -> None:
    assert texts([make_message(0, "", attachments=(Attachment(filename="a.jpg"),))]) == ["[image: a.jpg]"]


def test_code_blocks_are_kept_verbatim_and_their_markup_untouched() -> None:
    content = "run this:\n```py\nprint('<@42>')\n\n\n\nx = 1\n```\nthen ping <@42> and `<#8>`"
    message = make_message(0, content, user_mentions={42: "Bob"}, channel_mentions={8: "rules"})
    normalized = normalize_content(message)
    assert "```py\nprint('<@42>')\n\n\n\nx = 1\n```" in normalized
    assert normalized.endswith("then ping @Bob and `<#8>`")


def test_bot_messages_are_dropped_unless_asked_for() -> None:
    messages = [make_message(0, "human"), make_message(1, "beep", author_id=2, author_name="bot", bot=True)]
    assert texts(messages) == ["human"]
    assert texts(messages, SummaryOptions(include_bots=True)) == ["human", "beep"]


def test_system_messages_are_dropped_unless_asked_for_and_then_tagged() -> None:
    messages = [make_message(0, "hello"), make_message(1, "Joined the server.", kind="system")]
    assert texts(messages) == ["hello"]
    assert texts(messages, SummaryOptions(include_system=True)) == ["hello", "[system] Joined the server."]


def test_opt_out_marker_excludes_the_message_whatever_its_case_and_leading_space() -> None:
    messages = [
        make_message(0, "!nosummary my private thought"),
        make_message(1, "  !NoSummary also private"),
        make_message(2, "public !nosummary in the middle is not a marker"),
    ]
    conversation = prepare(messages, OPTIONS)
    assert [m.text for m in conversation.messages] == ["public !nosummary in the middle is not a marker"]
    assert conversation.dropped == {"opt_out_marker": 2}


def test_custom_opt_out_marker() -> None:
    messages = [make_message(0, "[private] x"), make_message(1, "!nosummary y")]
    assert texts(messages, SummaryOptions(opt_out_marker="[private]")) == ["!nosummary y"]


def test_opted_out_users_are_excluded_entirely() -> None:
    messages = [make_message(0, "mine", author_id=1), make_message(1, "theirs", author_id=2, author_name="bob")]
    conversation = prepare(messages, SummaryOptions(opted_out_user_ids=frozenset({2})))
    assert [m.text for m in conversation.messages] == ["mine"]
    assert conversation.dropped == {"opted_out_user": 1}
    assert conversation.participant_count == 1


def test_replies_point_at_the_parent_position_only_when_the_parent_is_kept() -> None:
    messages = [
        make_message(0, "question?"),
        make_message(1, "!nosummary hidden"),
        make_message(2, "answer", reply_to=message_id(0), kind="reply"),
        make_message(3, "reply to hidden", reply_to=message_id(1), kind="reply"),
    ]
    prepared = prepare(messages, OPTIONS).messages
    assert [(m.index, m.reply_to_index) for m in prepared] == [(0, None), (1, 0), (2, None)]


def test_messages_are_ordered_by_id_and_duplicates_removed() -> None:
    first, second = make_message(0, "first"), make_message(1, "second")
    assert texts([second, first, second]) == ["first", "second"]


def test_display_name_is_preferred_over_the_username() -> None:
    prepared = prepare([make_message(0, "hi", author_name="bob_1987", display_name="Bob")], OPTIONS).messages
    assert prepared[0].author_name == "Bob"


def test_empty_messages_are_dropped() -> None:
    conversation = prepare([make_message(0, "   "), make_message(1, "ok")], OPTIONS)
    assert [m.text for m in conversation.messages] == ["ok"]
    assert conversation.dropped == {"empty": 1}
