"""/metrics after real work: a job asked for over the API, run by the real runner against the fake Discord and
the fake OpenAI server, delivered to a fake webhook receiver; and who may read it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from guilds.models import Channel, Guild
from summaries.llm.breaker import CircuitBreaker
from summaries.models import SummaryJob
from summaries.tasks import run_summary_job
from summarybot.metrics import discord_route
from summarybot.metrics_view import exposition
from tests.fakes.discord import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.webhooks.test_worker_delivery import run_queued
from webhooks.services import api_key_issue
from webhooks.services.destinations import destination_create

ROOT = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    """The sum over the samples of `name` whose labels include `labels`."""
    return sum(v for (n, ls), v in found.items() if n == name and set(labels.items()) <= set(ls))


def scrape(client, **headers: str) -> dict:  # type: ignore[no-untyped-def]
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return samples(response.content.decode())


@pytest.mark.django_db(transaction=True)
def test_metrics_after_a_job_show_requests_time_queue_tokens_cost_discord_deliveries_and_breakers(
    discord_settings: FakeDiscord, settings, client
):
    fake = discord_settings
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    guild = fake.add_guild("Guild")
    alice = fake.add_member(guild, username="alice", global_name="Alice")
    channel = fake.add_channel(guild, "general")
    db_guild = Guild.objects.create(id=guild.id, name="Guild", bot_present=True, member_cooldown_seconds=0)
    Channel.objects.create(id=channel.id, guild_id=guild.id, name="general")
    for n in range(30):
        fake.add_message(channel, author=alice, content=f"We ship the release on Tuesday, item {n}.")
    key = api_key_issue(guild=db_guild, name="ci", scopes=["summaries:write"]).plaintext
    before = scrape(client)

    with FakeOpenAI() as llm, WebhookReceiver() as receiver:
        settings.SUMMARY_PROVIDER = "openai"
        settings.OPENAI_API_KEY = "sk-test-metrics"
        settings.OPENAI_BASE_URL = llm.base_url
        destination_create(guild_id=guild.id, kind="webhook", name="ci", url=receiver.url, events=["summary.completed"])
        ask = {"channel_id": str(channel.id), "messages": 20}
        answer = client.post("/api/v1/summaries", data=json.dumps(ask), content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {key}")
        assert answer.status_code == 202, answer.content
        assert run_summary_job(answer.json()["id"]) == "done"
        assert run_queued() == ["succeeded"]
    # One more job waits in the queue, and one LLM endpoint's breaker is open.
    client.post("/api/v1/summaries", data=json.dumps({**ask, "messages": 10}), content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {key}")
    assert SummaryJob.objects.filter(status="queued").count() == 1
    breaker = CircuitBreaker(scope="https://llm.example/v1|gpt-4o-mini", failure_threshold=1,
                             label="llm.example gpt-4o-mini", cooldown_seconds=60)
    asyncio.run(breaker.record_failure())

    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("summary_requests_total", type="api", status="done") == 1
    assert grew("summary_processing_seconds_count", type="api") == 1
    assert grew("summary_processing_seconds_sum", type="api") > 0
    assert value(after, "job_queue_size") == 1
    assert grew("llm_tokens_total", model="gpt-4o-mini", kind="prompt") > 0
    assert grew("llm_tokens_total", model="gpt-4o-mini", kind="completion") > 0
    assert grew("llm_calls_total", model="gpt-4o-mini") >= 1
    assert grew("llm_cost_usd_total", model="gpt-4o-mini") > 0
    assert grew("discord_api_requests_total", method="GET", route="/channels/{id}/messages", status="200") >= 1
    assert grew("deliveries_total", kind="webhook", result="succeeded") == 1
    assert value(after, "llm_circuit_breakers_open", endpoint="llm.example gpt-4o-mini") == 1
    assert value(after, "llm_circuit_breakers_open_count") >= 1


def test_discord_routes_are_templates_without_ids_or_tokens():
    token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5OmFiY2RlZmdoaWprbG1ub3A"
    assert discord_route("/api/v10/channels/223456789012345678/messages") == "/channels/{id}/messages"
    assert discord_route(f"/api/v10/webhooks/1234/{token}/messages/@original") == "/webhooks/{id}/{param}/messages/{param}"
    assert discord_route(f"/api/v10/interactions/99/{token}/callback") == "/interactions/{id}/{param}/callback"
    assert discord_route("/api/v10/channels/1/messages/2/reactions/%F0%9F%91%8D/@me") == (
        "/channels/{id}/messages/{id}/reactions/{param}/{param}"
    )


@pytest.mark.django_db
def test_with_a_token_metrics_need_it_as_a_bearer_token(client, settings):
    settings.METRICS_TOKEN = "metrics-secret-0123456789"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics").headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic metrics-secret-0123456789").status_code == 401
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-secret-0123456789", REMOTE_ADDR="203.0.113.9")
    assert ok.status_code == 200 and b"job_queue_size" in ok.content


@pytest.mark.django_db
def test_without_a_token_only_loopback_clients_that_no_proxy_forwarded_get_metrics(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.5").status_code == 403
    # nginx on the same host: the socket peer is loopback, the client is not.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403
    assert client.post("/metrics").status_code == 405


@pytest.mark.django_db
def test_in_multiprocess_mode_metrics_add_up_what_other_processes_counted(tmp_path, settings):
    """The worker's and the bot's processes write to PROMETHEUS_MULTIPROC_DIR; the web process reads it."""
    script = (
        "import django; django.setup()\n"
        "from summarybot import metrics\n"
        "metrics.summary_job_ended(source='schedule', status='done', seconds=3.0)\n"
        "metrics.discord_request_done(method='get', path='/api/v10/channels/1/messages', status=200)\n"
    )
    for _ in range(2):  # two processes, as two django-q2 workers
        subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, check=True, timeout=60,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "summarybot.settings", "DJANGO_DEBUG": "true",
                 "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
        )
    settings.PROMETHEUS_MULTIPROC_DIR = str(tmp_path)
    found = samples(exposition().decode())
    assert value(found, "summary_requests_total", type="schedule", status="done") == 2
    assert value(found, "summary_processing_seconds_sum", type="schedule") == 6.0
    assert value(found, "discord_api_requests_total", route="/channels/{id}/messages") == 2
    assert "job_queue_size" in {name for name, _ in found}
