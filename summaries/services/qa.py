"""Mention Q&A: a member mentions the bot with a question; the worker answers it from the channel's
recent conversation and replies.

The bot calls `qa_request` (rate limit, channel rules, budget, enqueue); the django-q2 task calls
`qa_answer`, which reads the history through the worker's Discord REST client, asks the model (or,
offline, points at the most relevant messages), records usage and posts the reply, once: the reply is
claimed per question before it is posted and posted with a nonce, so a redelivered task (its worker died,
or django-q2 handed it out again) does not answer twice. Answers are cached
per channel, question and conversation state, so a repeated question costs no second model call.
The text work (the prompt, the citation links, the offline answer) is the engine's: engine/answer.py.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from guilds.models import Channel, Guild
from guilds.selectors import guild_get
from summaries.engine.answer import answer_prompt, offline_answer, question_text, strip_mentions
from summaries.engine.citations import link_inline_refs
from summaries.engine.costs import cost_usd
from summaries.engine.normalize import PreparedMessage, prepare
from summaries.engine.offline import MODEL_NAME as OFFLINE_MODEL
from summaries.engine.options import SummaryOptions
from summaries.engine.redact import redact_text
from summaries.engine.render.discord_limits import MESSAGE_CONTENT, shorten
from summaries.engine.tokens import TokenCounter
from summaries.llm.base import ChatProvider, ChatRequest
from summaries.llm.errors import LLMError
from summaries.models import QuestionReply
from summaries.services.engine_setup import engine_setup
from summaries.services.usage import budget_check, usage_record
from summarybot.discord.client import DiscordRest
from summarybot.errors import InvalidInput, LimitExceeded, PermissionDenied

logger = logging.getLogger(__name__)

MAX_ANSWER_TOKENS = 400
MAX_QUESTION_CHARS = 500


@dataclass(frozen=True, slots=True)
class QaRequest:
    guild_id: int
    channel_id: int
    message_id: int  # the question itself (its text is read again by the worker, never queued)
    user_id: int
    question: str


# ----------------------------------------------------------------------------------- the bot side
def _rate_limit(guild_id: int, user_id: int) -> None:
    window = settings.QA_USER_RATE_WINDOW_SECONDS
    now = timezone.now().timestamp()
    bucket = int(now // window)
    key = f"qa:rate:{guild_id}:{user_id}:{bucket}"
    cache.add(key, 0, window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this is the window's first question
        cache.set(key, 1, window + 5)
        count = 1
    if count > settings.QA_USER_RATE_LIMIT:
        wait = int((bucket + 1) * window - now) + 1
        raise LimitExceeded(f"You're asking faster than I answer; try again in {wait} s.", retry_after=wait)


def qa_request(*, request: QaRequest) -> bool:
    """Accept a question and enqueue its answer; False when this message was already accepted.

    Raises InvalidInput, PermissionDenied (summaries off in this channel), LimitExceeded (the member's
    rate limit) or BudgetExceeded, each with a message for the member.
    """
    question = strip_mentions(request.question)
    if not question:
        raise InvalidInput(
            "Ask me a question about this channel's conversation, e.g. “@Summary Bot what did we decide?”."
        )
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidInput(f"Questions are limited to {MAX_QUESTION_CHARS} characters.")
    guild = guild_get(guild_id=request.guild_id)
    channel = Channel.objects.filter(pk=request.channel_id, guild=guild).first()
    if channel is not None and not channel.summaries_allowed:
        raise PermissionDenied("Summaries and questions are turned off in this channel.")
    # A gateway RESUME replays events: the same question must not be answered twice.
    if not cache.add(f"qa:message:{request.message_id}", 1, 24 * 3600):
        return False
    _rate_limit(guild.id, request.user_id)
    budget_check(guild=guild)
    args = (request.guild_id, request.channel_id, request.message_id, request.user_id)
    transaction.on_commit(lambda: _enqueue(*args))
    logger.info(
        "question accepted",
        extra={
            "guild_id": guild.id,
            "channel_id": request.channel_id,
            "message_id": request.message_id,
            "user_id": request.user_id,
        },
    )
    return True


def _enqueue(guild_id: int, channel_id: int, message_id: int, user_id: int) -> None:
    from django_q.tasks import async_task

    async_task(
        "summaries.qa_tasks.answer_question",
        guild_id,
        channel_id,
        message_id,
        user_id,
        task_name=f"qa-{message_id}",
        group="qa",
    )


# -------------------------------------------------------------------------------- the worker side
@dataclass(frozen=True, slots=True)
class QaContext:
    guild: Guild
    options: SummaryOptions
    provider: ChatProvider | None


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False


def _context(guild_id: int, channel_id: int) -> QaContext:
    guild = guild_get(guild_id=guild_id)
    provider, options = engine_setup(guild=guild, channel_id=channel_id, format="brief", language=guild.default_language)
    return QaContext(guild=guild, options=options, provider=provider)


def cache_key(channel_id: int, question: str, last_message_id: int | None) -> str:
    """Same channel, same question (case and spacing aside), same conversation: same answer."""
    normalized = " ".join(question.lower().split())
    digest = hashlib.sha256(normalized.encode()).hexdigest()[:32]
    return f"qa:answer:{channel_id}:{last_message_id or 0}:{digest}"


async def _model_answer(
    provider: ChatProvider, question: str, messages: Sequence[PreparedMessage], guild_id: int
) -> Answer:
    counter = TokenCounter(provider.model)
    budget = min(settings.QA_MAX_PROMPT_TOKENS, provider.context_tokens - MAX_ANSWER_TOKENS - 500)
    prompt = answer_prompt(question, messages, counter, budget)
    request = ChatRequest(
        messages=prompt.messages,
        max_output_tokens=MAX_ANSWER_TOKENS,
        estimated_prompt_tokens=prompt.tokens,
        purpose="qa",
    )
    response = await provider.chat(request)
    return Answer(
        text=link_inline_refs(response.content, prompt.shown, guild_id),
        model=response.model,
        prompt_tokens=response.prompt_tokens,
        completion_tokens=response.completion_tokens,
    )


async def _answer(ctx: QaContext, question: str, conversation: list[PreparedMessage], key: str) -> Answer:
    cached = await sync_to_async(cache.get)(key)
    if cached is not None:
        return Answer(text=str(cached), model="cache", cached=True)
    if ctx.provider is None:
        answer = Answer(text=offline_answer(question, conversation, ctx.guild.id), model=OFFLINE_MODEL)
    else:
        answer = await _model_answer(ctx.provider, question, conversation, ctx.guild.id)
        await sync_to_async(usage_record)(
            guild_id=ctx.guild.id,
            provider=ctx.provider.name,
            model=answer.model,
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            llm_calls=1,
            cost_usd=cost_usd(answer.prompt_tokens, answer.completion_tokens, answer.model, ctx.options.prices),
            summaries=0,
        )
    await sync_to_async(cache.set)(key, answer.text, settings.QA_CACHE_SECONDS)
    return answer


def qa_reply_claim(*, guild_id: int, channel_id: int, message_id: int) -> int | None:
    """Claim the reply to a question before posting it; returns the reply's id when it was already posted."""
    row, _ = QuestionReply.objects.get_or_create(
        question_message_id=message_id, defaults={"guild_id": guild_id, "channel_id": channel_id}
    )
    return row.reply_message_id


