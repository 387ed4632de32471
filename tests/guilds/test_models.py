"""Integrity lives in the database: named constraints refuse bad rows whatever code writes them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from guilds.models import MemberOptOut
from summaries.models import UsageRecord
from tests.factories import (
    ChannelFactory,
    GuildFactory,
    MemberOptOutFactory,
    ScheduleFactory,
    SummaryJobFactory,
    WebhookDestinationFactory,
)

pytestmark = pytest.mark.django_db


def assert_refused(factory, constraint: str, **kwargs) -> None:
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        factory(**kwargs)
    # SQLite names the failing CHECK; PostgreSQL names CHECK and UNIQUE constraints/indexes.
    message = str(excinfo.value)
    assert constraint in message or "UNIQUE" in message.upper(), message


def test_guild_budgets_cannot_be_negative():
    assert_refused(GuildFactory, "guilds_guild_token_budget_non_negative", monthly_token_budget=-1)
    assert_refused(GuildFactory, "guilds_guild_cost_budget_non_negative", monthly_cost_budget_usd=-5)


def test_opt_out_is_unique_per_guild_and_globally():
    opt = MemberOptOutFactory()
    assert_refused(MemberOptOutFactory, "guilds_memberoptout_unique_in_guild", guild=opt.guild, user_id=opt.user_id)
    MemberOptOut.objects.create(user_id=opt.user_id, guild=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        MemberOptOut.objects.create(user_id=opt.user_id, guild=None)


def test_job_constraints():
    job = SummaryJobFactory(interaction_id=42, idempotency_key="abc")
    assert_refused(SummaryJobFactory, "summaries_job_unique_interaction", interaction_id=42)
    assert_refused(SummaryJobFactory, "summaries_job_unique_idempotency_key", guild=job.guild, idempotency_key="abc")
    SummaryJobFactory(idempotency_key="abc")  # another guild may reuse a key
    assert_refused(SummaryJobFactory, "summaries_job_progress_percent", progress=101)
    assert_refused(SummaryJobFactory, "summaries_job_count_window_has_limit", message_limit=None)
    assert_refused(SummaryJobFactory, "summaries_job_hours_window_in_range", window_kind="hours", hours=169)
    assert_refused(SummaryJobFactory, "summaries_job_from_message_has_id", window_kind="from_message")


def test_destination_and_schedule_constraints():
    assert_refused(WebhookDestinationFactory, "webhooks_destination_discord_needs_channel", kind="discord_channel", url="")
    assert_refused(WebhookDestinationFactory, "webhooks_destination_http_needs_url", kind="webhook", url="")
    assert_refused(ScheduleFactory, "summaries_schedule_one_scope", whole_guild=True, category_id=12345)
    assert_refused(ScheduleFactory, "summaries_schedule_cron_has_expression", frequency="cron", cron="")
    assert_refused(ScheduleFactory, "summaries_schedule_every_hours_in_range", frequency="every_n_hours", every_hours=169)
    assert_refused(ScheduleFactory, "summaries_schedule_has_time_of_day", frequency="weekly", time_of_day=None)
    assert_refused(ScheduleFactory, "summaries_schedule_monthly_has_day", frequency="monthly", day_of_month=None)
    assert_refused(ScheduleFactory, "summaries_schedule_min_messages_positive", min_messages=0)


def test_usage_is_one_row_per_guild_day_model():
    guild = GuildFactory()
    row = dict(guild=guild, day="2026-11-01", provider="openai", model="gpt-4o-mini")
    UsageRecord.objects.create(**row)
    with pytest.raises(IntegrityError), transaction.atomic():
        UsageRecord.objects.create(**row)


def test_validators_explain_bad_settings():
    guild = GuildFactory.build(timezone="Mars/Olympus", default_language="english!")
    with pytest.raises(ValidationError) as excinfo:
        guild.full_clean()
    assert "timezone" in excinfo.value.message_dict
    assert "default_language" in excinfo.value.message_dict


def test_locked_channel_is_off_unless_enabled():
    channel = ChannelFactory(is_locked=True)
    assert channel.summaries_allowed is False
    channel.allow_when_locked = True
    assert channel.summaries_allowed is True
    channel.enabled = False
    assert channel.summaries_allowed is False
