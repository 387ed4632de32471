"""Zapier REST Hooks: subscribe, unsubscribe and the perform-list over the API with a guild's key, and the
events a hook receives, from a fake receiver on a real socket standing where Zapier's target URL would."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from summaries.models import JobStatus
from tests.api_support import assert_envelope
from tests.factories import GuildFactory, SummaryFactory, SummaryJobFactory
from tests.fakes.webhook_receiver import Reply, WebhookReceiver
from webhooks.models import Delivery, DeliveryEvent, DeliveryStatus, WebhookDestination
from webhooks.services import api_key_authenticate, api_key_issue
from webhooks.services.deliveries import deliveries_create, delivery_run
from webhooks.services.destinations import destination_create

pytestmark = pytest.mark.django_db
HOOKS = ["hooks:read", "hooks:write"]


@pytest.fixture(autouse=True)
def _private_receivers(settings):  # type: ignore[no-untyped-def]
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True  # the receivers listen on 127.0.0.1


@pytest.fixture
def receiver():
    with WebhookReceiver() as running:
        yield running


def key(guild, scopes=None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    raw = api_key_issue(guild=guild, name="zapier", scopes=scopes or HOOKS).plaintext
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def subscribe(client, auth, target_url: str, event: str = "summary.completed"):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/hooks", data=json.dumps({"target_url": target_url, "event": event}),
                       content_type="application/json", **auth)


def samples(client, auth, event: str | None = None):  # type: ignore[no-untyped-def]
    return client.get("/api/v1/hooks/samples", {"event": event} if event else {}, **auth)


def finished_job(guild, *, text: str = "Ship on Tuesday", failed: bool = False, minutes_ago: int = 0, **fields):  # type: ignore[no-untyped-def]
    finished = timezone.now() - timedelta(minutes=minutes_ago)
    if failed:
        return SummaryJobFactory(guild=guild, status=JobStatus.FAILED, finished_at=finished, error_code="no_messages",
                                 error_message="No messages in the window.", **fields)
    job = SummaryJobFactory(guild=guild, status=JobStatus.DONE, finished_at=finished, **fields)
    SummaryFactory(guild=guild, job=job, channel_id=job.channel_id, items=[
        {"section": "overview", "text": text, "message_ids": [1], "owner": None, "unverified": False},
    ])
    return job


def announce(job, event: str = DeliveryEvent.SUMMARY_COMPLETED) -> list[str]:  # type: ignore[no-untyped-def]
    """What the worker does once a job has finished: create its deliveries, then run each delivery's task."""
    return [delivery_run(delivery_id=d.pk) for d in deliveries_create(job=job, event=event)]


# --- Subscribe, deliver, unsubscribe ---


def test_a_subscribed_hook_gets_each_completed_summary_posted_once(client, receiver):
    guild = GuildFactory()
    answer = subscribe(client, key(guild), receiver.url)
    assert answer.status_code == 201, answer.content
    hook = answer.json()
    assert set(hook) == {"id", "target_url", "event", "created_at"}
    assert hook["target_url"] == receiver.url and hook["event"] == "summary.completed"
    stored = WebhookDestination.objects.get(pk=hook["id"])
    assert (stored.guild_id, stored.kind, stored.events, stored.enabled) == (guild.id, "zapier", ["summary.completed"], True)

    job = finished_job(guild)
    assert announce(job) == ["succeeded"]
    assert announce(job) == []  # the worker announcing the job again sends nothing new
    assert announce(job, DeliveryEvent.SUMMARY_FAILED) == []  # not subscribed to that event

    [request] = receiver.requests
    payload = json.loads(request.body)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == Delivery.objects.get(job=job).message_id
    assert int(request.headers["webhook-timestamp"]) > 0 and "webhook-signature" not in request.headers
    assert payload["type"] == "summary.completed" and payload["version"] == 1
    assert payload["data"]["id"] == str(job.pk) and payload["data"]["items"][0]["text"] == "Ship on Tuesday"


def test_a_hook_subscribed_to_summary_failed_gets_failures(client, receiver):
    guild = GuildFactory()
    assert subscribe(client, key(guild), receiver.url, "summary.failed").status_code == 201
    assert announce(finished_job(guild)) == []
    job = finished_job(guild, failed=True)
    assert announce(job, DeliveryEvent.SUMMARY_FAILED) == ["succeeded"]
    payload = json.loads(receiver.requests[0].body)
    assert payload["type"] == "summary.failed" and payload["data"]["status"] == "failed"
    assert payload["data"]["error"] == {"code": "no_messages", "message": "No messages in the window."}


def test_subscribing_the_same_url_and_event_again_gives_the_same_hook(client, receiver):
    guild = GuildFactory()
    auth = key(guild)
    first = subscribe(client, auth, receiver.url).json()
    again = subscribe(client, auth, receiver.url)
    assert again.status_code == 200 and again.json() == first
    other_event = subscribe(client, auth, receiver.url, "summary.failed")
    assert other_event.status_code == 201 and other_event.json()["id"] != first["id"]
    assert WebhookDestination.objects.filter(guild=guild).count() == 2


