"""`make run` seeds a demo guild with a summarized sample conversation into an empty database only."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from guilds.models import Channel, Guild
from summaries.models import Summary
from summaries.selectors import api_summaries

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_a_cited_summary_once():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "Seeded demo guild" in out.getvalue()
    guild = Guild.objects.get()
    channel = Channel.objects.get(guild=guild)
    summary = Summary.objects.get(guild=guild, channel_id=channel.id)
    assert summary.provider == "local" or summary.model == "local-extractive"
    assert summary.message_count == 30
    assert f"https://discord.com/channels/{guild.id}/{channel.id}/" in summary.markdown
    cited = set(summary.citations.values_list("message_id", flat=True))
    assert cited and all(300000000000000000 < mid <= 300000000000030000 for mid in cited)

    # A finished job posted for everyone: the dashboard's archive and overview and the API list it.
    assert summary.job is not None and summary.job.status == "done" and summary.job.visibility == "public"
    assert list(api_summaries(guild_id=guild.id)) == [summary.job]

    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert "nothing seeded" in again.getvalue()
    assert Summary.objects.count() == 1
