"""Mention Q&A's text work: the question, the numbered transcript, citations as links, the offline answer."""

from __future__ import annotations

from summaries.engine.answer import NOTHING_FOUND, answer_prompt, offline_answer, question_text, strip_mentions
from summaries.engine.citations import link_inline_refs
from summaries.engine.normalize import prepare
from summaries.engine.options import SummaryOptions
from summaries.engine.render.discord_limits import MESSAGE_CONTENT, shorten
from summaries.engine.synthetic import CHANNEL_ID, GUILD_ID, make_message, message_id
from summaries.engine.tokens import TokenCounter
from summaries.engine.transcript import render_recent

CONVERSATION = prepare(
    [
        make_message(0, "Morning! Coffee machine is broken again", author_id=1, author_name="alice"),
        make_message(1, "We agreed the release ships on Friday after the QA pass", author_id=2, author_name="bob"),
        make_message(2, "Great, I'll update the changelog", author_id=1, author_name="alice"),
    ],
    SummaryOptions(),
).messages


def link(index: int) -> str:
    return f"https://discord.com/channels/{GUILD_ID}/{CHANNEL_ID}/{message_id(index)}"


def test_the_question_is_read_without_the_mentions_that_addressed_it() -> None:
    assert strip_mentions("<@1>   ") == ""
    assert question_text("<@!42> when does   the release\nship?") == "when does the release ship?"


def test_the_transcript_numbers_messages_from_one_and_keeps_the_newest_within_the_budget() -> None:
    counter = TokenCounter("gpt-4o-mini")
    text, shown = render_recent(CONVERSATION, counter, 10_000)
    assert text.splitlines()[1] == "[2] bob: We agreed the release ships on Friday after the QA pass"
    newest_only, shown_newest = render_recent(CONVERSATION, counter, counter.count(text.splitlines()[-1]) + 1)
    assert newest_only == "[3] alice: Great, I'll update the changelog"
    assert [m.index for m in shown] == [0, 1, 2] and [m.index for m in shown_newest] == [2]


def test_the_prompt_holds_the_transcript_then_the_question() -> None:
    prompt = answer_prompt("when does it ship?", CONVERSATION, TokenCounter("gpt-4o-mini"), 10_000)
    assert prompt.messages[0]["role"] == "system" and "[n]" in prompt.messages[0]["content"]
    assert prompt.messages[1]["content"].endswith("\n\nQuestion: when does it ship?")
    assert prompt.tokens > 0 and len(prompt.shown) == 3


def test_citations_become_jump_links_and_invented_ones_are_dropped() -> None:
    answered = link_inline_refs("It ships on Friday [2]. [99]", CONVERSATION, GUILD_ID)
    assert answered == f"It ships on Friday [[2]]({link(1)})."


def test_offline_answer_quotes_the_messages_sharing_the_questions_words() -> None:
    answer = offline_answer("when does the release ship?", CONVERSATION, GUILD_ID)
    assert "release ships on Friday" in answer and link(1) in answer and "Coffee" not in answer
    assert offline_answer("who won the chess game?", CONVERSATION, GUILD_ID) == NOTHING_FOUND


def test_long_text_is_cut_to_one_discord_message() -> None:
    cut = shorten("word " * 1000, MESSAGE_CONTENT)
    assert len(cut) <= MESSAGE_CONTENT and cut.endswith("…")
    assert shorten("short", MESSAGE_CONTENT) == "short"
