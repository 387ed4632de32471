"""Scheduled jobs through the OpenAI Batch API, end to end in the worker: fake Discord, fake OpenAI (files
and batches), the real services, discord.py REST client and openai SDK. Which jobs batch, what they cost,
and what happens when a batch does not finish in time."""

from __future__ import annotations

from decimal import Decimal

import pytest

from guilds.models import Channel, Guild
from summaries.engine.costs import BATCH_PRICE_FACTOR, cost_usd
from summaries.llm.factory import batches_supported
from summaries.models import DeliveryMode, JobStatus, Summary, SummaryJob, UsageRecord
from summaries.services.jobs import SummaryRequest, summary_request
from summaries.tasks import run_summary_job
from summaries.window import SummaryWindow
from tests.fakes.discord import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = 1_500
LINES = [
    "Should we ship the release on Tuesday?",
    "Yes, let's go with Tuesday, code freeze Friday.",
    "I'll write the release notes by Thursday.",
    "The flaky login test is fixed: https://git.example.com/pr/812",
]


@pytest.fixture
def world(discord_settings: FakeDiscord):
    fake = discord_settings
    guild = fake.add_guild("Guild")
    members = [fake.add_member(guild, username=name, global_name=name.title()) for name in ("alice", "bob")]
    channel = fake.add_channel(guild, "dev")
    Guild.objects.create(id=guild.id, name="Guild", bot_present=True, member_cooldown_seconds=0)
    Channel.objects.create(id=channel.id, guild_id=guild.id, name="dev")
    for n in range(MESSAGES):
        fake.add_message(channel, author=members[n % 2], content=f"{LINES[n % len(LINES)]} (#{n})")
    return guild, channel


@pytest.fixture
def llm(settings):  # type: ignore[no-untyped-def]
    with FakeOpenAI() as server:
        settings.SUMMARY_PROVIDER = "openai"
        settings.OPENAI_API_KEY = "sk-test"
        settings.OPENAI_BASE_URL = server.base_url
        settings.SUMMARY_MODEL = "gpt-4o-mini"
        settings.SUMMARY_FALLBACK_MODELS = []
        # Several chunks: the map phase is more than one call, and a reduce follows.
        settings.SUMMARY_CONTEXT_TOKENS = 6_000
        settings.SUMMARY_BATCH_SCHEDULES = True
        settings.SUMMARY_BATCH_DEADLINE_SECONDS = 20  # polls every 1 s at most
        yield server


def job_for(guild, channel, *, source: str = "schedule") -> SummaryJob:  # type: ignore[no-untyped-def]
    job, created = summary_request(
        request=SummaryRequest(
            guild_id=guild.id, channel_id=channel.id, source=source, window=SummaryWindow.count(MESSAGES),
            delivery_mode=DeliveryMode.NONE, enforce_cooldown=False,
        )
    )
    assert created
    return job


def list_price(summary: Summary) -> Decimal:
    full = cost_usd(summary.prompt_tokens, summary.completion_tokens, "gpt-4o-mini", {"gpt-4o-mini": (0.15, 0.60)})
    return Decimal(str(full))


def test_a_scheduled_job_is_summarized_through_batches_and_metered_at_half_price(world, llm):
    guild, channel = world
    job = job_for(guild, channel)

    assert run_summary_job(str(job.pk)) == "done"

    summary = Summary.objects.get(job=job)
    assert summary.message_count == MESSAGES and summary.llm_calls > 2
    assert llm.chat_requests == []  # not one ordinary call
    batches = list(llm.batches.values())
    assert all(b.status == "completed" for b in batches)
    # The map phase's chunks went in one batch, the reduce in the next.
    assert len(llm.batch_input(batches[0].id)) > 1 and len(batches) >= 2
    assert summary.llm_calls == len(llm.batch_lines)
    assert summary.prompt_tokens == sum(r.prompt_tokens for r in llm.batch_lines)
    usage = UsageRecord.objects.get(guild_id=guild.id)
    assert usage.llm_calls == summary.llm_calls and usage.prompt_tokens == summary.prompt_tokens
    half = list_price(summary) * Decimal(str(BATCH_PRICE_FACTOR))
    assert abs(usage.cost_usd - half) < Decimal("0.00002") and abs(summary.cost_usd - half) < Decimal("0.00001")


def test_a_scheduled_job_whose_batch_never_finishes_falls_back_to_ordinary_calls_at_the_deadline(
    world, llm, settings
):
    guild, channel = world
    llm.batch_outcome = "never"
    settings.SUMMARY_BATCH_DEADLINE_SECONDS = 2
    job = job_for(guild, channel)

    assert run_summary_job(str(job.pk)) == "done"

    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    (batch,) = llm.batches.values()  # after the deadline nothing else is batched
    assert llm.requests_to("POST", rf"^/v1/batches/{batch.id}/cancel$")
    summary = Summary.objects.get(job=job)
    assert summary.llm_calls == len(llm.chat_requests) > 2 and llm.batch_lines == []
    usage = UsageRecord.objects.get(guild_id=guild.id)
    assert abs(usage.cost_usd - list_price(summary)) < Decimal("0.00002")  # ordinary calls, full price


@pytest.mark.parametrize("source", ["api", "slash_command", "webhook"])
def test_a_job_someone_is_waiting_for_never_uses_batches(world, llm, source):
    guild, channel = world
    job = job_for(guild, channel, source=source)

    assert run_summary_job(str(job.pk)) == "done"

    assert llm.batches == {} and llm.chat_requests
    assert llm.requests_to("POST", r"^/v1/files$") == []


def test_with_the_setting_off_a_scheduled_job_makes_ordinary_calls(world, llm, settings):
    guild, channel = world
    settings.SUMMARY_BATCH_SCHEDULES = False
    job = job_for(guild, channel)

    assert run_summary_job(str(job.pk)) == "done"

    assert llm.batches == {} and len(llm.chat_requests) == Summary.objects.get(job=job).llm_calls


def test_a_guilds_own_compatible_endpoint_is_never_sent_batches(world, llm):
    guild, channel = world
    with FakeOpenAI() as own:
        Guild.objects.filter(id=guild.id).update(llm_base_url=own.base_url, llm_model="gpt-4o-mini")
        job = job_for(guild, channel)

        assert run_summary_job(str(job.pk)) == "done"

        assert own.batches == {} and own.requests_to("POST", r"^/v1/files$") == [] and own.chat_requests
    assert llm.chat_requests == [] and llm.batches == {}


def test_batches_go_to_openai_itself_or_the_operators_endpoint_only(settings):
    settings.OPENAI_BASE_URL = "https://proxy.internal.example/v1"
    assert batches_supported("https://api.openai.com/v1")
    assert batches_supported("https://proxy.internal.example/v1/")
    assert not batches_supported("http://localhost:11434/v1")
    assert not batches_supported("https://api.openai.com.evil.example/v1")