def qa_reply_posted(*, message_id: int, reply_id: int) -> None:
    QuestionReply.objects.filter(question_message_id=message_id).update(
        reply_message_id=reply_id, replied_at=timezone.now()
    )


def reply_nonce(message_id: int) -> str:
    """The reply's nonce, the same for every delivery of the task: Discord returns the first reply for it."""
    return hashlib.sha256(f"qa:{message_id}".encode()).hexdigest()[:25]


async def qa_answer(*, guild_id: int, channel_id: int, message_id: int, user_id: int) -> int | None:
    """Answer one accepted question in its channel; returns the reply's message id (None: nothing to answer)."""
    ids = {"guild_id": guild_id, "channel_id": channel_id, "message_id": message_id, "user_id": user_id}
    posted = await sync_to_async(qa_reply_claim)(guild_id=guild_id, channel_id=channel_id, message_id=message_id)
    if posted is not None:
        logger.info("question already answered", extra={**ids, "reply_id": posted})
        return posted
    ctx = await sync_to_async(_context)(guild_id, channel_id)
    try:
        return await _reply(ctx, ids)
    finally:
        if ctx.provider is not None:
            await ctx.provider.aclose()


async def _reply(ctx: QaContext, ids: dict[str, int]) -> int | None:
    channel_id, message_id = ids["channel_id"], ids["message_id"]
    async with DiscordRest() as rest:
        history = await rest.history.fetch_history(channel_id, limit=settings.QA_HISTORY_MESSAGES + 1, before_id=message_id + 1)
        asked = next((m for m in reversed(history) if m.id == message_id), None)
        if asked is None:
            logger.info("question deleted before it was answered", extra=ids)
            return None
        question = question_text(asked.content)
        if ctx.options.redact_pii:
            # The question reaches the provider too: "is +49 30 55502422 Anna's number?" must not.
            question = redact_text(question)[0]
        bot_id = rest.session.bot_user_id
        # Other questions to the bot are not conversation; bots' messages (our answers) are dropped by prepare().
        context = [
            m
            for m in history
            if m.id != message_id and f"<@{bot_id}>" not in m.content and f"<@!{bot_id}>" not in m.content
        ]
        conversation = prepare(context, ctx.options).messages
        # Keyed on what the model would read: our own replies since do not make the answer older.
        key = cache_key(channel_id, question, conversation[-1].message_id if conversation else None)
        try:
            answer = await _answer(ctx, question, conversation, key)
        except LLMError as exc:
            logger.warning("question not answered", extra={**ids, "error_code": exc.code})
            answer = Answer(text="Sorry, I can't answer right now; try again in a few minutes.", model="none")
        text = shorten(answer.text, MESSAGE_CONTENT)
        reply_id = await rest.delivery.send_message(
            channel_id, content=text, reply_to=message_id, nonce=reply_nonce(message_id)
        )
    await sync_to_async(qa_reply_posted)(message_id=message_id, reply_id=reply_id)
    logger.info(
        "question answered", extra={**ids, "reply_id": reply_id, "cached": answer.cached, "model": answer.model}
    )
    return reply_id