def test_the_target_url_is_encrypted_at_rest(client, receiver):
    hook = subscribe(client, key(GuildFactory()), receiver.url).json()
    with connection.cursor() as cursor:
        cursor.execute("SELECT url FROM webhooks_webhookdestination WHERE id = %s", [hook["id"]])
        stored = cursor.fetchone()[0]
    assert receiver.url not in stored and str(receiver.port) not in stored


def test_unsubscribe_stops_the_events(client, receiver):
    guild = GuildFactory()
    auth = key(guild)
    hook = subscribe(client, auth, receiver.url).json()
    assert announce(finished_job(guild)) == ["succeeded"]

    assert client.delete(f"/api/v1/hooks/{hook['id']}", **auth).status_code == 204
    assert not WebhookDestination.objects.filter(pk=hook["id"]).exists()
    assert announce(finished_job(guild)) == []
    assert len(receiver.requests) == 1
    assert_envelope(client.delete(f"/api/v1/hooks/{hook['id']}", **auth), 404, "not_found")


# --- What the target answers ---


def test_410_gone_unsubscribes_the_hook_instead_of_retrying(client, receiver):
    guild = GuildFactory()
    auth = key(guild)
    hook = subscribe(client, auth, receiver.url).json()
    receiver.default = Reply(410, body='{"status": "gone"}')
    job = finished_job(guild)

    assert announce(job) == [DeliveryStatus.FAILED]
    assert len(receiver.requests) == 1  # no retry
    delivery = Delivery.objects.get(job=job)
    [attempt] = delivery.attempts.all()
    assert (attempt.status_code, attempt.error_code, attempt.response_body) == (410, "hook_gone", '{"status": "gone"}')
    assert delivery.error.startswith("hook_gone:")
    stored = WebhookDestination.objects.get(pk=hook["id"])
    assert not stored.enabled and stored.disabled_reason.startswith("Unsubscribed:")
    assert stored.consecutive_failures == 0  # unsubscribed, not failing
    # Nothing more goes there; the delivery log stays readable.
    assert announce(finished_job(guild)) == []
    assert len(receiver.requests) == 1

    # The Zap subscribes that URL again: the hook is back.
    receiver.default = Reply(200)
    again = subscribe(client, auth, receiver.url)
    assert again.status_code == 200 and again.json()["id"] == hook["id"]
    assert WebhookDestination.objects.get(pk=hook["id"]).enabled
    assert announce(finished_job(guild)) == ["succeeded"]


def test_other_failures_follow_the_retry_rules(client, receiver):
    guild = GuildFactory()
    hook = subscribe(client, key(guild), receiver.url).json()
    receiver.script = [Reply(500, body="down")]
    with time_machine.travel(timezone.now(), tick=False) as clock:
        [delivery] = deliveries_create(job=finished_job(guild), event=DeliveryEvent.SUMMARY_COMPLETED)
        # Attempt 1 fails, the 5 s wait is slept inline (here: the clock moves), attempt 2 succeeds.
        assert delivery_run(delivery_id=delivery.pk, sleep=lambda s: clock.shift(timedelta(seconds=s))) == "succeeded"
    assert [a.status_code for a in Delivery.objects.get(pk=delivery.pk).attempts.order_by("number")] == [500, 200]
    assert WebhookDestination.objects.get(pk=hook["id"]).enabled

    receiver.script = [Reply(404, body="no such hook")]
    assert announce(finished_job(guild)) == [DeliveryStatus.FAILED]  # a permanent 4xx, not an unsubscribe
    assert WebhookDestination.objects.get(pk=hook["id"]).enabled


# --- The perform-list ---


def test_samples_are_the_latest_real_events_exactly_as_the_hook_received_them(client, receiver):
    guild = GuildFactory()
    auth = key(guild)
    subscribe(client, auth, receiver.url)
    jobs = [finished_job(guild, text=f"point {n}", minutes_ago=10 - n) for n in range(4)]  # jobs[3] is newest
    for job in jobs:
        assert announce(job) == ["succeeded"]
    # Never a member's private summary (a delivery would not send it either).
    finished_job(guild, source="slash_command", visibility="private")
    finished_job(guild, failed=True)

    answer = samples(client, auth)
    assert answer.status_code == 200
    listed = answer.json()
    assert isinstance(listed, list) and [s["data"]["id"] for s in listed] == [str(j.pk) for j in jobs[:0:-1]]
    received = {json.loads(r.body)["data"]["id"]: json.loads(r.body) for r in receiver.requests}
    for sample in listed:
        sent = received[sample["data"]["id"]]
        # The same document; only the timestamp differs (the job's end here, the delivery's queueing there).
        assert {k: v for k, v in sample.items() if k != "timestamp"} == {k: v for k, v in sent.items() if k != "timestamp"}
        finished_at = next(j.finished_at for j in jobs if str(j.pk) == sample["data"]["id"])
        assert datetime.fromisoformat(sample["timestamp"]) == finished_at


def test_samples_of_failures_are_failed_events(client):
    guild = GuildFactory()
    auth = key(guild)
    finished_job(guild)
    failed = finished_job(guild, failed=True)
    [sample] = samples(client, auth, "summary.failed").json()
    assert sample["type"] == "summary.failed" and sample["data"]["id"] == str(failed.pk)
    assert sample["data"]["error"]["code"] == "no_messages"


