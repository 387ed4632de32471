"""REST API: destinations and deliveries through API keys, on the API's conventions (envelope, cursor
pages, scopes, tenant isolation), against a real receiver."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from summaries.models import JobStatus
from tests.api_support import assert_envelope
from tests.factories import ChannelFactory, GuildFactory, SummaryFactory, SummaryJobFactory
from tests.fakes.webhook_receiver import Reply, WebhookReceiver
from webhooks.models import DeliveryEvent, WebhookDestination
from webhooks.services import api_key_issue
from webhooks.services.deliveries import deliveries_create, delivery_run

pytestmark = pytest.mark.django_db
BOTH = ["destinations:read", "destinations:write"]


@pytest.fixture(autouse=True)
def _private_receivers(settings):  # type: ignore[no-untyped-def]
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True


@pytest.fixture
def receiver():
    with WebhookReceiver() as running:
        yield running


def key(guild, scopes=None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    raw = api_key_issue(guild=guild, name="t", scopes=scopes or BOTH).plaintext
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def send(client, method: str, path: str, auth: dict[str, str], body: object | None = None):  # type: ignore[no-untyped-def]
    call = getattr(client, method)
    if body is None:
        return call(path, **auth)
    return call(path, data=json.dumps(body), content_type="application/json", **auth)


def test_create_shows_the_secret_once_then_never_and_the_url_masked(client, receiver):
    guild = GuildFactory()
    auth = key(guild)
    created = send(client, "post", "/api/v1/destinations", auth, {
        "kind": "webhook", "name": "CI", "url": receiver.url, "config": {"headers": {"Authorization": "Bearer s3cret"}},
    })
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["summary.completed"]
    assert body["url"] == f"http://127.0.0.1:{receiver.port}/…hook" and body["config"] == {"headers": {"Authorization": "…"}}
    shown = send(client, "get", f"/api/v1/destinations/{body['id']}", auth).json()
    assert "secret" not in shown and "s3cret" not in json.dumps(shown) and receiver.url not in json.dumps(shown)
    listed = send(client, "get", "/api/v1/destinations", auth).json()
    assert [d["id"] for d in listed["results"]] == [body["id"]] and listed["next"] is None
    stored = WebhookDestination.objects.get(pk=body["id"])
    assert stored.secret == body["secret"] and stored.headers == {"Authorization": "Bearer s3cret"}


def test_send_test_event_returns_the_receivers_answer_and_the_request_is_signed(client, receiver):
    guild = GuildFactory()
    auth = key(guild)
    created = send(client, "post", "/api/v1/destinations", auth, {"kind": "webhook", "name": "CI", "url": receiver.url}).json()
    receiver.script = [Reply(202, body='{"received": true}')]
    tested = send(client, "post", f"/api/v1/destinations/{created['id']}/test", auth)
    assert tested.status_code == 200
    result = tested.json()
    assert result["ok"] and result["status_code"] == 202 and result["body"] == '{"received": true}'
    assert result["error"] is None and result["latency_ms"] >= 0
    payload = receiver.requests[0].verify(created["secret"])
    assert payload["type"] == "summary.completed" and payload["data"]["test"] is True
    assert receiver.requests[0].headers["webhook-id"] == result["webhook_id"]

    receiver.script = [Reply(410, body="gone")]
    failed = send(client, "post", f"/api/v1/destinations/{created['id']}/test", auth).json()
    assert not failed["ok"] and failed["status_code"] == 410 and failed["error"]["code"] == "receiver_rejected"


def test_rotate_secret_returns_the_new_one_and_both_sign_for_a_while(client, receiver):
    guild = GuildFactory()
    auth = key(guild)
    created = send(client, "post", "/api/v1/destinations", auth, {"kind": "webhook", "name": "CI", "url": receiver.url}).json()
    rotated = send(client, "post", f"/api/v1/destinations/{created['id']}/rotate-secret", auth).json()
    assert rotated["secret"] != created["secret"] and rotated["secret_rotated_until"]
    send(client, "post", f"/api/v1/destinations/{created['id']}/test", auth)
    assert receiver.requests[0].verifies(created["secret"]) and receiver.requests[0].verifies(rotated["secret"])


def test_update_and_delete(client, receiver):
    guild = GuildFactory()
    auth = key(guild)
    created = send(client, "post", "/api/v1/destinations", auth, {"kind": "webhook", "name": "CI", "url": receiver.url}).json()
    patched = send(client, "patch", f"/api/v1/destinations/{created['id']}", auth,
                   {"name": "CI 2", "events": ["summary.failed"], "enabled": False})
    assert patched.status_code == 200 and patched.json()["name"] == "CI 2" and not patched.json()["enabled"]
    assert_envelope(send(client, "patch", f"/api/v1/destinations/{created['id']}", auth, {"kind": "zapier"}), 400, "invalid_input")
    assert send(client, "delete", f"/api/v1/destinations/{created['id']}", auth).status_code == 204
    assert_envelope(send(client, "get", f"/api/v1/destinations/{created['id']}", auth), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "notion", "name": "wiki"}, "invalid_input"),  # no transport yet: said so
        ({"kind": "webhook", "name": "x", "url": "ftp://example.com/x"}, "destination_refused"),
        ({"kind": "webhook", "name": "x", "url": "http://169.254.169.254/latest"}, "destination_refused"),
        ({"kind": "webhook", "name": "x", "url": "https://x.example/", "config": {"headers": {"Host": "evil"}}}, "invalid_input"),
        ({"kind": "discord_webhook", "name": "x", "url": "https://example.com/api/webhooks/1/abc"}, "invalid_input"),
        ({"kind": "webhook", "name": "x", "url": "https://x.example/", "events": ["summary.exploded"]}, "invalid_input"),
        ({"kind": "webhook", "name": "x", "url": "https://x.example/", "surprise": 1}, "invalid_input"),
    ],
)
def test_bad_destinations_are_refused_with_the_envelope(client, body, code):
    assert_envelope(send(client, "post", "/api/v1/destinations", key(GuildFactory()), body), 400, code)


def test_plain_http_and_private_addresses_are_refused_without_the_development_setting(client, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = False
    auth = key(GuildFactory())
    refused = send(client, "post", "/api/v1/destinations", auth, {"kind": "webhook", "name": "x", "url": "http://127.0.0.1:9/"})
    assert "HTTPS" in assert_envelope(refused, 400, "destination_refused")["message"]
    refused = send(client, "post", "/api/v1/destinations", auth, {"kind": "webhook", "name": "x", "url": "https://127.0.0.1:9/"})
    assert "loopback" in assert_envelope(refused, 400, "destination_refused")["message"]


def test_a_discord_channel_must_be_the_guilds_own(client):
    guild, other = GuildFactory(), GuildFactory()
    theirs, ours = ChannelFactory(guild=other), ChannelFactory(guild=guild)
    auth = key(guild)
    refused = send(client, "post", "/api/v1/destinations", auth,
                   {"kind": "discord_channel", "name": "x", "config": {"channel_id": str(theirs.id)}})
    assert_envelope(refused, 400, "invalid_input")
    created = send(client, "post", "/api/v1/destinations", auth,
                   {"kind": "discord_channel", "name": "x", "config": {"channel_id": str(ours.id)}})
    assert created.status_code == 201 and created.json()["config"] == {"channel_id": str(ours.id)}
    assert created.json()["secret"] is None


def _delivered(guild, receiver):  # type: ignore[no-untyped-def]
    destination = WebhookDestination.objects.get(guild=guild)
    job = SummaryJobFactory(guild=guild, status=JobStatus.DONE, finished_at=timezone.now())
    SummaryFactory(guild=guild, job=job)
    [delivery] = deliveries_create(job=job, event=DeliveryEvent.SUMMARY_COMPLETED)
    delivery_run(delivery_id=delivery.pk)
    return destination, job, delivery


def test_deliveries_list_filters_retrieve_with_attempts_and_replay(client, receiver):
    guild = GuildFactory()
    auth = key(guild)
    send(client, "post", "/api/v1/destinations", auth, {"kind": "webhook", "name": "CI", "url": receiver.url})
    receiver.script = [Reply(400, body="no")]
    destination, job, delivery = _delivered(guild, receiver)

    listed = send(client, "get", f"/api/v1/deliveries?destination_id={destination.pk}&summary_id={job.pk}", auth).json()
    [row] = listed["results"]
    assert row["status"] == "failed" and row["webhook_id"] == delivery.message_id and row["summary_id"] == str(job.pk)
    assert send(client, "get", "/api/v1/deliveries?status=succeeded", auth).json()["results"] == []
    assert_envelope(send(client, "get", "/api/v1/deliveries?status=exploded", auth), 400, "invalid_input")

    detail = send(client, "get", f"/api/v1/deliveries/{delivery.pk}", auth).json()
    [attempt] = detail["attempts"]
    assert attempt["status_code"] == 400 and attempt["response_body"] == "no" and attempt["error"]["code"] == "receiver_rejected"

    replayed = send(client, "post", f"/api/v1/deliveries/{delivery.pk}/replay", auth)
    assert replayed.status_code == 202 and replayed.json()["status"] == "pending"
    delivery_run(delivery_id=delivery.pk)  # the task the replay queued
    detail = send(client, "get", f"/api/v1/deliveries/{delivery.pk}", auth).json()
    assert detail["status"] == "succeeded" and [a["status_code"] for a in detail["attempts"]] == [400, 200]
    assert receiver.requests[0].body == receiver.requests[1].body


def test_another_guilds_destinations_and_deliveries_are_404_and_never_listed(client, receiver):
    mine, theirs = GuildFactory(), GuildFactory()
    their_auth = key(theirs)
    send(client, "post", "/api/v1/destinations", their_auth, {"kind": "webhook", "name": "T", "url": receiver.url})
    destination, job, delivery = _delivered(theirs, receiver)
    auth = key(mine)
    for method, path in [
        ("get", f"/api/v1/destinations/{destination.pk}"),
        ("patch", f"/api/v1/destinations/{destination.pk}"),
        ("delete", f"/api/v1/destinations/{destination.pk}"),
        ("post", f"/api/v1/destinations/{destination.pk}/test"),
        ("post", f"/api/v1/destinations/{destination.pk}/rotate-secret"),
        ("get", f"/api/v1/deliveries/{delivery.pk}"),
        ("post", f"/api/v1/deliveries/{delivery.pk}/replay"),
    ]:
        body = {"name": "mine now"} if method == "patch" else None
        assert_envelope(send(client, method, path, auth, body), 404, "not_found")
    assert send(client, "get", "/api/v1/destinations", auth).json()["results"] == []
    assert send(client, "get", f"/api/v1/deliveries?destination_id={destination.pk}", auth).json()["results"] == []
    assert len(receiver.requests) == 1  # the owner's delivery only: no test event, no replay
    assert WebhookDestination.objects.get(pk=destination.pk).name == "T"


def test_scopes_read_cannot_write_and_other_scopes_cannot_read(client, receiver):
    guild = GuildFactory()
    reader = key(guild, ["destinations:read"])
    assert_envelope(send(client, "post", "/api/v1/destinations", reader, {"kind": "webhook", "name": "x", "url": receiver.url}),
                    403, "missing_scope")
    assert send(client, "get", "/api/v1/destinations", reader).status_code == 200
    summaries_only = key(guild, ["summaries:read"])
    assert_envelope(send(client, "get", "/api/v1/deliveries", summaries_only), 403, "missing_scope")
    assert_envelope(client.get("/api/v1/destinations"), 401, "authentication_failed")


def test_api_changes_are_audit_logged_as_the_key_and_never_hold_a_secret(client, receiver):
    from guilds.models import ActorKind, AuditEntry

    guild = GuildFactory()
    auth = key(guild)
    prefix = auth["HTTP_AUTHORIZATION"].split()[1].split(".")[0]
    created = send(client, "post", "/api/v1/destinations", auth, {"kind": "webhook", "name": "CI", "url": receiver.url}).json()
    rotated = send(client, "post", f"/api/v1/destinations/{created['id']}/rotate-secret", auth).json()
    assert_envelope(send(client, "patch", f"/api/v1/destinations/{created['id']}", auth, {"kind": "zapier"}), 400, "invalid_input")
    send(client, "patch", f"/api/v1/destinations/{created['id']}", auth, {"name": "CI 2"})

    entries = list(AuditEntry.objects.exclude(action="apikey.create").order_by("pk"))  # the key's own issue: no actor
    assert [(e.action, e.actor_kind, e.actor_id, e.actor_name) for e in entries] == [
        ("destination.create", ActorKind.API_KEY, prefix, "t"),
        ("destination.rotate_secret", ActorKind.API_KEY, prefix, "t"),
        ("destination.update", ActorKind.API_KEY, prefix, "t"),  # the refused change left nothing
    ]
    assert entries[2].changes == {"name": ["CI", "CI 2"]}
    stored = json.dumps(list(AuditEntry.objects.values("changes", "target_label", "actor_name")))
    assert created["secret"] not in stored and rotated["secret"] not in stored and receiver.url not in stored
