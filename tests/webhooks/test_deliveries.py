"""Deliveries end to end at the service level: a real receiver on a socket, signatures checked by the
`standardwebhooks` library, time moved with time-machine for the retry schedule."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from summaries.models import JobStatus
from tests.factories import GuildFactory, ScheduleFactory, SummaryFactory, SummaryJobFactory
from tests.fakes.webhook_receiver import Reply, WebhookReceiver
from webhooks.models import Delivery, DeliveryEvent, DeliveryStatus, WebhookDestination
from webhooks.services.deliveries import (
    SCHEDULE,
    deliveries_create,
    deliveries_sweep,
    delivery_attempt,
    delivery_replay,
    delivery_run,
)
from webhooks.services.destinations import destination_create, destination_rotate_secret

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_receivers(settings):  # type: ignore[no-untyped-def]
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True  # the receivers listen on 127.0.0.1


@pytest.fixture
def receiver():
    with WebhookReceiver() as running:
        yield running


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _done_job(guild):  # type: ignore[no-untyped-def]
    job = SummaryJobFactory(guild=guild, status=JobStatus.DONE, finished_at=timezone.now())
    SummaryFactory(guild=guild, job=job, channel_id=job.channel_id, items=[
        {"section": "overview", "text": "Ship on Tuesday", "message_ids": [1], "owner": None, "unverified": False},
    ])
    return job


def _webhook(guild, url: str, events: list[str] | None = None):  # type: ignore[no-untyped-def]
    created = destination_create(guild_id=guild.id, kind="webhook", name="hook", url=url, events=events)
    return created.destination, created.secret


def _one_delivery(receiver_url: str):  # type: ignore[no-untyped-def]
    guild = GuildFactory()
    destination, secret = _webhook(guild, receiver_url)
    job = _done_job(guild)
    [delivery] = deliveries_create(job=job, event=DeliveryEvent.SUMMARY_COMPLETED)
    return delivery, destination, secret, job


def test_a_delivery_is_signed_so_the_standardwebhooks_library_verifies_it(receiver):
    delivery, destination, secret, job = _one_delivery(receiver.url)
    assert secret.startswith("whsec_")

    assert delivery_run(delivery_id=delivery.pk) == "succeeded"

    [request] = receiver.requests
    payload = request.verify(secret)
    assert request.headers["webhook-id"] == delivery.message_id and request.headers["content-type"] == "application/json"
    assert payload["type"] == "summary.completed" and payload["version"] == 1
    data = payload["data"]
    assert data["id"] == str(job.pk) and data["guild_id"] == str(job.guild_id) and data["status"] == "done"
    assert data["markdown"] and data["items"][0]["text"] == "Ship on Tuesday"
    assert data["items"][0]["links"][0].startswith("https://discord.com/channels/")
    assert set(data["usage"]) == {"prompt_tokens", "completion_tokens", "llm_calls", "cost_usd", "model"}
    assert set(data["window"]) == {"start", "end", "message_count", "first_message_id", "last_message_id"}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count, delivery.response_code) == (DeliveryStatus.SUCCEEDED, 1, 200)
    [attempt] = delivery.attempts.all()
    assert attempt.succeeded and attempt.status_code == 200 and attempt.latency_ms is not None
    assert attempt.response_body == '{"ok": true}'
    # Done is done: running it again sends nothing.
    assert delivery_run(delivery_id=delivery.pk) == "skipped" and len(receiver.requests) == 1


def test_the_job_is_delivered_once_per_destination_and_event_however_often_it_is_announced(receiver):
    delivery, destination, _, job = _one_delivery(receiver.url)
    assert deliveries_create(job=job, event=DeliveryEvent.SUMMARY_COMPLETED) == []
    assert Delivery.objects.filter(job=job).count() == 1
    # A destination not subscribed to summary.failed gets none.
    assert deliveries_create(job=job, event=DeliveryEvent.SUMMARY_FAILED) == []


def test_a_members_private_summary_never_goes_to_a_guild_destination(receiver):
    guild = GuildFactory()
    _webhook(guild, receiver.url)
    job = SummaryJobFactory(guild=guild, source="slash_command", visibility="private", status=JobStatus.DONE)
    SummaryFactory(guild=guild, job=job)
    assert deliveries_create(job=job, event=DeliveryEvent.SUMMARY_COMPLETED) == []


def test_a_schedule_that_names_destinations_sends_its_summaries_to_those_only(receiver):
    guild = GuildFactory()
    wiki, _ = _webhook(guild, receiver.url)
    chat, _ = _webhook(guild, receiver.url)
    named = ScheduleFactory(guild=guild)
    named.destinations.set([wiki])
    unnamed = ScheduleFactory(guild=guild)

    job = _done_job(guild)
    job.schedule, job.source, job.visibility = named, "schedule", "public"
    job.save()
    assert [d.destination_id for d in deliveries_create(job=job, event=DeliveryEvent.SUMMARY_COMPLETED)] == [wiki.pk]

    other = _done_job(guild)
    other.schedule, other.source, other.visibility = unnamed, "schedule", "public"
    other.save()
    sent_to = [d.destination_id for d in deliveries_create(job=other, event=DeliveryEvent.SUMMARY_COMPLETED)]
    assert sent_to == [wiki.pk, chat.pk]  # a schedule naming none: every subscribed destination


def test_retry_schedule_immediately_5s_5min_30min_2h_5h_10h_10h_then_dead(receiver):
    receiver.default = Reply(500, body="down")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        delivery, *_ = _one_delivery(receiver.url)
        waits = []
        for attempt in range(1, len(SCHEDULE) + 1):
            outcome = delivery_attempt(delivery_id=delivery.pk)
            delivery.refresh_from_db()
            assert delivery.attempt_count == attempt
            if attempt < len(SCHEDULE):
                assert outcome.status == DeliveryStatus.RETRYING
                waits.append((delivery.next_attempt_at - timezone.now()).total_seconds())
                # Not due a second early.
                clock.shift(timedelta(seconds=waits[-1] - 1))
                assert delivery_attempt(delivery_id=delivery.pk).status == "skipped"
                clock.shift(timedelta(seconds=1))
        assert waits == list(SCHEDULE[1:]) == [5, 300, 1800, 7200, 18000, 36000, 36000]
        assert outcome.status == DeliveryStatus.DEAD and delivery.next_attempt_at is None
    assert len(receiver.requests) == len(SCHEDULE) == delivery.attempts.count()
    assert {a.status_code for a in delivery.attempts.all()} == {500}
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1


def test_429_with_retry_after_waits_as_long_as_the_receiver_asked(receiver):
    receiver.script = [Reply(429, headers={"Retry-After": "120"})]
    with time_machine.travel(timezone.now(), tick=False) as clock:
        delivery, *_ = _one_delivery(receiver.url)
        outcome = delivery_attempt(delivery_id=delivery.pk)
        assert outcome.status == DeliveryStatus.RETRYING and outcome.retry_in == 120  # the schedule said 5 s
        clock.shift(timedelta(seconds=119))
        assert delivery_attempt(delivery_id=delivery.pk).status == "skipped"
        clock.shift(timedelta(seconds=1))
        assert delivery_attempt(delivery_id=delivery.pk).status == DeliveryStatus.SUCCEEDED


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
def test_other_4xx_are_permanent_one_attempt_then_failed(receiver, status):
    receiver.default = Reply(status, body="bad payload")
    delivery, *_ = _one_delivery(receiver.url)
    assert delivery_run(delivery_id=delivery.pk) == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert delivery.attempt_count == 1 and delivery.next_attempt_at is None and delivery.response_code == status
    assert delivery.attempts.get().response_body == "bad payload"


def test_receiver_down_then_up_gets_it_on_the_third_attempt():
    port = _free_port()
    delivery, *_ = _one_delivery(f"http://127.0.0.1:{port}/hook")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        # Attempt 1 at once; attempt 2 five seconds later, waited for by the same task.
        result = delivery_run(delivery_id=delivery.pk, sleep=lambda seconds: clock.shift(timedelta(seconds=seconds)))
        assert result == "retrying (next in 300 s)"
        clock.shift(timedelta(minutes=5))
        with WebhookReceiver(port=port) as receiver:
            assert deliveries_sweep() == 1  # the sweeper queues the due retry; the task runs it
            assert delivery_run(delivery_id=delivery.pk) == DeliveryStatus.SUCCEEDED
    attempts = list(delivery.attempts.order_by("number"))
    assert [a.error_code for a in attempts] == ["receiver_unreachable", "receiver_unreachable", ""]
    assert [a.succeeded for a in attempts] == [False, False, True] and len(receiver.requests) == 1


def test_replay_sends_the_same_payload_again_as_a_new_attempt(receiver):
    delivery, _, secret, _ = _one_delivery(receiver.url)
    delivery_run(delivery_id=delivery.pk)
    replayed = delivery_replay(delivery=delivery)
    assert replayed.status == DeliveryStatus.PENDING
    assert delivery_run(delivery_id=delivery.pk) == DeliveryStatus.SUCCEEDED
    first, second = receiver.requests
    assert first.body == second.body and first.headers["webhook-id"] == second.headers["webhook-id"]
    assert second.verify(secret)
    assert [a.number for a in delivery.attempts.order_by("number")] == [1, 2]


def test_during_a_rotation_both_secrets_sign_and_each_verifies(receiver):
    delivery, destination, old_secret, _ = _one_delivery(receiver.url)
    new_secret = destination_rotate_secret(destination=destination)
    assert new_secret != old_secret
    delivery_run(delivery_id=delivery.pk)
    [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert request.verifies(old_secret) and request.verifies(new_secret)
    assert not request.verifies("whsec_" + "A" * 43)
    # After the overlap only the new secret signs.
    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        delivery_replay(delivery=delivery)
        delivery_run(delivery_id=delivery.pk)
        later = receiver.requests[-1]
        assert later.verifies(new_secret) and not later.verifies(old_secret)


def test_a_destination_failing_for_five_days_is_disabled_and_its_deliveries_stop(receiver, caplog):
    receiver.default = Reply(503)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        delivery, destination, *_ = _one_delivery(receiver.url)
        delivery_attempt(delivery_id=delivery.pk)
        destination.refresh_from_db()
        assert destination.failing_since == start and destination.enabled
        clock.shift(timedelta(days=4, hours=23))
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        delivery_attempt(delivery_id=delivery.pk)
        destination.refresh_from_db()
        assert destination.enabled and destination.consecutive_failures == 2
        clock.shift(timedelta(hours=1))
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        delivery_attempt(delivery_id=delivery.pk)
        destination.refresh_from_db()
        assert not destination.enabled and "failed for 5 days" in destination.disabled_reason
        assert "destination disabled after failing for days" in caplog.text
        # The next due attempt sends nothing: the destination is off.
        sent = len(receiver.requests)
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert delivery_attempt(delivery_id=delivery.pk).status == DeliveryStatus.FAILED
        assert len(receiver.requests) == sent
        delivery.refresh_from_db()
        assert delivery.error.startswith("destination_disabled")


def test_one_success_resets_the_failure_streak(receiver):
    receiver.script = [Reply(500)]
    with time_machine.travel(timezone.now(), tick=False) as clock:
        delivery, destination, *_ = _one_delivery(receiver.url)
        delivery_attempt(delivery_id=delivery.pk)
        clock.shift(timedelta(seconds=5))
        delivery_attempt(delivery_id=delivery.pk)
    destination.refresh_from_db()
    assert destination.failing_since is None and destination.consecutive_failures == 0


def test_a_delivery_whose_worker_died_mid_attempt_is_taken_back_and_succeeds_once(receiver):
    delivery, *_ = _one_delivery(receiver.url)
    # A worker claimed it and died before recording anything (its attempt row is open).
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.IN_PROGRESS, attempt_count=1, claimed_at=timezone.now() - timedelta(minutes=11),
        claim_token="00000000-0000-0000-0000-000000000001",
    )
    delivery.attempts.create(number=1, started_at=timezone.now() - timedelta(minutes=11))
    assert deliveries_sweep() == 1
    assert delivery_run(delivery_id=delivery.pk) == DeliveryStatus.SUCCEEDED
    attempts = list(delivery.attempts.order_by("number"))
    assert [(a.number, a.error_code, a.succeeded) for a in attempts] == [(1, "interrupted", False), (2, "", True)]
    assert Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SUCCEEDED).count() == 1


def test_a_destination_for_failures_gets_summary_failed(receiver):
    guild = GuildFactory()
    destination, secret = _webhook(guild, receiver.url, events=["summary.failed"])
    job = SummaryJobFactory(guild=guild, status=JobStatus.FAILED, error_code="no_messages", error_message="Nothing")
    [delivery] = deliveries_create(job=job, event=DeliveryEvent.SUMMARY_FAILED)
    delivery_run(delivery_id=delivery.pk)
    payload = receiver.requests[0].verify(secret)
    assert payload["type"] == "summary.failed" and payload["data"]["status"] == "failed"
    assert payload["data"]["error"] == {"code": "no_messages", "message": "Nothing"} and payload["data"]["markdown"] is None
    assert WebhookDestination.objects.get(pk=destination.pk).consecutive_failures == 0


def test_a_discord_webhook_url_gets_the_bots_embeds_and_waits_for_the_message(receiver, settings):
    settings.DISCORD_API_BASE_URL = f"http://127.0.0.1:{receiver.port}/api/v10"  # the receiver stands in for Discord
    guild = GuildFactory()
    destination = destination_create(
        guild_id=guild.id, kind="discord_webhook", name="hook",
        url=f"http://127.0.0.1:{receiver.port}/api/webhooks/123/tok-en_1",
    ).destination
    assert destination.secret == ""
    job = _done_job(guild)
    [delivery] = deliveries_create(job=job, event=DeliveryEvent.SUMMARY_COMPLETED)
    assert delivery_run(delivery_id=delivery.pk) == DeliveryStatus.SUCCEEDED
    [request] = receiver.requests
    assert request.path == "/api/webhooks/123/tok-en_1?wait=true"
    body = json.loads(request.body)
    assert body["allowed_mentions"] == {"parse": []} and body["embeds"][0]["description"]