@pytest.mark.parametrize("event", ["summary.completed", "summary.failed"])
def test_samples_give_an_example_in_the_same_shape_while_there_is_no_event(client, receiver, event):
    guild = GuildFactory()
    auth = key(guild)
    [example] = samples(client, auth, event).json()
    assert example["type"] == event and example["data"]["test"] is True and example["data"]["guild_id"] == str(guild.id)

    subscribe(client, auth, receiver.url, event)
    job = finished_job(guild, failed=event == "summary.failed")
    announce(job, event)
    real = json.loads(receiver.requests[0].body)
    assert set(example) == set(real) and set(example["data"]) - {"test"} == set(real["data"])
    assert example["data"]["status"] == real["data"]["status"]
    assert (example["data"]["window"] is None) == (real["data"]["window"] is None)


# --- Tenants, input, scopes ---


def test_another_guilds_key_can_neither_see_nor_delete_a_hook(client, receiver):
    mine, theirs = GuildFactory(), GuildFactory()
    hook = subscribe(client, key(mine), receiver.url).json()
    job = finished_job(mine)
    assert_envelope(client.delete(f"/api/v1/hooks/{hook['id']}", **key(theirs)), 404, "not_found")
    assert WebhookDestination.objects.filter(pk=hook["id"]).exists()
    [their_sample] = samples(client, key(theirs)).json()
    assert their_sample["data"]["test"] is True and their_sample["data"]["guild_id"] == str(theirs.id)
    assert [s["data"]["id"] for s in samples(client, key(mine)).json()] == [str(job.pk)]
    # The same URL subscribed by another guild is that guild's own hook.
    other = subscribe(client, key(theirs), receiver.url)
    assert other.status_code == 201 and other.json()["id"] != hook["id"]


def test_only_zapier_destinations_are_hooks(client, receiver):
    guild = GuildFactory()
    webhook = destination_create(guild_id=guild.id, kind="webhook", name="ci", url=receiver.url).destination
    assert_envelope(client.delete(f"/api/v1/hooks/{webhook.pk}", **key(guild)), 404, "not_found")
    assert_envelope(client.delete("/api/v1/hooks/not-a-number", **key(guild)), 404, "not_found")
    assert WebhookDestination.objects.filter(pk=webhook.pk).exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"event": "summary.completed"}, "target_url"),
    ({"target_url": "https://hooks.zapier.com/hooks/standard/1/abc/"}, "event"),
    ({"target_url": "https://hooks.zapier.com/hooks/standard/1/abc/", "event": "summary.created"}, "event"),
    ({"target_url": "https://hooks.zapier.com/x", "event": "summary.completed", "secret": "x"}, "secret"),
])
def test_bad_subscriptions_are_400(client, body, field):
    answer = client.post("/api/v1/hooks", data=json.dumps(body), content_type="application/json", **key(GuildFactory()))
    assert field in assert_envelope(answer, 400)["details"]


@pytest.mark.parametrize("target_url", [
    "http://hooks.zapier.com/hooks/standard/1/abc/",  # HTTPS only
    "https://127.0.0.1/hook",  # the SSRF guard
    "https://169.254.169.254/latest/meta-data/",
    "ftp://hooks.zapier.com/x",
    "not a url",
])
def test_unsafe_target_urls_are_refused(client, settings, target_url):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = False
    guild = GuildFactory()
    assert_envelope(subscribe(client, key(guild), target_url), 400, "destination_refused")
    assert not WebhookDestination.objects.filter(guild=guild).exists()


def test_a_bad_sample_event_is_400(client):
    assert "event" in assert_envelope(samples(client, key(GuildFactory()), "summary.created"), 400)["details"]


def test_each_endpoint_needs_its_scope(client, receiver):
    guild = GuildFactory()
    hook = subscribe(client, key(guild), receiver.url).json()
    reader = key(guild, ["hooks:read"])
    writer = key(guild, ["hooks:write"])
    destinations = key(guild, ["destinations:read", "destinations:write"])
    for auth in (reader, destinations):
        assert_envelope(subscribe(client, auth, receiver.url), 403)
        assert_envelope(client.delete(f"/api/v1/hooks/{hook['id']}", **auth), 403)
    for auth in (writer, destinations):
        assert_envelope(samples(client, auth), 403)
    assert_envelope(client.get("/api/v1/hooks/samples"), 401)
    assert samples(client, reader).status_code == 200
    assert client.delete(f"/api/v1/hooks/{hook['id']}", **writer).status_code == 204


def test_the_apikey_command_issues_a_key_for_zapier():
    guild = GuildFactory()
    out = StringIO()
    call_command("apikey", "create", "--guild", str(guild.id), "--name", "zapier",
                 "--scope", "hooks:read", "--scope", "hooks:write", stdout=out)
    issued = api_key_authenticate(raw_key=out.getvalue().strip().splitlines()[-1])
    assert issued.scopes == ["hooks:read", "hooks:write"]
