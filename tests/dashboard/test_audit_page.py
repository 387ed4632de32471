"""The Audit log page: who may see it, what a dashboard change records there, its filters and pages, and that
one request's actor never becomes another's (sync views under ASGI share one thread)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import AsyncClient, Client
from django.test.utils import CaptureQueriesContext

from guilds.audit import Actor, audit_actor, audit_record
from guilds.models import ActorKind, AuditEntry, Guild
from tests.dashboard.conftest import Server, log_in, make_server
from tests.dashboard.test_pages import _settings_form
from tests.fakes.discord import FakeDiscord

pytestmark = pytest.mark.django_db


def audit_url(guild: Guild, query: str = "") -> str:
    return f"/servers/{guild.id}/audit/" + (f"?{query}" if query else "")


def entry(
    guild: Guild,
    *,
    action: str,
    kind: str = ActorKind.API_KEY,
    target_type: str = "schedule",
    at: datetime | None = None,
) -> AuditEntry:
    with audit_actor(Actor(kind=kind, id=f"id-{action}", name=f"name-{action}")):
        made = audit_record(
            action=action, guild_id=guild.id, target_type=target_type, target_id=1, target_label=f"label-{action}"
        )
    if at is not None:
        AuditEntry.objects.filter(pk=made.pk).update(created_at=at)
    return made


# --- Who may see it -----------------------------------------------------------------------------------


def test_anonymous_is_sent_to_log_in(client: Client, server: Server) -> None:
    response = client.get(audit_url(server.guild))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_member_without_manage_server_gets_403(client: Client, oauth_discord: FakeDiscord, server: Server) -> None:
    log_in(client, oauth_discord, server.member)
    assert client.get(audit_url(server.guild)).status_code == 403


def test_a_manager_of_another_server_gets_404(client: Client, oauth_discord: FakeDiscord, server: Server) -> None:
    other = make_server(oauth_discord, "Beta")
    entry(server.guild, action="schedule.create")
    log_in(client, oauth_discord, other.manager)
    assert client.get(audit_url(server.guild)).status_code == 404
    # Their own log shows nothing of this server's.
    own = client.get(audit_url(other.guild))
    assert own.status_code == 200 and b"label-schedule.create" not in own.content


def test_the_manager_sees_the_tab_and_the_page(manager_client: Client, server: Server) -> None:
    page = manager_client.get(audit_url(server.guild)).content.decode()
    assert 'aria-current="page">Audit log</a>' in page and "Nothing recorded" in page
    overview = manager_client.get(f"/servers/{server.guild.id}/").content.decode()
    assert f'href="/servers/{server.guild.id}/audit/"' in overview


# --- What a dashboard change records ------------------------------------------------------------------


def test_a_settings_change_is_recorded_as_the_dashboard_users_and_shown(manager_client: Client, server: Server) -> None:
    form = _settings_form(server.guild, member_cooldown_seconds=75, openai_api_key="sk-never-shown-123")
    assert manager_client.post(f"/servers/{server.guild.id}/settings/", form).status_code == 302

    recorded = AuditEntry.objects.get()
    assert (recorded.actor_kind, recorded.actor_id) == (ActorKind.DASHBOARD, str(server.manager.id))
    assert recorded.actor_name == manager_client.get("/").wsgi_request.user.get_username()
    assert recorded.changes == {"member_cooldown_seconds": [30, 75], "llm_api_key": "set"}

    page = manager_client.get(audit_url(server.guild)).content.decode()
    assert "guild.settings.update" in page and recorded.actor_name in page
    assert "<del>30</del> → <ins>75</ins>" in page and "<em>set</em>" in page
    assert f'<time datetime="{recorded.created_at.astimezone(UTC).isoformat()}' in page
    assert "sk-never-shown-123" not in page


def test_enabling_a_locked_channel_from_the_dashboard_is_recorded_once(manager_client: Client, server: Server) -> None:
    url = f"/servers/{server.guild.id}/channels/{server.secret.id}/"
    manager_client.post(url, {"on": "1"})  # asks to confirm: no change yet
    assert not AuditEntry.objects.exists()
    manager_client.post(url, {"on": "1", "confirm": "on"})
    recorded = AuditEntry.objects.get()
    assert (recorded.action, recorded.actor_id, recorded.target_label) == (
        "channel.enable_locked",
        str(server.manager.id),
        "#mods-only",
    )


def test_a_refused_settings_change_records_nothing(manager_client: Client, server: Server) -> None:
    form = _settings_form(server.guild, reaction_trigger_emoji="not an emoji")
    assert manager_client.post(f"/servers/{server.guild.id}/settings/", form).status_code == 400
    assert not AuditEntry.objects.exists()


# --- Filters and pages --------------------------------------------------------------------------------


def test_filters_by_actor_kind_action_prefix_target_type_and_dates(manager_client: Client, server: Server) -> None:
    day = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    entry(server.guild, action="schedule.create", kind=ActorKind.API_KEY, at=day)
    entry(server.guild, action="schedule.pause", kind=ActorKind.BOT, at=day + timedelta(days=1))
    entry(
        server.guild,
        action="channel.enable_locked",
        kind=ActorKind.DASHBOARD,
        target_type="channel",
        at=day + timedelta(days=2),
    )

    def shown(query: str) -> set[str]:
        response = manager_client.get(audit_url(server.guild, query))
        assert response.status_code == 200
        text = response.content.decode()
        return {a for a in ("schedule.create", "schedule.pause", "channel.enable_locked") if f"label-{a}" in text}

    assert shown("") == {"schedule.create", "schedule.pause", "channel.enable_locked"}
    assert shown("actor_kind=bot") == {"schedule.pause"}
    assert shown("action=schedule.") == {"schedule.create", "schedule.pause"}
    assert shown("target_type=channel") == {"channel.enable_locked"}
    assert shown("since=2026-11-11") == {"schedule.pause", "channel.enable_locked"}
    assert shown("until=2026-11-11") == {"schedule.create", "schedule.pause"}  # the end day is included
    assert shown("since=2026-11-11&until=2026-11-11&action=schedule") == {"schedule.pause"}
    page = manager_client.get(audit_url(server.guild, "action=schedule.")).content.decode()
    assert 'value="schedule."' in page  # the form keeps what was asked


def test_bad_filters_are_400_with_the_reason(manager_client: Client, server: Server) -> None:
    response = manager_client.get(audit_url(server.guild, "since=2026-11-12&until=2026-11-10"))
    assert response.status_code == 400 and b"The start date is after the end date." in response.content
    assert manager_client.get(audit_url(server.guild, "actor_kind=wizard")).status_code == 400


def test_fifty_a_page_newest_first_with_filters_kept_across_pages(manager_client: Client, server: Server) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for n in range(55):
        entry(server.guild, action=f"schedule.n{n:02d}", at=start + timedelta(minutes=n))
    first = manager_client.get(audit_url(server.guild, "action=schedule.")).content.decode()
    assert "label-schedule.n54" in first and "label-schedule.n05" in first and "label-schedule.n04" not in first
    assert first.index("label-schedule.n54") < first.index("label-schedule.n53")
    assert "Page 1 of 2" in first and 'href="?action=schedule.&amp;page=2"' in first
    second = manager_client.get(audit_url(server.guild, "action=schedule.&page=2")).content.decode()
    assert "label-schedule.n04" in second and "label-schedule.n00" in second and "label-schedule.n05" not in second


def test_the_query_count_does_not_grow_with_entries(
    manager_client: Client,
    server: Server,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    for n in range(3):
        entry(server.guild, action=f"schedule.few{n}")
    manager_client.get(audit_url(server.guild))  # warm: the permission answer is cached after the first request
    with CaptureQueriesContext(connection) as few:
        manager_client.get(audit_url(server.guild))
    for n in range(60):
        entry(server.guild, action=f"schedule.many{n}", kind=ActorKind.BOT)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert manager_client.get(audit_url(server.guild)).status_code == 200


# --- One request's actor is never another's -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_each_record_their_own_actor(client: Client, oauth_discord: FakeDiscord) -> None:
    alpha, beta = make_server(oauth_discord, "Alpha"), make_server(oauth_discord, "Beta")
    clients = []
    for server in (alpha, beta):
        logged_in = Client()
        log_in(logged_in, oauth_discord, server.manager)
        async_client = AsyncClient()
        async_client.cookies = logged_in.cookies
        logged_in.get(f"/servers/{server.guild.id}/")  # the permission answer, cached before the race
        clients.append((async_client, server))

    async def change(async_client: AsyncClient, server: Server, seconds: int) -> int:
        form = _settings_form(server.guild, member_cooldown_seconds=seconds)
        response = await async_client.post(f"/servers/{server.guild.id}/settings/", form)
        return response.status_code

    async def race() -> list[int]:
        # Sync views run one after the other in asgiref's one shared thread: a thread-bound actor would leak.
        return await asyncio.gather(*(change(c, s, 10 + n) for n in range(3) for c, s in clients))

    assert asyncio.run(race()) == [302] * 6
    by_guild = {(e.guild_id, e.actor_id) for e in AuditEntry.objects.all()}
    assert by_guild == {(alpha.guild.id, str(alpha.manager.id)), (beta.guild.id, str(beta.manager.id))}
