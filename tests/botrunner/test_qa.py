"""Mention Q&A: accepted by the bot (rate limits, channel rules), answered by the worker task."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django_q.models import OrmQ

from guilds.models import Channel as ChannelRow
from summaries.models import QuestionReply, UsageRecord
from summaries.qa_tasks import answer_question
from summaries.services.qa import QaRequest, qa_request
from summarybot.errors import InvalidInput, LimitExceeded, PermissionDenied
from tests.botrunner.bot_support import BotWorld, db, eventually, run_task
from tests.factories import ChannelFactory, GuildFactory, snowflake
from tests.fakes.discord import FakeDiscord, User
from tests.fakes.openai_server import FakeOpenAI, content

# The bot fixtures (bot_world) live in a module of their own; the shared conftest files stay untouched.
pytest_plugins = ["tests.botrunner.conftest_bot"]


def queued_questions() -> list[tuple[Any, ...]]:
    return [q.task["args"] for q in OrmQ.objects.all() if q.task.get("func") == "summaries.qa_tasks.answer_question"]


def _request(
    channel: ChannelRow, *, user_id: int | None = None, question: str = "<@1> what did we decide?"
) -> QaRequest:
    return QaRequest(
        guild_id=channel.guild_id,
        channel_id=channel.id,
        message_id=snowflake(),
        user_id=user_id or snowflake(),
        question=question,
    )


# ---------------------------------------------------------------------------------- accepting
@pytest.mark.django_db
def test_a_question_is_queued_once_with_ids_only(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    channel = ChannelFactory()
    request = _request(channel)
    with django_capture_on_commit_callbacks(execute=True):
        assert qa_request(request=request) is True
        assert qa_request(request=request) is False  # the same message delivered again
    assert queued_questions() == [(channel.guild_id, channel.id, request.message_id, request.user_id)]


@pytest.mark.django_db
def test_members_are_rate_limited_separately() -> None:
    channel = ChannelFactory()
    asker, other = snowflake(), snowflake()
    for _ in range(settings.QA_USER_RATE_LIMIT):
        qa_request(request=_request(channel, user_id=asker))
    with pytest.raises(LimitExceeded, match="try again in"):
        qa_request(request=_request(channel, user_id=asker))
    assert qa_request(request=_request(channel, user_id=other))


@pytest.mark.django_db
def test_refusals_empty_question_and_disabled_channel() -> None:
    channel = ChannelFactory()
    with pytest.raises(InvalidInput, match="Ask me a question"):
        qa_request(request=_request(channel, question="<@1>   "))
    off = ChannelFactory(guild=channel.guild, enabled=False)
    with pytest.raises(PermissionDenied, match="turned off"):
        qa_request(request=_request(off))
    locked = ChannelFactory(guild=channel.guild, is_locked=True)
    with pytest.raises(PermissionDenied):
        qa_request(request=_request(locked))


# ---------------------------------------------------------------------------------- answering
def _conversation(fake: FakeDiscord) -> tuple[Any, Any, User, Any]:
    guild = fake.add_guild("Q&A Guild")
    alice = fake.add_member(guild, username="alice")
    bob = fake.add_member(guild, username="bob")
    channel = fake.add_channel(guild, "general")
    fake.add_message(channel, alice, "Morning! Coffee machine is broken again")
    decision = fake.add_message(channel, bob, "We agreed the release ships on Friday after the QA pass")
    fake.add_message(channel, alice, "Great, I'll update the changelog")
    return guild, channel, alice, decision


@pytest.fixture
def qa_world(discord_settings: FakeDiscord) -> Iterator[tuple[FakeDiscord, Any, Any, User, Any]]:
    guild, channel, alice, decision = _conversation(discord_settings)
    row = GuildFactory(id=guild.id, name=guild.name)
    ChannelFactory(id=channel.id, guild=row, name="general")
    yield discord_settings, guild, channel, alice, decision


def _reply(fake: FakeDiscord, channel: Any) -> dict[str, Any]:
    request = fake.wait_for_request(lambda r: r.method == "POST" and r.path == f"/channels/{channel.id}/messages")
    return request.json


def use_openai(settings: Any, openai: FakeOpenAI) -> None:
    settings.SUMMARY_PROVIDER = "openai"
    settings.OPENAI_API_KEY = "sk-test-fake"
    settings.OPENAI_BASE_URL = openai.base_url
    settings.SUMMARY_MODEL = "gpt-4o-mini"
    settings.SUMMARY_FALLBACK_MODELS = []


@pytest.mark.django_db(transaction=True)
def test_offline_answer_points_at_the_relevant_messages(qa_world, settings) -> None:  # type: ignore[no-untyped-def]
    fake, guild, channel, alice, decision = qa_world
    settings.SUMMARY_PROVIDER = "local"
    question = fake.add_message(channel, alice, f"<@{fake.bot_user.id}> when does the release ship?")

    reply_id = answer_question(guild.id, channel.id, question.id, alice.id)

    body = _reply(fake, channel)
    assert reply_id is not None
    assert "release ships on Friday" in body["content"]
    assert f"https://discord.com/channels/{guild.id}/{channel.id}/{decision.id}" in body["content"]
    assert "Coffee" not in body["content"]
    assert body["allowed_mentions"]["parse"] == []  # quoting people never pings them
    assert not body["allowed_mentions"].get("replied_user")  # nor the member who asked
    assert body["message_reference"]["message_id"] == question.id  # a reply to the question
    assert fake.message(channel, reply_id).reply_to == question.id


@pytest.mark.django_db(transaction=True)
def test_a_redelivered_question_task_does_not_reply_twice(qa_world, settings) -> None:  # type: ignore[no-untyped-def]
    fake, guild, channel, alice, decision = qa_world
    settings.SUMMARY_PROVIDER = "local"
    question = fake.add_message(channel, alice, f"<@{fake.bot_user.id}> when does the release ship?")

    reply_id = answer_question(guild.id, channel.id, question.id, alice.id)
    assert answer_question(guild.id, channel.id, question.id, alice.id) == reply_id  # django-q2 ran it again
    # A worker that died after posting and before recording it: the rerun posts with the same nonce.
    QuestionReply.objects.filter(question_message_id=question.id).update(reply_message_id=None)
    assert answer_question(guild.id, channel.id, question.id, alice.id) == reply_id

    replies = [m for m in fake.channel_messages(channel) if m.author_id == fake.bot_user.id]
    assert [m.id for m in replies] == [reply_id]
    posts = fake.requests_matching("POST", f"^/channels/{channel.id}/messages$")
    assert len(posts) == 2 and posts[0].json["nonce"] == posts[1].json["nonce"]


@pytest.mark.django_db(transaction=True)
def test_model_answer_links_citations_records_usage_and_is_cached(qa_world, settings) -> None:  # type: ignore[no-untyped-def]
    fake, guild, channel, alice, decision = qa_world
    with FakeOpenAI() as openai:
        use_openai(settings, openai)
        openai.enqueue(content("It ships on Friday, after the QA pass [2]. [99]"))
        first = fake.add_message(channel, alice, f"<@{fake.bot_user.id}> When does the release ship?")
        answer_question(guild.id, channel.id, first.id, alice.id)
        again = fake.add_message(channel, alice, f"<@{fake.bot_user.id}> when does the release  ship?")
        answer_question(guild.id, channel.id, again.id, alice.id)
        chat_calls = len(openai.chat_requests)
        prompt = openai.chat_requests[0].body["messages"][-1]["content"]

    assert chat_calls == 1  # the second, same question about the same conversation came from the cache
    assert "[2] bob: We agreed the release ships on Friday" in prompt
    assert "Coffee" in prompt and "when does the release" not in prompt.split("Question:")[0]
    replies = fake.requests_matching("POST", f"^/channels/{channel.id}/messages$")
    assert len(replies) == 2
    text = replies[0].json["content"]
    assert f"[[2]](https://discord.com/channels/{guild.id}/{channel.id}/{decision.id})" in text
    assert "[99]" not in text  # an invented citation is dropped
    assert replies[1].json["content"] == text
    usage = UsageRecord.objects.get(guild_id=guild.id)
    assert (usage.llm_calls, usage.summaries) == (1, 0)
    assert usage.prompt_tokens > 0


@pytest.mark.django_db(transaction=True)
def test_the_question_and_display_names_are_redacted_before_the_provider_sees_them(qa_world, settings) -> None:  # type: ignore[no-untyped-def]
    fake, guild, channel, alice, decision = qa_world
    named = fake.add_member(guild, username="jd", global_name="jane.doe@example.com")
    fake.add_message(channel, named, "I can take the release notes")
    with FakeOpenAI() as openai:
        use_openai(settings, openai)
        openai.enqueue(content("Nobody said [2]."))
        asked = fake.add_message(channel, alice, f"<@{fake.bot_user.id}> is +49 30 55502422 the release hotline?")
        answer_question(guild.id, channel.id, asked.id, alice.id)
        prompt = openai.chat_requests[0].body["messages"][-1]["content"]

    assert "55502422" not in prompt and "[phone]" in prompt.split("Question:")[1]
    assert "jane.doe@example.com" not in prompt and "[email]" in prompt


# ------------------------------------------------------------------------------ through the bot
@pytest.mark.django_db(transaction=True)
async def test_mention_through_the_gateway_is_queued_then_answered(bot_world: BotWorld, settings) -> None:  # type: ignore[no-untyped-def]
    w = bot_world
    settings.SUMMARY_PROVIDER = "local"
    w.fake.add_message(w.channel, w.admin, "The outage was caused by an expired TLS certificate")
    question = await w.fake.post_message_async(w.channel, w.member, f"<@{w.fake.bot_user.id}> what caused the outage?")

    (args,) = await eventually(lambda: db(queued_questions)())
    assert args == (w.guild.id, w.channel.id, question.id, w.member.id)
    await run_task(answer_question, *args)

    reply = await w.fake.wait_for_request_async(
        lambda r: r.method == "POST" and r.path == f"/channels/{w.channel.id}/messages"
    )
    assert "expired TLS certificate" in reply.json["content"]


@pytest.mark.django_db(transaction=True)
async def test_messages_without_a_mention_or_from_bots_are_ignored(bot_world: BotWorld) -> None:
    w = bot_world
    await w.fake.post_message_async(w.channel, w.member, "what caused the outage?")
    await w.fake.post_message_async(w.channel, w.fake.bot_user, f"<@{w.fake.bot_user.id}> talking to myself")
    marker = await w.fake.post_message_async(w.channel, w.admin, f"<@{w.fake.bot_user.id}> and this one?")
    (args,) = await eventually(lambda: db(queued_questions)())
    assert args[2] == marker.id


@pytest.mark.django_db(transaction=True)
async def test_asking_too_fast_gets_an_hourglass_instead_of_a_fourth_answer(bot_world: BotWorld) -> None:
    w = bot_world
    questions = [
        await w.fake.post_message_async(w.channel, w.member, f"<@{w.fake.bot_user.id}> question {n}?")
        for n in range(settings.QA_USER_RATE_LIMIT + 1)
    ]
    reaction = await w.fake.wait_for_request_async(lambda r: r.method == "PUT" and "/reactions/" in r.path)
    assert reaction.path == f"/channels/{w.channel.id}/messages/{questions[-1].id}/reactions/⏳/@me"
    assert reaction.status == 204
    assert [args[2] for args in await db(queued_questions)()] == [q.id for q in questions[:-1]]
