"""A real django-q2 cluster (`manage.py qcluster`) picks a committed job off the ORM broker and runs it
against the fake Discord and the fake OpenAI server: the production path, process boundary included."""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from guilds.models import Channel, Guild
from summaries.models import JobStatus, Summary, SummaryJob
from summaries.services.jobs import SummaryRequest, summary_request
from summaries.window import SummaryWindow
from tests.fakes.discord import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI
from tests.processes import run_qcluster_until, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def test_qcluster_runs_a_queued_slash_command_job_through_openai_and_answers_in_discord(discord_settings):
    fake: FakeDiscord = discord_settings
    guild, alice, channel, payload = slash_command_asked(fake, messages=600)

    with FakeOpenAI() as llm:
        job = slash_job(payload, guild, channel, alice, window=SummaryWindow.count(600))
        env = worker_env(fake, llm, SUMMARY_CONTEXT_TOKENS="8000")
        errors = run_qcluster_until_finished(job, env)
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


def run_qcluster_until_finished(job: SummaryJob, env: dict[str, str]) -> str:
    def finished() -> bool:
        job.refresh_from_db()
        return job.is_finished

    return run_qcluster_until(finished, env)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_worker_whose_cache_is_unreachable_backs_off_then_fails_the_job_where_the_member_sees_it(
    discord_settings, client, settings
):
    fake: FakeDiscord = discord_settings
    guild, alice, channel, payload = slash_command_asked(fake, messages=50)
    # The injected fault: the cache (and Channels layer) point at a Redis that is not there.
    dead_redis = f"redis://127.0.0.1:{unused_port()}/0"

    with FakeOpenAI() as llm:
        job = slash_job(payload, guild, channel, alice, window=SummaryWindow.count(50))
        env = worker_env(fake, llm, REDIS_URL=dead_redis, WORKER_START_GRACE_SECONDS="4", LOG_LEVEL="INFO")
        started = time.monotonic()
        errors = run_qcluster_until_finished(job, env)
        took = time.monotonic() - started

    assert job.status == JobStatus.FAILED, (job.status, job.error_code, errors[-3000:])
    assert job.error_code == "service_unavailable"
    assert took >= 4  # it waited out the grace period before taking the job
    # No respawn loop, and one line an operator can act on.
    assert "reincarnated" not in errors, errors[-3000:]
    start_lines = [line for line in errors.splitlines() if "cannot start cleanly" in line]
    assert len(start_lines) == 1 and "cache failed" in start_lines[0], errors[-3000:]
    # The member's "thinking…" became the reason, without a traceback.
    told = [r.json["content"] for r in fake.requests_matching(
        "PATCH", rf"/webhooks/\d+/{re.escape(payload['token'])}/messages/@original") if r.json and r.json.get("content")]
    assert told and told[-1].startswith("❌ The summary service could not reach its database or cache")
    assert "Traceback" not in told[-1]

    # The web process sees the same fault and names it.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": dead_redis}}
    response = client.get("/ready")
    assert response.status_code == 503 and response.json()["failing"] == ["cache"]


def slash_command_asked(fake: FakeDiscord, *, messages: int) -> tuple[Any, Any, Any, dict[str, Any]]:
    """A guild with a chatty channel, both mirrored, and a /summarize the bot has deferred (ephemeral)."""
    guild = fake.add_guild("Guild")
    alice = fake.add_member(guild, username="alice", global_name="Alice")
    channel = fake.add_channel(guild, "general")
    fake.add_messages(channel, messages, authors=[alice], content="shall we ship the release on friday? {i}")
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
    return guild, alice, channel, payload


def slash_job(payload: dict[str, Any], guild: Any, channel: Any, user: Any, *, window: SummaryWindow) -> SummaryJob:
    # Committed (transaction=True), so on_commit has put the task on the ORM broker.
    job, _ = summary_request(
        request=SummaryRequest(
            guild_id=guild.id, channel_id=channel.id, source="slash_command", requested_by_user_id=user.id,
            window=window, interaction_id=int(payload["id"]), application_id=int(payload["application_id"]),
            interaction_token=payload["token"],
        )
    )
    return job

