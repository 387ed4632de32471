"""Usage and budgets: what a guild spent this month, and refusing work that would exceed it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from guilds.models import Guild
from guilds.selectors import guild_get
from summaries.models import UsageRecord
from summarybot import metrics
from summarybot.errors import BudgetExceeded


@dataclass(frozen=True)
class MonthUsage:
    month_start: date
    prompt_tokens: int
    completion_tokens: int
    llm_calls: int
    summaries: int
    cost_usd: Decimal
    token_budget: int | None
    cost_budget_usd: Decimal | None

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def tokens_left(self) -> int | None:
        return None if self.token_budget is None else max(0, self.token_budget - self.tokens)


def usage_this_month(*, guild: Guild) -> MonthUsage:
    start = timezone.localdate().replace(day=1)
    totals = UsageRecord.objects.filter(guild=guild, day__gte=start).aggregate(
        prompt=Sum("prompt_tokens"), completion=Sum("completion_tokens"), calls=Sum("llm_calls"),
        summaries=Sum("summaries"), cost=Sum("cost_usd"),
    )
    return MonthUsage(
        month_start=start,
        prompt_tokens=totals["prompt"] or 0,
        completion_tokens=totals["completion"] or 0,
        llm_calls=totals["calls"] or 0,
        summaries=totals["summaries"] or 0,
        cost_usd=totals["cost"] or Decimal("0"),
        token_budget=guild.monthly_token_budget,
        cost_budget_usd=guild.monthly_cost_budget_usd,
    )


def guild_usage(*, guild_id: int) -> MonthUsage:
    """This month's tokens and cost of a guild, with its budgets (for /usage)."""
    return usage_this_month(guild=guild_get(guild_id=guild_id))


def budget_check(*, guild: Guild, estimated_tokens: int = 0, estimated_cost_usd: float = 0.0) -> MonthUsage:
    """Raise BudgetExceeded, saying what was used and when it resets, if this work would not fit."""
    usage = usage_this_month(guild=guild)
    next_month = (usage.month_start.replace(day=28) + timedelta(days=4)).replace(day=1)
    if usage.token_budget is not None and usage.tokens + estimated_tokens > usage.token_budget:
        raise BudgetExceeded(
            f"This server's monthly budget of {usage.token_budget:,} tokens is used up "
            f"({usage.tokens:,} used{f', this summary needs about {estimated_tokens:,}' if estimated_tokens else ''}). "
            f"It resets on {next_month.isoformat()}; a server admin can raise it.",
            details={"tokens_used": usage.tokens, "token_budget": usage.token_budget, "resets_on": next_month.isoformat()},
        )
    if usage.cost_budget_usd is not None and usage.cost_usd + Decimal(str(estimated_cost_usd)) > usage.cost_budget_usd:
        raise BudgetExceeded(
            f"This server's monthly budget of ${usage.cost_budget_usd} is used up (${usage.cost_usd:.2f} spent). "
            f"It resets on {next_month.isoformat()}; a server admin can raise it.",
            details={"cost_usd": str(usage.cost_usd), "cost_budget_usd": str(usage.cost_budget_usd)},
        )
    return usage


def usage_record(
    *, guild_id: int, provider: str, model: str, prompt_tokens: int, completion_tokens: int, llm_calls: int,
    cost_usd: float, summaries: int = 1,
) -> None:
    """Add to today's counters atomically (F expressions: concurrent workers never lose an update)."""
    metrics.llm_spend(provider=provider, model=model, prompt_tokens=prompt_tokens,
                      completion_tokens=completion_tokens, calls=llm_calls, cost_usd=cost_usd)
    day = timezone.localdate()
    increments = dict(
        prompt_tokens=F("prompt_tokens") + prompt_tokens,
        completion_tokens=F("completion_tokens") + completion_tokens,
        llm_calls=F("llm_calls") + llm_calls,
        summaries=F("summaries") + summaries,
        cost_usd=F("cost_usd") + Decimal(str(round(cost_usd, 6))),
    )
    key = dict(guild_id=guild_id, day=day, provider=provider, model=model)
    if UsageRecord.objects.filter(**key).update(**increments):
        return
    try:
        with transaction.atomic():
            UsageRecord.objects.create(
                **key, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, llm_calls=llm_calls,
                summaries=summaries, cost_usd=Decimal(str(round(cost_usd, 6))),
            )
    except IntegrityError:
        UsageRecord.objects.filter(**key).update(**increments)
