"""A real django-q2 cluster (`manage.py qcluster`) picks a committed job off the ORM broker and runs it
against the fake Discord and the fake OpenAI server: the production path, process boundary included."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from guilds.models import Channel, Guild
from summaries.models import JobStatus, Summary, SummaryJob
from summaries.services.jobs import SummaryRequest, summary_request
from tests.fakes.discord import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def test_qcluster_runs_a_queued_slash_command_job_through_openai_and_answers_in_discord(discord_settings):
    fake: FakeDiscord = discord_settings
    guild = fake.add_guild("Guild")
    alice = fake.add_member(guild, username="alice", global_name="Alice")
    channel = fake.add_channel(guild, "general")
    fake.add_messages(channel, 600, authors=[alice], content="shall we ship the release on friday? {i}")
    Guild.objects.create(id=guild.id, name="Guild", bot_present=True)
    Channel.objects.create(id=channel.id, guild_id=guild.id, name="general")

    payload = fake.slash_command_payload(channel=channel, user=alice, name="summarize")
    defer = urllib.request.Request(
        f"{fake.api_base}/interactions/{payload['id']}/{payload['token']}/callback?with_response=1",
        data=json.dumps({"type": 5, "data": {"flags": 64}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(defer, timeout=5).close()

    with FakeOpenAI() as llm:
        # Committed (transaction=True), so on_commit has put the task on the ORM broker.
        job, _ = summary_request(
            request=SummaryRequest(
                guild_id=guild.id, channel_id=channel.id, source="slash_command", requested_by_user_id=alice.id,
                message_limit=600, interaction_id=int(payload["id"]), application_id=int(payload["application_id"]),
                interaction_token=payload["token"],
            )
        )
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "summarybot.settings",
            "DJANGO_DEBUG": "true",
            "DATABASE_URL": database_url(),
            "DISCORD_TOKEN": fake.bot_token,
            "DISCORD_API_BASE_URL": fake.api_base,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "SUMMARY_PROVIDER": "openai",
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": llm.base_url,
            "SUMMARY_CONTEXT_TOKENS": "8000",
            "Q_WORKERS": "1",
            "LOG_LEVEL": "WARNING",
        }
        cluster = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                job.refresh_from_db()
                if job.is_finished:
                    break
                time.sleep(0.2)
        finally:
            cluster.send_signal(signal.SIGTERM)
            try:
                _, errors = cluster.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                cluster.kill()
                _, errors = cluster.communicate()
        assert job.status == JobStatus.DONE, (job.status, job.error_code, job.error_message, errors[-2000:])
        assert len(llm.chat_requests) > 1  # 600 messages at an 8k context: map-reduce

    summary = Summary.objects.get(job=job)
    assert summary.message_count == 600 and summary.llm_calls == len(llm.chat_requests)
    edits = [
        r.json for r in fake.requests_matching("PATCH", rf"/webhooks/\d+/{re.escape(payload['token'])}/messages/@original")
        if r.json and r.json.get("embeds")
    ]
    assert len(edits) == 1
    links = re.findall(r"https://discord\.com/channels/(\d+)/(\d+)/(\d+)", json.dumps(edits[0]))
    channel_ids = {m.id for m in fake.channel_messages(channel)}
    assert links and all(int(g) == guild.id and int(c) == channel.id and int(m) in channel_ids for g, c, m in links)
    assert SummaryJob.objects.get(pk=job.pk).attempts == 1
