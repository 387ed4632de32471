"""Storing an engine result: the Summary, its citations, and the usage it cost, in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal

from django.db import IntegrityError, transaction

from summaries.engine.render.markdown import render_markdown
from summaries.engine.types import ChatMessage, SummaryResult
from summaries.models import PostedTranscript, Summary, SummaryCitation, SummaryJob
from summaries.services.usage import usage_record

logger = logging.getLogger(__name__)


def summary_store(
    *,
    guild_id: int,
    channel_id: int | None,
    result: SummaryResult,
    messages: Sequence[ChatMessage],
    title: str,
    job: SummaryJob | None = None,
    window_capped: bool = False,
    calls_recorded: bool = False,
) -> Summary:
    """Store once: when a job's result is already stored (a worker raced us), that one is returned.

    `channel_id` None: the job's posted messages were summarized; they are not Discord messages, so no
    citation rows (those find summaries a Discord edit or deletion makes stale), and their text is erased.

    `calls_recorded`: the LLM calls' usage was recorded as each call happened (summary jobs do, so that a
    job killed halfway still counts what it spent); only the summary itself is counted here then.
    """
    on_discord = channel_id is not None
    markdown = render_markdown(result, title=title)
    if window_capped:
        markdown += (
            f"\n\n_The window holds more messages than the configured maximum; this summary covers its first "
            f"{len(messages):,} messages._"
        )
    try:
        with transaction.atomic():
            summary = Summary.objects.create(
                job=job,
                guild_id=guild_id,
                channel_id=channel_id,
                format=result.format,
                language=result.language,
                provider=result.provider,
                model=result.model,
                markdown=markdown,
                items=[item.to_dict() for item in result.items],
                message_count=result.message_count,
                participant_count=result.participant_count,
                first_message_id=messages[0].id if messages and on_discord else None,
                last_message_id=messages[-1].id if messages and on_discord else None,
                window_start=result.first_message_at or (messages[0].created_at if messages else None),
                window_end=result.last_message_at or (messages[-1].created_at if messages else None),
                prompt_tokens=result.usage.prompt_tokens,
                completion_tokens=result.usage.completion_tokens,
                llm_calls=result.usage.llm_calls,
                cost_usd=Decimal(str(round(result.usage.cost_usd, 6))),
                redactions=result.redactions,
            )
            if on_discord:
                cited = sorted({mid for item in result.items for mid in item.message_ids})
                authors = {message.id: message.author.id for message in messages}
                SummaryCitation.objects.bulk_create(
                    [SummaryCitation(summary=summary, message_id=mid, channel_id=result.channel_of(mid) or channel_id,
                                     author_id=authors.get(mid))
                     for mid in cited]
                )
            elif job is not None:
                PostedTranscript.objects.filter(job=job).update(messages=[])
            spent = result.usage
            usage_record(
                guild_id=guild_id, provider=result.provider, model=result.model,
                prompt_tokens=0 if calls_recorded else spent.prompt_tokens,
                completion_tokens=0 if calls_recorded else spent.completion_tokens,
                llm_calls=0 if calls_recorded else spent.llm_calls,
                cost_usd=0.0 if calls_recorded else spent.cost_usd,
            )
    except IntegrityError:
        if job is None:
            raise
        return Summary.objects.get(job=job)
    logger.info(
        "summary stored",
        extra={"summary_id": summary.pk, "job_id": str(job.pk) if job else None, "messages": result.message_count,
               "llm_calls": result.usage.llm_calls},
    )
    return summary
