"""The destinations page: create (secret shown once), test, enable/disable, deliveries with replay."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.test import Client

from tests.dashboard.conftest import Server, make_server
from tests.factories import SummaryJobFactory, WebhookDestinationFactory
from tests.fakes.discord import FakeDiscord
from tests.fakes.webhook_receiver import WebhookReceiver
from webhooks.models import Delivery, DeliveryStatus, WebhookDestination
from webhooks.services.deliveries import deliveries_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(settings) -> Iterator[WebhookReceiver]:  # type: ignore[no-untyped-def]
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True  # the receiver listens on 127.0.0.1
    with WebhookReceiver() as running:
        yield running


def test_a_signed_webhook_is_created_with_its_secret_shown_once_and_tested(
    manager_client: Client, server: Server, receiver: WebhookReceiver
) -> None:
    url = f"/servers/{server.guild.id}/destinations/"
    resp = manager_client.post(
        url, {"name": "CI", "kind": "webhook", "url": receiver.url, "events": ["summary.completed", "summary.failed"]}
    )
    assert resp.status_code == 201 and resp["Cache-Control"] == "no-store"
    secret = re.search(r'id="new-destination-secret" class="secret">([^<]+)<', resp.content.decode()).group(1)
    destination = WebhookDestination.objects.get(guild=server.guild)
    assert destination.secret == secret and destination.events == ["summary.completed", "summary.failed"]
    listed = manager_client.get(url).content.decode()
    assert secret not in listed and "CI" in listed

    manager_client.post(f"{url}{destination.pk}/test/")
    [received] = receiver.requests
    assert received.verifies(secret)
    assert "Test sent to CI: 200" in manager_client.get(url).content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {"name": "plain http", "kind": "webhook", "url": "http://example.com/hook", "events": ["summary.completed"]},
        {"name": "no events", "kind": "webhook", "url": "https://example.com/hook"},
        {"name": "bad kind", "kind": "notion", "url": "https://example.com/hook", "events": ["summary.completed"]},
        {"name": "no channel", "kind": "discord_channel", "events": ["summary.completed"]},
    ],
)
def test_a_refused_destination_creates_nothing(manager_client: Client, server: Server, data: dict) -> None:
    resp = manager_client.post(f"/servers/{server.guild.id}/destinations/", data)
    assert resp.status_code == 400
    assert not WebhookDestination.objects.exists()


def test_a_discord_channel_destination_takes_one_of_the_servers_channels(manager_client: Client, server: Server) -> None:
    resp = manager_client.post(
        f"/servers/{server.guild.id}/destinations/",
        {"name": "digest", "kind": "discord_channel", "discord_channel_id": server.general.id, "events": ["summary.completed"]},
    )
    assert resp.status_code == 201
    assert WebhookDestination.objects.get(guild=server.guild).discord_channel_id == server.general.id


def test_disable_enable_and_replay_through_the_services(manager_client: Client, server: Server) -> None:
    destination = WebhookDestinationFactory(guild=server.guild)
    base = f"/servers/{server.guild.id}"
    manager_client.post(f"{base}/destinations/{destination.pk}/disable/")
    destination.refresh_from_db()
    assert not destination.enabled and destination.disabled_reason == "Disabled by an admin."
    manager_client.post(f"{base}/destinations/{destination.pk}/enable/")
    destination.refresh_from_db()
    assert destination.enabled

    job = SummaryJobFactory(guild=server.guild, status="done")
    [delivery] = deliveries_create(job=job, event="summary.completed")
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.DEAD, attempt_count=8, max_attempts=8)
    page = manager_client.get(f"{base}/destinations/").content.decode()
    assert f'id="delivery-{delivery.pk}" class="status-dead"' in page
    assert manager_client.post(f"{base}/deliveries/{delivery.pk}/replay/").status_code == 302
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.PENDING


def test_another_servers_destinations_and_deliveries_are_404(
    manager_client: Client, oauth_discord: FakeDiscord, server: Server
) -> None:
    other = make_server(oauth_discord, "Beta")
    theirs = WebhookDestinationFactory(guild=other.guild)
    job = SummaryJobFactory(guild=other.guild, status="done")
    [delivery] = deliveries_create(job=job, event="summary.completed")
    base = f"/servers/{server.guild.id}"
    for path in (f"destinations/{theirs.pk}/disable/", f"destinations/{theirs.pk}/test/", f"deliveries/{delivery.pk}/replay/"):
        assert manager_client.post(f"{base}/{path}").status_code == 404
    assert WebhookDestination.objects.get(pk=theirs.pk).enabled
    page = manager_client.get(f"{base}/destinations/").content.decode()
    assert theirs.name not in page and f"delivery-{delivery.pk}" not in page
