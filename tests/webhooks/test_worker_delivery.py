"""From the worker's own path to a receiver: a summary asked for over the API, run by the worker's task
against the fake Discord, reaches the guild's webhook once, through the task django-q2 was given."""

from __future__ import annotations

import json

import pytest
from django.utils.module_loading import import_string
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from guilds.models import Channel, Guild
from summaries.models import SummaryJob
from summaries.tasks import run_summary_job
from tests.fakes.discord import FakeDiscord
from tests.fakes.webhook_receiver import WebhookReceiver
from webhooks.models import Delivery, DeliveryStatus
from webhooks.services import api_key_issue
from webhooks.services.destinations import destination_create


def run_queued(prefix: str = "webhooks.") -> list[str]:
    """Run the django-q2 tasks queued in the ORM broker whose function starts with `prefix`, as a worker would."""
    results = []
    for row in OrmQ.objects.order_by("id"):
        task = SignedPackage.loads(row.payload)
        if task["func"].startswith(prefix):
            row.delete()
            results.append(import_string(task["func"])(*task["args"], **task["kwargs"]))
    return results


@pytest.fixture
def world(discord_settings: FakeDiscord, settings):  # type: ignore[no-untyped-def]
    settings.OPENAI_API_KEY = ""  # the offline engine
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    fake = discord_settings
    guild = fake.add_guild("Guild")
    alice = fake.add_member(guild, username="alice", global_name="Alice")
    channel = fake.add_channel(guild, "general")
    db_guild = Guild.objects.create(id=guild.id, name="Guild", bot_present=True, member_cooldown_seconds=0)
    Channel.objects.create(id=channel.id, guild_id=guild.id, name="general")
    for n in range(30):
        fake.add_message(channel, author=alice, content=f"We ship the release on Tuesday, item {n}.")
    return fake, db_guild, channel


@pytest.mark.django_db(transaction=True)
def test_a_completed_summary_reaches_the_webhook_once_through_the_worker(world, client):
    fake, guild, channel = world
    raw = api_key_issue(guild=guild, name="ci", scopes=["summaries:write"]).plaintext
    with WebhookReceiver() as receiver:
        created = destination_create(guild_id=guild.id, kind="webhook", name="ci", url=receiver.url,
                                     events=["summary.completed", "summary.failed"])
        answer = client.post("/api/v1/summaries", data=json.dumps({"channel_id": str(channel.id), "messages": 20}),
                             content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
        job = SummaryJob.objects.get(pk=answer.json()["id"])

        assert run_summary_job(str(job.pk)) == "done"
        assert run_summary_job(str(job.pk)).startswith("skipped")  # a redelivered job task changes nothing
        assert run_queued() == ["succeeded"]
        assert run_queued() == []

        [request] = receiver.requests
    payload = request.verify(created.secret)
    assert payload["type"] == "summary.completed" and payload["data"]["id"] == str(job.pk)
    assert payload["data"]["channel_id"] == str(channel.id) and payload["data"]["items"]
    assert all(len(i["links"]) == len(i["message_ids"]) for i in payload["data"]["items"])
    [delivery] = Delivery.objects.filter(job=job)
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failed_job_sends_summary_failed(world, client):
    fake, guild, channel = world
    raw = api_key_issue(guild=guild, name="ci", scopes=["summaries:write"]).plaintext
    with WebhookReceiver() as receiver:
        created = destination_create(guild_id=guild.id, kind="webhook", name="ci", url=receiver.url,
                                     events=["summary.failed"])
        empty = fake.add_channel(guild.id, "empty")
        Channel.objects.create(id=empty.id, guild_id=guild.id, name="empty")
        answer = client.post("/api/v1/summaries", data=json.dumps({"channel_id": str(empty.id), "messages": 20}),
                             content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
        job = SummaryJob.objects.get(pk=answer.json()["id"])
        assert run_summary_job(str(job.pk)).startswith("failed")
        assert run_queued() == ["succeeded"]
        payload = receiver.requests[0].verify(created.secret)
    assert payload["type"] == "summary.failed" and payload["data"]["error"]["code"]


@pytest.mark.django_db(transaction=True)
def test_a_discord_channel_destination_gets_the_bots_embeds_with_a_nonce(world):
    fake, guild, channel = world
    target = fake.add_channel(guild.id, "digests")
    Channel.objects.create(id=target.id, guild_id=guild.id, name="digests")
    destination_create(guild_id=guild.id, kind="discord_channel", name="digests", discord_channel_id=target.id)
    job = SummaryJob.objects.create(guild=guild, channel_id=channel.id, source="api", window_kind="count",
                                    message_limit=20, delivery_mode="none")
    assert run_summary_job(str(job.pk)) == "done"
    assert run_queued() == ["succeeded"]
    [post] = fake.requests_matching("POST", rf"/channels/{target.id}/messages")
    body = post.json
    assert body["embeds"][0]["title"] == "Summary of #general" and body["nonce"] and body["enforce_nonce"]
