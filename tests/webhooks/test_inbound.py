"""Inbound webhooks: signatures (Standard Webhooks and GitHub-style), rotation, replays, events, limits.

Requests go through the real URL conf, view, service and exception handler; signatures are made by the
`standardwebhooks` library's own `Webhook.sign` (or hmac for the GitHub style), never by our code.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from standardwebhooks.webhooks import Webhook

from summaries.models import DeliveryMode, JobSource, SummaryJob
from tests.api_support import assert_envelope
from tests.factories import ChannelFactory, GuildFactory
from webhooks.models import InboundEvent, InboundSecret
from webhooks.services import inbound_secret_create, inbound_secret_revoke

pytestmark = pytest.mark.django_db
GENERIC_401 = "The webhook could not be verified."


def url(guild_id: int) -> str:
    return f"/webhooks/inbound/{guild_id}/"


def event(channel_id: int, **data: object) -> bytes:
    return json.dumps({"type": "summary.requested", "data": {"channel_id": str(channel_id), "hours": 6, **data}}).encode()


def standard_headers(
    secret: str, body: bytes, *, msg_id: str = "msg_1", at: datetime | None = None
) -> dict[str, str]:
    at = at or datetime.now(tz=UTC)
    signature = Webhook(secret).sign(msg_id=msg_id, timestamp=at, data=body.decode())
    return {
        "HTTP_WEBHOOK_ID": msg_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(int(at.timestamp())),
        "HTTP_WEBHOOK_SIGNATURE": signature,
    }


def send(client, guild_id: int, body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(url(guild_id), data=body, content_type="application/json", **headers)


def assert_not_verified(response) -> None:  # type: ignore[no-untyped-def]
    error = assert_envelope(response, 401, "authentication_failed")
    assert error["message"] == GENERIC_401 and error["details"] == {}


@pytest.fixture
def setup():  # type: ignore[no-untyped-def]
    guild = GuildFactory(member_cooldown_seconds=0, max_concurrent_jobs=10)
    channel = ChannelFactory(guild=guild)
    secret = inbound_secret_create(guild=guild, name="ci").plaintext
    return guild, channel, secret


# --- Standard Webhooks signatures ---


def test_a_library_signed_summary_request_queues_a_webhook_job_and_answers_202(setup, client):
    guild, channel, secret = setup
    body = event(channel.id, format="brief")
    response = send(client, guild.id, body, standard_headers(secret, body))
    assert response.status_code == 202, response.content
    answer = response.json()
    assert answer["type"] == "summary.requested" and answer["webhook_id"] == "msg_1" and answer["status"] == "queued"
    job = SummaryJob.objects.get(pk=answer["summary_id"])
    assert (job.guild_id, job.channel_id, job.source, job.format) == (guild.id, channel.id, JobSource.WEBHOOK, "brief")
    assert job.delivery_mode == DeliveryMode.NONE
    assert InboundEvent.objects.get().job == job


def test_a_tampered_body_is_401_and_does_nothing(setup, client):
    guild, channel, secret = setup
    headers = standard_headers(secret, event(channel.id))
    assert_not_verified(send(client, guild.id, event(channel.id, hours=7), headers))
    assert not SummaryJob.objects.exists() and not InboundEvent.objects.exists()


@pytest.mark.parametrize("minutes", [-6, 6])
def test_a_timestamp_outside_five_minutes_is_401(setup, client, minutes):
    guild, channel, secret = setup
    body = event(channel.id)
    at = datetime.now(tz=UTC) + timedelta(minutes=minutes)
    assert_not_verified(send(client, guild.id, body, standard_headers(secret, body, at=at)))
    assert not SummaryJob.objects.exists()


def test_a_timestamp_within_tolerance_is_accepted(setup, client):
    guild, channel, secret = setup
    body = event(channel.id)
    at = datetime.now(tz=UTC) - timedelta(minutes=4)
    assert send(client, guild.id, body, standard_headers(secret, body, at=at)).status_code == 202


def test_a_wrong_secret_an_unknown_guild_and_missing_or_garbled_headers_get_the_same_401(setup, client):
    guild, channel, secret = setup
    body = event(channel.id)
    other_secret = inbound_secret_create(guild=GuildFactory(), name="theirs").plaintext
    assert_not_verified(send(client, guild.id, body, standard_headers(other_secret, body)))
    assert_not_verified(send(client, 1234567890123, body, standard_headers(secret, body)))
    assert_not_verified(send(client, guild.id, body, {}))
    garbled = standard_headers(secret, body) | {"HTTP_WEBHOOK_SIGNATURE": "v1"}
    assert_not_verified(send(client, guild.id, body, garbled))
    no_id = {k: v for k, v in standard_headers(secret, body).items() if k != "HTTP_WEBHOOK_ID"}
    assert_not_verified(send(client, guild.id, body, no_id))
    assert not SummaryJob.objects.exists()


def test_rotation_old_and_new_secrets_both_verify_while_active_and_a_revoked_one_is_refused(setup, client):
    guild, channel, old = setup
    new = inbound_secret_create(guild=guild, name="ci-2026").plaintext
    body = event(channel.id)
    assert send(client, guild.id, body, standard_headers(old, body, msg_id="a")).status_code == 202
    assert send(client, guild.id, body, standard_headers(new, body, msg_id="b")).status_code == 202
    # A sender mid-rotation signs with both: one space-separated header.
    both = standard_headers(old, body, msg_id="c")
    both["HTTP_WEBHOOK_SIGNATURE"] += " " + standard_headers(new, body, msg_id="c")["HTTP_WEBHOOK_SIGNATURE"]
    assert send(client, guild.id, body, both).status_code == 202

    inbound_secret_revoke(inbound_secret=InboundSecret.objects.get(name="ci"))
    assert_not_verified(send(client, guild.id, body, standard_headers(old, body, msg_id="d")))
    assert send(client, guild.id, body, standard_headers(new, body, msg_id="e")).status_code == 202
    assert SummaryJob.objects.count() == 4


def test_the_secret_is_encrypted_at_rest(setup):
    guild, _, secret = setup
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_inboundsecret WHERE guild_id = %s", [guild.id])
        stored = cursor.fetchone()[0]
    assert secret.startswith("whsec_") and secret not in stored and secret.removeprefix("whsec_") not in stored


# --- GitHub-style signatures ---


def github_headers(secret: str, body: bytes, delivery: str = "d-1") -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"HTTP_X_SIGNATURE_256": f"sha256={digest}", "HTTP_X_GITHUB_DELIVERY": delivery}


def test_a_github_style_signature_is_accepted_and_a_wrong_one_refused(setup, client):
    guild, channel, secret = setup
    body = event(channel.id)
    assert send(client, guild.id, body, github_headers(secret, body)).status_code == 202
    tampered = github_headers(secret, body, delivery="d-2")
    assert_not_verified(send(client, guild.id, event(channel.id, hours=8), tampered))
    wrong = github_headers("whsec_not-the-secret", body, delivery="d-3")
    assert_not_verified(send(client, guild.id, body, wrong))
    sha1 = {"HTTP_X_SIGNATURE_256": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}
    assert_not_verified(send(client, guild.id, body, sha1))
    hub = {"HTTP_X_HUB_SIGNATURE_256": github_headers(secret, body)["HTTP_X_SIGNATURE_256"]}
    assert send(client, guild.id, body, hub | {"HTTP_X_GITHUB_DELIVERY": "d-4"}).status_code == 202
    assert SummaryJob.objects.count() == 2


def test_a_github_style_body_without_a_delivery_id_is_deduplicated_by_its_digest(setup, client):
    guild, channel, secret = setup
    body = event(channel.id)
    headers = {"HTTP_X_SIGNATURE_256": github_headers(secret, body)["HTTP_X_SIGNATURE_256"]}
    first, again = send(client, guild.id, body, headers), send(client, guild.id, body, headers)
    assert (first.status_code, again.status_code) == (202, 202) and first.json() == again.json()
    assert SummaryJob.objects.count() == 1


# --- Replays and events ---


def test_a_replayed_webhook_id_gets_the_first_answer_and_makes_one_job(setup, client):
    guild, channel, secret = setup
    body = event(channel.id)
    first = send(client, guild.id, body, standard_headers(secret, body, msg_id="msg_replay"))
    again = send(client, guild.id, body, standard_headers(secret, body, msg_id="msg_replay"))
    assert first.status_code == 202 and again.status_code == 202
    assert again.json() == first.json() and again["Webhook-Replayed"] == "true"
    assert SummaryJob.objects.count() == 1 and InboundEvent.objects.count() == 1
    # The same webhook-id from another guild is that guild's own event.
    other = GuildFactory(member_cooldown_seconds=0)
    other_channel = ChannelFactory(guild=other)
    other_secret = inbound_secret_create(guild=other, name="x").plaintext
    other_body = event(other_channel.id)
    assert send(client, other.id, other_body, standard_headers(other_secret, other_body, msg_id="msg_replay")).status_code == 202
    assert SummaryJob.objects.count() == 2


@pytest.mark.parametrize("event_type", ["summary.deleted", "schedule.deleted"])
def test_an_unsupported_event_is_400_with_the_supported_list(setup, client, event_type):
    guild, _, secret = setup
    body = json.dumps({"type": event_type, "data": {}}).encode()
    error = assert_envelope(send(client, guild.id, body, standard_headers(secret, body)), 400, "invalid_input")
    assert error["details"]["supported_events"] == ["schedule.updated", "summary.requested", "ping"]
    assert error["details"]["not_yet_supported"] == []
    assert not InboundEvent.objects.exists()


def test_a_ping_is_acknowledged_without_effect(setup, client):
    guild, _, secret = setup
    body = b'{"type": "ping"}'
    response = send(client, guild.id, body, standard_headers(secret, body))
    assert response.status_code == 200 and response.json()["ignored"] is True
    assert not SummaryJob.objects.exists()


def test_a_signed_body_that_is_not_an_event_is_400(setup, client):
    guild, _, secret = setup
    for body in (b"[1, 2]", b"not json"):
        assert_envelope(send(client, guild.id, body, standard_headers(secret, body, msg_id=body.hex())), 400)


def test_invalid_data_is_400_with_the_fields(setup, client):
    guild, channel, secret = setup
    body = event(channel.id, hours=0)
    error = assert_envelope(send(client, guild.id, body, standard_headers(secret, body)), 400, "invalid_input")
    assert "hours" in error["details"]


# --- The same rules as the API ---


def test_a_locked_channel_is_refused_as_over_the_api_and_a_retry_after_unlocking_works(setup, client):
    guild, _, secret = setup
    locked = ChannelFactory(guild=guild, is_locked=True)
    body = event(locked.id)
    assert_envelope(send(client, guild.id, body, standard_headers(secret, body, msg_id="m")), 403, "permission_denied")
    assert not SummaryJob.objects.exists() and not InboundEvent.objects.exists()
    locked.allow_when_locked = True
    locked.save()
    # A refusal is not recorded: the sender's retry with the same id is tried again.
    assert send(client, guild.id, body, standard_headers(secret, body, msg_id="m")).status_code == 202


def test_another_guilds_channel_is_refused(setup, client):
    guild, _, secret = setup
    theirs = ChannelFactory(guild=GuildFactory())
    body = event(theirs.id)
    assert_envelope(send(client, guild.id, body, standard_headers(secret, body)), 404, "not_found")
    assert not SummaryJob.objects.exists()


def test_a_body_over_the_limit_is_413(setup, client, settings):
    guild, channel, secret = setup
    settings.API_MAX_BODY_BYTES = 1024
    body = event(channel.id, language="en" + " " * 2000)
    assert_envelope(send(client, guild.id, body, standard_headers(secret, body)), 413, "payload_too_large")
    assert not SummaryJob.objects.exists()


def test_other_methods_are_405(setup, client):
    guild, _, _ = setup
    assert_envelope(client.get(url(guild.id)), 405, "method_not_allowed")


# --- Throttles (per client address, and per guild for verified events) ---


def addresses(count: int) -> list[str]:
    """Addresses no other test uses: on Redis the throttle counters outlive a test."""
    seed = uuid.uuid4().int
    return [f"10.{(seed >> 8) % 250}.{seed % 250}.{n + 1}" for n in range(count)]


def test_an_address_is_throttled_after_the_rate_signed_or_not_with_retry_after(setup, client, settings):
    guild, channel, secret = setup
    settings.INBOUND_THROTTLE_RATE = "2/day"
    address, other = addresses(2)
    body = event(channel.id)
    assert_not_verified(send(client, guild.id, body, {"REMOTE_ADDR": address}))
    assert_not_verified(send(client, guild.id, body, {"REMOTE_ADDR": address}))
    throttled = send(client, guild.id, body, standard_headers(secret, body) | {"REMOTE_ADDR": address})
    assert_envelope(throttled, 429, "throttled")
    assert 0 < int(throttled["Retry-After"]) <= 86400  # fixed windows: the rest of the day
    assert not SummaryJob.objects.exists()
    # Another address has its own allowance.
    assert send(client, guild.id, body, standard_headers(secret, body) | {"REMOTE_ADDR": other}).status_code == 202


def test_a_guilds_verified_events_are_throttled_across_addresses_and_strangers_cannot_use_them_up(
    setup, client, settings
):
    guild, channel, secret = setup
    settings.INBOUND_THROTTLE_RATE = "2/day"
    stranger, *senders = addresses(4)
    # Unsigned requests (from an address of their own) count against that address only.
    for _ in range(2):
        assert_not_verified(send(client, guild.id, event(channel.id), {"REMOTE_ADDR": stranger}))

    def signed(n: int, address: str):  # type: ignore[no-untyped-def]
        body = event(channel.id, hours=n + 1)
        return send(client, guild.id, body, standard_headers(secret, body, msg_id=f"msg_{n}") | {"REMOTE_ADDR": address})

    assert [signed(n, senders[n]).status_code for n in range(2)] == [202, 202]
    throttled = signed(2, senders[2])
    assert_envelope(throttled, 429, "throttled")
    assert int(throttled["Retry-After"]) > 0
    assert SummaryJob.objects.count() == 2 and not InboundEvent.objects.filter(webhook_id="msg_2").exists()
    # Another guild's events are counted apart.
    theirs = GuildFactory(member_cooldown_seconds=0, max_concurrent_jobs=10)
    their_channel, their_secret = ChannelFactory(guild=theirs), inbound_secret_create(guild=theirs, name="x").plaintext
    body = event(their_channel.id)
    headers = standard_headers(their_secret, body) | {"REMOTE_ADDR": senders[2]}
    assert send(client, theirs.id, body, headers).status_code == 202


def test_x_forwarded_for_does_not_change_the_address_unless_proxies_are_trusted(setup, client, settings):
    guild, channel, _ = setup
    settings.INBOUND_THROTTLE_RATE = "2/day"
    peer, *claimed = addresses(4)
    statuses = [
        send(client, guild.id, event(channel.id), {"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": fake}).status_code
        for fake in claimed
    ]
    assert statuses == [401, 401, 429]
    settings.TRUSTED_PROXY_COUNT = 1
    assert send(
        client, guild.id, event(channel.id), {"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": claimed[0]}
    ).status_code == 401


# --- The command ---


def inbound_secret(*args: str) -> str:
    out = io.StringIO()
    call_command("inbound_secret", *args, stdout=out)
    return out.getvalue()


def test_the_command_creates_a_working_secret_lists_and_revokes_it(client):
    guild = GuildFactory(member_cooldown_seconds=0)
    channel = ChannelFactory(guild=guild)
    output = inbound_secret("create", "--guild", str(guild.id), "--name", "zapier")
    secret = output.strip().splitlines()[-1]
    assert secret.startswith("whsec_") and secret not in output.strip().splitlines()[0]
    body = event(channel.id)
    assert send(client, guild.id, body, standard_headers(secret, body, msg_id="1")).status_code == 202

    listing = inbound_secret("list", "--guild", str(guild.id))
    row = listing.strip().splitlines()[1]
    assert "\tzapier\t" in row and row.endswith("active") and secret not in listing
    secret_id = row.split("\t")[0]
    assert "Revoked" in inbound_secret("revoke", secret_id)
    assert "already revoked" in inbound_secret("revoke", secret_id)
    assert "revoked" in inbound_secret("list", "--guild", str(guild.id)).strip().splitlines()[1]
    assert_not_verified(send(client, guild.id, body, standard_headers(secret, body, msg_id="2")))
