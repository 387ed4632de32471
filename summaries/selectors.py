"""Reads that more than one front door needs: engine options for a job, a stored summary as a result."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db.models import Q

from guilds.models import Channel, Guild, MemberOptOut
from summaries.engine.options import SummaryOptions
from summaries.engine.types import SummaryItem, SummaryResult, Usage
from summaries.models import Summary, SummaryJob


def opted_out_user_ids(*, guild_id: int) -> frozenset[int]:
    return frozenset(
        MemberOptOut.objects.filter(Q(guild_id=guild_id) | Q(guild__isnull=True)).values_list("user_id", flat=True)
    )


def summary_options(*, guild: Guild, channel_id: int, format: str, language: str, model: str,
                    context_tokens: int | None) -> SummaryOptions:
    """The engine's options for one summary: guild settings, the channel's overrides, operator limits."""
    channel = Channel.objects.filter(pk=channel_id, guild=guild).first()
    redact = guild.redact_pii
    if channel is not None and channel.redact_pii_override is not None:
        redact = channel.redact_pii_override
    return SummaryOptions(
        format=format,
        language=language,
        model=model,
        context_tokens=context_tokens,
        map_concurrency=settings.SUMMARY_MAP_CONCURRENCY,
        max_prompt_tokens=settings.SUMMARY_MAX_TOKENS_PER_REQUEST,
        prices=dict(settings.SUMMARY_PRICES),
        redact_pii=redact,
        include_bots=guild.include_bot_messages,
        opt_out_marker=guild.opt_out_marker,
        opted_out_user_ids=opted_out_user_ids(guild_id=guild.id),
    )


def last_summary_in_channel(*, guild_id: int, channel_id: int, exclude_job: SummaryJob | None = None) -> Summary | None:
    summaries = Summary.objects.filter(guild_id=guild_id, channel_id=channel_id, last_message_id__isnull=False)
    if exclude_job is not None:
        summaries = summaries.exclude(job=exclude_job)
    return summaries.order_by("-created_at").first()


def summary_result(*, summary: Summary) -> SummaryResult:
    """Rebuild the engine's result from the stored row (to render it again: another page, another format)."""
    other_channels = {
        message_id: channel_id
        for message_id, channel_id in summary.citations.exclude(channel_id=summary.channel_id).values_list(
            "message_id", "channel_id"
        )
    }
    return SummaryResult(
        format=summary.format,
        language=summary.language,
        model=summary.model,
        provider=summary.provider,
        items=[SummaryItem.from_dict(item) for item in summary.items],
        message_count=summary.message_count,
        participant_count=summary.participant_count,
        usage=Usage(
            prompt_tokens=summary.prompt_tokens,
            completion_tokens=summary.completion_tokens,
            llm_calls=summary.llm_calls,
            cost_usd=float(summary.cost_usd or Decimal(0)),
        ),
        redactions=dict(summary.redactions),
        first_message_at=summary.window_start,
        last_message_at=summary.window_end,
        guild_id=summary.guild_id,
        channel_id=summary.channel_id,
        message_channels=other_channels,
    )
