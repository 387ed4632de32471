"""Each dashboard page costs the same number of queries with 2 rows as with 20 (no N+1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from guilds.models import Channel
from tests.dashboard.conftest import Server
from tests.factories import (
    ChannelFactory,
    ScheduleFactory,
    SummaryFactory,
    SummaryJobFactory,
    WebhookDestinationFactory,
)
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


def _add_schedules_with_runs(server: Server, n: int) -> None:
    """n schedules of two channels, each with seven runs (one failed, one quiet), two jobs a run."""
    for _ in range(n):
        channel = ChannelFactory(guild=server.guild)
        schedule = ScheduleFactory(guild=server.guild, channel_ids=[channel.id, server.general.id])
        for day in range(7):
            slot = datetime(2024, 5, 1, 7, tzinfo=UTC) + timedelta(days=day)
            for channel_id in (channel.id, server.general.id):
                status = "failed" if day == 3 and channel_id == channel.id else "done"
                job = SummaryJobFactory(
                    guild=server.guild,
                    channel_id=channel_id,
                    source="schedule",
                    schedule=schedule,
                    window_kind="range",
                    message_limit=None,
                    since=slot - timedelta(days=1),
                    until=slot,
                    status=status,
                    error_message="boom" if status == "failed" else "",
                )
                if status == "done" and day != 5:
                    SummaryFactory(guild=server.guild, channel_id=channel_id, job=job)


def test_the_schedules_page_with_20_schedules_and_their_runs_costs_a_fixed_number_of_queries(
    manager_client: Client,
    server: Server,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    url = f"/servers/{server.guild.id}/schedules/"
    _add_schedules_with_runs(server, 2)
    _queries(manager_client, url)  # warm: the permission answer is cached after the first request
    few = _queries(manager_client, url)
    _add_schedules_with_runs(server, 18)
    with django_assert_max_num_queries(few):
        page = manager_client.get(url).content.decode()
    assert page.count('data-result="failed"') == 20 and page.count('data-result="quiet"') == 20
    assert page.count('class="run run-') == 20 * 5
