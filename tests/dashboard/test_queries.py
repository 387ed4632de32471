"""Each dashboard page costs the same number of queries with 2 rows as with 20 (no N+1)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from guilds.models import Channel
from tests.dashboard.conftest import Server
from tests.factories import ChannelFactory, ScheduleFactory, SummaryJobFactory, WebhookDestinationFactory
from webhooks.models import Delivery
from webhooks.services.keys import api_key_issue

pytestmark = pytest.mark.django_db


def _add_rows(server: Server, n: int) -> None:
    for _ in range(n):
        channel = ChannelFactory(guild=server.guild)
        job = SummaryJobFactory(guild=server.guild, channel_id=channel.id, status="done")
        destination = WebhookDestinationFactory(guild=server.guild)
        Delivery.objects.create(
            job=job, destination=destination, event="summary.completed", message_id=f"msg_{job.pk}", max_attempts=8
        )
        ScheduleFactory(guild=server.guild, channel_ids=[channel.id, server.general.id])
        api_key_issue(guild=server.guild, name="k", scopes=["usage:read"])


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("page", ["", "settings/", "channels/", "schedules/", "destinations/", "api-keys/"])
def test_page_queries_do_not_grow_with_rows(manager_client: Client, server: Server, page: str) -> None:
    url = f"/servers/{server.guild.id}/{page}"
    _add_rows(server, 2)
    _queries(manager_client, url)  # warm: the permission answer is cached after the first request
    few = _queries(manager_client, url)
    _add_rows(server, 18)
    assert Channel.objects.filter(guild=server.guild).count() == 22
    assert _queries(manager_client, url) == few
