"""The schedules and API keys pages: the same services as the bot, the API and the apikey command."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_q.models import OrmQ

from summaries.models import Schedule
from tests.dashboard.conftest import Server, log_in, make_server
from tests.factories import ScheduleFactory
from tests.fakes.discord import FakeDiscord
from webhooks.models import ApiKey
from webhooks.services.keys import api_key_authenticate, api_key_issue

pytestmark = pytest.mark.django_db


def _schedule(server: Server, **fields: object) -> Schedule:
    return ScheduleFactory(**{"guild": server.guild, "name": "daily digest", "channel_ids": [server.general.id], **fields})


def test_schedules_list_with_their_scope_and_state(manager_client: Client, server: Server) -> None:
    running = _schedule(server)
    paused = _schedule(server, name="weekly", enabled=False, paused_reason="release freeze")
    page = manager_client.get(f"/servers/{server.guild.id}/schedules/").content.decode()
    assert f'id="schedule-{running.pk}" data-state="running"' in page and "#general" in page
    assert f'id="schedule-{paused.pk}" data-state="paused"' in page and "release freeze" in page


def test_pause_resume_and_run_now_call_the_schedule_services(
    manager_client: Client, server: Server, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    schedule = _schedule(server)
    base = f"/servers/{server.guild.id}/schedules/{schedule.pk}"
    assert manager_client.post(f"{base}/pause/").status_code == 302
    schedule.refresh_from_db()
    assert not schedule.enabled and schedule.paused_reason == "Paused by an admin."
    manager_client.post(f"{base}/resume/")
    schedule.refresh_from_db()
    assert schedule.enabled and schedule.next_run_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(f"{base}/run/")
    [queued] = OrmQ.objects.all()
    assert queued.task["func"] == "summaries.tasks.run_schedule_now"


def test_another_servers_schedule_cannot_be_touched(
    manager_client: Client, oauth_discord: FakeDiscord, server: Server
) -> None:
    other = make_server(oauth_discord, "Beta")
    theirs = ScheduleFactory(guild=other.guild, channel_ids=[other.general.id])
    assert manager_client.post(f"/servers/{server.guild.id}/schedules/{theirs.pk}/pause/").status_code == 404
    assert manager_client.post(f"/servers/{server.guild.id}/schedules/{theirs.pk}/explode/").status_code == 404
    assert Schedule.objects.get(pk=theirs.pk).enabled


def test_an_api_key_is_shown_once_and_works(manager_client: Client, server: Server) -> None:
    url = f"/servers/{server.guild.id}/api-keys/"
    resp = manager_client.post(url, {"name": "notion-sync", "scopes": ["summaries:read", "usage:read"], "expires_days": "30"})
    assert resp.status_code == 201 and resp["Cache-Control"] == "no-store"
    plaintext = re.search(r'id="new-api-key" class="secret">([^<]+)<', resp.content.decode()).group(1)
    key = api_key_authenticate(raw_key=plaintext)
    assert key.guild_id == server.guild.id and key.scopes == ["summaries:read", "usage:read"]
    assert key.created_by_discord_id == server.manager.id and key.expires_at is not None
    listed = manager_client.get(url).content.decode()
    assert key.prefix in listed and plaintext not in listed


@pytest.mark.parametrize("data", [{"name": "", "scopes": ["usage:read"]}, {"name": "x"}, {"name": "x", "scopes": ["root"]}])
def test_a_bad_api_key_request_creates_nothing(manager_client: Client, server: Server, data: dict) -> None:
    resp = manager_client.post(f"/servers/{server.guild.id}/api-keys/", data)
    assert resp.status_code == 400
    assert not ApiKey.objects.exists()


def test_revoking_a_key_and_not_another_servers(
    manager_client: Client, oauth_discord: FakeDiscord, server: Server
) -> None:
    mine = api_key_issue(guild=server.guild, name="mine", scopes=["usage:read"]).api_key
    other = make_server(oauth_discord, "Beta")
    theirs = api_key_issue(guild=other.guild, name="theirs", scopes=["usage:read"]).api_key
    base = f"/servers/{server.guild.id}/api-keys"
    assert manager_client.post(f"{base}/{theirs.prefix}/revoke/").status_code == 404
    assert manager_client.post(f"{base}/{mine.prefix}/revoke/").status_code == 302
    assert ApiKey.objects.get(pk=mine.pk).revoked_at is not None
    assert ApiKey.objects.get(pk=theirs.pk).revoked_at is None


def test_a_member_without_manage_server_sees_no_keys(client: Client, oauth_discord: FakeDiscord, server: Server) -> None:
    api_key_issue(guild=server.guild, name="mine", scopes=["usage:read"])
    log_in(client, oauth_discord, server.member)
    assert client.get(f"/servers/{server.guild.id}/api-keys/").status_code == 403
    assert client.post(f"/servers/{server.guild.id}/api-keys/", {"name": "x", "scopes": ["usage:read"]}).status_code == 403
    assert ApiKey.objects.count() == 1
