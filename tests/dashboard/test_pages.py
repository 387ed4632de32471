"""The server picker and each server's pages, with who may see them (asked of the fake Discord)."""

from __future__ import annotations

import time
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from guilds.models import Channel, Guild
from summarybot import crypto
from summarybot.discord.permissions import INVITE_PERMISSIONS
from tests.dashboard.conftest import Server, log_in, make_server
from tests.factories import ScheduleFactory, SummaryJobFactory
from tests.fakes.discord import FakeDiscord, Permission

pytestmark = pytest.mark.django_db


def _settings_form(guild: Guild, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "default_format": guild.default_format,
        "default_language": guild.default_language,
        "redact_pii": "on" if guild.redact_pii else "",
        "opt_out_marker": guild.opt_out_marker,
        "reaction_trigger_emoji": guild.reaction_trigger_emoji,
        "member_cooldown_seconds": guild.member_cooldown_seconds,
        "monthly_token_budget": guild.monthly_token_budget if guild.monthly_token_budget is not None else "",
        "monthly_cost_budget_usd": guild.monthly_cost_budget_usd or "",
        "log_channel_id": guild.log_channel_id or "",
        "openai_api_key": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# ------------------------------------------------------------------------------------- picker
def test_the_picker_lists_managed_servers_marks_the_bot_and_offers_an_exact_invite(
    client: Client, oauth_discord: FakeDiscord, server: Server
) -> None:
    fake = oauth_discord
    owned = fake.add_guild("Owned, no bot", owner=server.manager, bot_permissions=None)
    admin_role_guild = fake.add_guild("Admin here")
    admins = fake.add_role(admin_role_guild, "Admins", Permission.ADMINISTRATOR)
    fake.add_member(admin_role_guild, server.manager, roles=[admins])
    Guild.objects.create(id=admin_role_guild.id, name="Admin here", bot_present=True)
    member_only = fake.add_guild("Just a member")
    fake.add_member(member_only, server.manager)
    Guild.objects.create(id=member_only.id, name="Just a member", bot_present=True)

    log_in(client, fake, server.manager)
    page = client.get("/").content.decode()

    assert "Alpha" in page and "Admin here" in page and "Owned, no bot" in page
    assert "Just a member" not in page
    assert f"/servers/{server.guild.id}/" in page and f"/servers/{admin_role_guild.id}/" in page
    assert f"/servers/{owned.id}/" not in page
    invite = next(
        line.split('href="')[1].split('"')[0] for line in page.splitlines() if "Invite the bot" in line
    ).replace("&amp;", "&")
    query = parse_qs(urlsplit(invite).query)
    assert invite.startswith(f"{fake.oauth_base}/oauth2/authorize?")
    assert query["permissions"] == [str(INVITE_PERMISSIONS)]
    assert query["guild_id"] == [str(owned.id)] and query["scope"] == ["bot applications.commands"]


def test_the_invite_asks_for_exactly_what_the_bot_uses() -> None:
    names = {"view_channel", "read_message_history", "send_messages", "embed_links", "attach_files",
             "create_public_threads", "send_messages_in_threads", "add_reactions"}
    assert INVITE_PERMISSIONS == sum(1 << Permission[n.upper()].bit_length() - 1 for n in names)
    assert not INVITE_PERMISSIONS & (Permission.ADMINISTRATOR | Permission.MANAGE_GUILD)


# ------------------------------------------------------------------------------- who may see what
def test_a_member_without_manage_server_gets_403_and_an_outsider_404(
    client: Client, oauth_discord: FakeDiscord, server: Server
) -> None:
    other = make_server(oauth_discord, "Beta")
    log_in(client, oauth_discord, server.member)
    assert client.get(f"/servers/{server.guild.id}/").status_code == 403
    assert client.get(f"/servers/{server.guild.id}/settings/").status_code == 403
    # Beta exists and has the bot, but the member is not in it: the same 404 as a server that does not exist.
    beta = client.get(f"/servers/{other.guild.id}/settings/")
    missing = client.get("/servers/999999999999999999/settings/")
    assert beta.status_code == missing.status_code == 404


def test_a_manager_of_another_server_cannot_reach_or_change_this_one(
    client: Client, oauth_discord: FakeDiscord, server: Server
) -> None:
    other = make_server(oauth_discord, "Beta")
    log_in(client, oauth_discord, other.manager)
    for path in ("", "settings/", "channels/"):
        assert client.get(f"/servers/{server.guild.id}/{path}").status_code == 404
    before = Guild.objects.get(pk=server.guild.id).member_cooldown_seconds
    posted = client.post(
        f"/servers/{server.guild.id}/settings/", _settings_form(server.guild, member_cooldown_seconds=1)
    )
    switched = client.post(f"/servers/{server.guild.id}/channels/{server.general.id}/", {"on": "0"})
    assert posted.status_code == switched.status_code == 404
    assert Guild.objects.get(pk=server.guild.id).member_cooldown_seconds == before
    assert Channel.objects.get(pk=server.general.id).enabled
    # Their own server's URL with this server's channel: the channel is not theirs either.
    client.post(f"/servers/{other.guild.id}/channels/{server.general.id}/", {"on": "0"})
    assert Channel.objects.get(pk=server.general.id).enabled


def test_losing_manage_server_loses_the_dashboard_once_the_cached_answer_expires(
    client: Client, oauth_discord: FakeDiscord, server: Server, settings  # type: ignore[no-untyped-def]
) -> None:
    settings.DASHBOARD_PERMISSION_CACHE_SECONDS = 1
    log_in(client, oauth_discord, server.manager)
    url = f"/servers/{server.guild.id}/settings/"
    assert client.get(url).status_code == 200
    asked = len(oauth_discord.requests_matching("GET", "/users/@me/guilds$"))

    role_id = oauth_discord.guilds[server.guild.id].members[server.manager.id].roles[0]
    oauth_discord.guilds[server.guild.id].roles[role_id].permissions = 0
    assert client.get(url).status_code == 200  # still within the cached minute(s)
    assert len(oauth_discord.requests_matching("GET", "/users/@me/guilds$")) == asked

    time.sleep(1.2)
    assert client.get(url).status_code == 403
    assert len(oauth_discord.requests_matching("GET", "/users/@me/guilds$")) == asked + 1


def test_a_revoked_discord_token_ends_the_session(
    client: Client, oauth_discord: FakeDiscord, server: Server, settings  # type: ignore[no-untyped-def]
) -> None:
    settings.DASHBOARD_PERMISSION_CACHE_SECONDS = 0
    log_in(client, oauth_discord, server.manager)
    oauth_discord.oauth_revoke_tokens(server.manager)
    resp = client.get(f"/servers/{server.guild.id}/")
    assert resp.status_code == 302 and resp["Location"].startswith("/login/")
    assert "_auth_user_id" not in client.session


def test_discord_down_is_a_503_not_a_guess(
    client: Client, oauth_discord: FakeDiscord, server: Server, settings  # type: ignore[no-untyped-def]
) -> None:
    settings.DASHBOARD_PERMISSION_CACHE_SECONDS = 0
    log_in(client, oauth_discord, server.manager)
    oauth_discord.fail_next("GET", "/users/@me/guilds$", status=502)
    assert client.get(f"/servers/{server.guild.id}/").status_code == 503


def test_the_bot_absent_server_has_no_pages(client: Client, oauth_discord: FakeDiscord, server: Server) -> None:
    Guild.objects.filter(pk=server.guild.id).update(bot_present=False)
    log_in(client, oauth_discord, server.manager)
    assert client.get(f"/servers/{server.guild.id}/").status_code == 404


# ---------------------------------------------------------------------------------- overview
def test_the_overview_shows_recent_summaries_usage_and_paused_schedules(
    manager_client: Client, server: Server
) -> None:
    SummaryJobFactory(guild=server.guild, channel_id=server.general.id, status="done")
    SummaryJobFactory(guild=server.guild, channel_id=server.general.id, status="failed", error_message="LLM down")
    SummaryJobFactory(guild=server.guild, status="queued", source="slash_command")  # a member's private one
    ScheduleFactory(guild=server.guild, name="weekly digest", enabled=False, paused_reason="3 failures in a row")
    page = manager_client.get(f"/servers/{server.guild.id}/").content.decode()
    assert page.count("#general") == 2 and "LLM down" in page and "Done" in page
    assert "Queued" not in page
    assert "weekly digest" in page and "3 failures in a row" in page
    assert "0% of 5000000" in page


# ---------------------------------------------------------------------------------- settings
def test_settings_change_the_guild_through_the_service(manager_client: Client, server: Server) -> None:
    url = f"/servers/{server.guild.id}/settings/"
    page = manager_client.get(url)
    assert page.status_code == 200 and b"csrfmiddlewaretoken" in page.content
    resp = manager_client.post(
        url,
        _settings_form(
            server.guild, default_format="brief", default_language="pt-BR", redact_pii="", opt_out_marker="!skip",
            reaction_trigger_emoji="📝", member_cooldown_seconds=90, monthly_token_budget="", monthly_cost_budget_usd="12.50",
            log_channel_id=server.general.id, openai_api_key="sk-test-abc123",
        ),
    )
    assert resp.status_code == 302
    guild = Guild.objects.get(pk=server.guild.id)
    assert (guild.default_format, guild.default_language, guild.redact_pii) == ("brief", "pt-BR", False)
    assert (guild.opt_out_marker, guild.reaction_trigger_emoji, guild.member_cooldown_seconds) == ("!skip", "📝", 90)
    assert guild.monthly_token_budget is None and guild.monthly_cost_budget_usd == Decimal("12.50")
    assert guild.log_channel_id == server.general.id and guild.llm_api_key == "sk-test-abc123"

    page = manager_client.get(url).content.decode()
    assert "sk-test-abc123" not in page and 'id="openai-key-state">set<' in page
    # Saving again without typing the key keeps it; the remove box clears it.
    manager_client.post(url, _settings_form(guild))
    assert Guild.objects.get(pk=guild.pk).llm_api_key == "sk-test-abc123"
    manager_client.post(url, _settings_form(guild, clear_openai_key="on"))
    assert Guild.objects.get(pk=guild.pk).llm_api_key == ""


def test_the_openai_key_is_stored_encrypted(manager_client: Client, server: Server) -> None:
    from django.db import connection

    manager_client.post(f"/servers/{server.guild.id}/settings/", _settings_form(server.guild, openai_api_key="sk-secret-1"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT llm_api_key FROM guilds_guild WHERE id = %s", [server.guild.id])
        stored = cursor.fetchone()[0]
    assert "sk-secret-1" not in stored and crypto.decrypt(stored) == "sk-secret-1"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("default_language", "not a language", "language code"),
        ("reaction_trigger_emoji", "hello world", "not an emoji"),
        ("member_cooldown_seconds", "-5", "greater than or equal to 0"),
        ("monthly_cost_budget_usd", "-1", "greater than or equal to 0"),
        ("default_format", "poem", "Select a valid choice"),
        ("log_channel_id", "123", "Select a valid choice"),
        ("openai_api_key", "sk with spaces", "malformed"),
    ],
)
def test_bad_settings_are_refused_and_nothing_changes(
    manager_client: Client, server: Server, field: str, value: str, message: str
) -> None:
    before = Guild.objects.get(pk=server.guild.id)
    # Every other field holds a good new value: the bad one alone must stop them all.
    good = {"opt_out_marker": "!other"}
    resp = manager_client.post(f"/servers/{server.guild.id}/settings/", _settings_form(server.guild, **{**good, field: value}))
    assert resp.status_code == 400
    assert message in resp.content.decode()
    assert "sk with spaces" not in resp.content.decode()  # a refused key is not echoed either
    after = Guild.objects.get(pk=server.guild.id)
    assert after.opt_out_marker == before.opt_out_marker
    assert after.updated_at == before.updated_at


def test_a_log_channel_of_another_server_is_refused_by_the_service(
    manager_client: Client, oauth_discord: FakeDiscord, server: Server
) -> None:
    from guilds.services import guild_config_update
    from summarybot.errors import InvalidInput

    other = make_server(oauth_discord, "Beta")
    with pytest.raises(InvalidInput, match="text channels"):
        guild_config_update(guild_id=server.guild.id, changes={"log_channel_id": other.general.id})


def test_settings_need_the_csrf_token(client: Client, oauth_discord: FakeDiscord, server: Server) -> None:
    log_in(client, oauth_discord, server.manager)
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.cookies = client.cookies  # the same session, but the form's token is missing
    resp = csrf_client.post(f"/servers/{server.guild.id}/settings/", _settings_form(server.guild, member_cooldown_seconds=5))
    assert resp.status_code == 403
    assert Guild.objects.get(pk=server.guild.id).member_cooldown_seconds != 5


# ---------------------------------------------------------------------------------- channels
def test_channels_list_marks_locked_ones_off_until_enabled(manager_client: Client, server: Server) -> None:
    page = manager_client.get(f"/servers/{server.guild.id}/channels/").content.decode()
    assert f'id="channel-{server.general.id}" data-state="on"' in page
    assert f'id="channel-{server.secret.id}" data-state="off"' in page
    assert "private</span>" in page


def test_turning_a_channel_off_and_on(manager_client: Client, server: Server) -> None:
    url = f"/servers/{server.guild.id}/channels/{server.general.id}/"
    assert manager_client.post(url, {"on": "0"}).status_code == 302
    assert not Channel.objects.get(pk=server.general.id).enabled
    manager_client.post(url, {"on": "1"})
    assert Channel.objects.get(pk=server.general.id).summaries_allowed


def test_enabling_a_locked_channel_asks_for_confirmation_first(manager_client: Client, server: Server) -> None:
    url = f"/servers/{server.guild.id}/channels/{server.secret.id}/"
    ask = manager_client.post(url, {"on": "1"})
    assert ask.status_code == 200 and b"confirm" in ask.content
    assert not Channel.objects.get(pk=server.secret.id).summaries_allowed
    manager_client.post(url, {"on": "1", "confirm": "on"})
    secret = Channel.objects.get(pk=server.secret.id)
    assert secret.summaries_allowed and secret.allow_when_locked
    # Off clears the permission too: turning it on again asks again.
    manager_client.post(url, {"on": "0"})
    secret.refresh_from_db()
    assert not secret.enabled and not secret.allow_when_locked
    assert manager_client.post(url, {"on": "1"}).status_code == 200
    assert not Channel.objects.get(pk=server.secret.id).summaries_allowed


def test_a_bad_switch_changes_nothing(manager_client: Client, server: Server) -> None:
    url = f"/servers/{server.guild.id}/channels/{server.general.id}/"
    assert manager_client.post(url, {"on": "maybe"}).status_code == 302
    assert manager_client.get(url).status_code == 405
    assert Channel.objects.get(pk=server.general.id).enabled
