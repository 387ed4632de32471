"""The demo a first `make run` shows: a guild, a channel, and a real summary of a sample conversation,
made by the offline engine (no network, no keys)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from guilds.models import Guild
from guilds.services import demo_guild_seed
from summaries.engine.dce import load_dce_file
from summaries.engine.pipeline import summarize
from summaries.models import JobSource, JobStatus, Summary, SummaryJob, Visibility
from summaries.services.engine_setup import engine_setup
from summaries.services.store import summary_store

DEMO_CONVERSATION = Path(__file__).resolve().parents[2] / "guilds" / "demo" / "conversation.json"


def demo_seed() -> Guild:
    export = load_dce_file(DEMO_CONVERSATION)
    with transaction.atomic():
        guild = demo_guild_seed()
        if Summary.objects.filter(guild=guild, channel_id=export.channel_id).exists():
            return guild
        # The offline engine whatever is configured: the demo needs no network and no keys.
        _, options = engine_setup(
            guild=guild, channel_id=export.channel_id, format=guild.default_format, language="auto", provider="local"
        )
        result = asyncio.run(summarize(export.messages, options, provider=None))
        # A finished job, asked by the operator's seeding and posted for everyone: the dashboard's overview
        # and archive, and the API, show the summaries of jobs, so a newcomer finds this one there.
        job = SummaryJob.objects.create(
            guild=guild, channel_id=export.channel_id, source=JobSource.ADMIN, visibility=Visibility.PUBLIC,
            message_limit=len(export.messages), format=guild.default_format, status=JobStatus.DONE,
            progress=100, finished_at=timezone.now(),
        )
        summary_store(
            guild_id=guild.id, channel_id=export.channel_id, result=result, messages=export.messages,
            title=f"Summary of #{export.channel_name}", job=job,
        )
    return guild
