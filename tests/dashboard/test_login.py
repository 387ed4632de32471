"""Logging in with Discord through allauth, against the fake Discord over real sockets."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from summarybot.discord_login.session import identity_get
from tests.dashboard.conftest import Server, browser_hop, log_in
from tests.fakes.discord import FakeDiscord

pytestmark = pytest.mark.django_db


def test_the_whole_oauth_flow_uses_state_and_pkce_and_fetches_the_user_and_guilds(
    client: Client, oauth_discord: FakeDiscord, server: Server
) -> None:
    fake = oauth_discord
    fake.oauth_login_as(server.manager)

    start = client.post("/accounts/discord/login/")
    authorize = urlsplit(start["Location"])
    query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == f"{fake.oauth_base}/oauth2/authorize"
    assert query["client_id"] == str(fake.application.id)
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == "http://testserver/accounts/discord/login/callback/"
    assert set(query["scope"].split()) == {"identify", "guilds"}
    assert query["state"]
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43

    back = urlsplit(browser_hop(start["Location"]))
    callback = client.get(f"{back.path}?{back.query}")
    assert callback.status_code == 302 and callback["Location"] == "/"

    # The token exchange carried the verifier that matches the challenge, and the code came back once.
    exchange = fake.requests_matching("POST", "/oauth2/token$")[0]
    verifier = exchange.json["code_verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert challenge == query["code_challenge"] and exchange.status == 200
    assert [r.status for r in fake.requests_matching("GET", "/users/@me$")] == [200]

    picker = client.get("/")
    assert picker.status_code == 200
    assert fake.requests_matching("GET", "/users/@me/guilds$")[-1].status == 200
    assert b"Alpha" in picker.content
    # The session holds the user's id, and the token only encrypted.
    session = client.session
    assert str(server.manager.id) in str(session["discord_oauth"])
    token = next(iter(fake.oauth_tokens))
    assert token not in str(dict(session.items()))


def test_a_forged_state_is_refused_and_logs_nobody_in(
    client: Client, oauth_discord: FakeDiscord, server: Server
) -> None:
    oauth_discord.oauth_login_as(server.manager)
    start = client.post("/accounts/discord/login/")
    back = urlsplit(browser_hop(start["Location"]))
    params = parse_qs(back.query)
    forged = client.get(back.path, {"code": params["code"][0], "state": "not-the-state"})
    assert forged.status_code == 401  # allauth's authentication error page
    assert not oauth_discord.requests_matching("POST", "/oauth2/token$")
    assert client.get("/").status_code == 302


def test_a_wrong_pkce_verifier_fails_the_token_exchange(
    client: Client, oauth_discord: FakeDiscord, server: Server
) -> None:
    oauth_discord.oauth_login_as(server.manager)
    start = client.post("/accounts/discord/login/")
    back = urlsplit(browser_hop(start["Location"]))
    # Another login started meanwhile in the same session would hold another verifier; here the fake's
    # stored challenge is changed, which is what a code stolen from another login looks like.
    code = parse_qs(back.query)["code"][0]
    oauth_discord._oauth_codes[code].code_challenge = "x" * 43
    resp = client.get(f"{back.path}?{back.query}")
    assert resp.status_code == 401  # allauth's authentication error page
    assert oauth_discord.requests_matching("POST", "/oauth2/token$")[0].status == 400
    assert client.get("/").status_code == 302


def test_cancelling_at_discord_logs_nobody_in(client: Client, oauth_discord: FakeDiscord, server: Server) -> None:
    oauth_discord.oauth_login_as(None)
    start = client.post("/accounts/discord/login/")
    back = urlsplit(browser_hop(start["Location"]))
    assert "error=access_denied" in back.query
    client.get(f"{back.path}?{back.query}")
    assert client.get("/").status_code == 302


def test_logout_forgets_the_discord_token_here_and_at_discord(
    client: Client, oauth_discord: FakeDiscord, server: Server
) -> None:
    log_in(client, oauth_discord, server.manager)
    assert len(oauth_discord.oauth_tokens) == 1
    resp = client.post("/accounts/logout/")
    assert resp.status_code == 302
    assert "discord_oauth" not in client.session
    assert oauth_discord.requests_matching("POST", "/oauth2/token/revoke$")[0].status == 200
    assert oauth_discord.oauth_tokens == {}
    assert client.get("/")["Location"].startswith("/login/")


def test_anonymous_visitors_are_sent_to_the_login_page(client: Client, oauth_discord: FakeDiscord) -> None:
    assert client.get("/")["Location"] == "/login/"
    page = client.get("/login/")
    assert page.status_code == 200 and b"Log in with Discord" in page.content


def test_without_oauth_credentials_login_is_unavailable_with_a_clear_page(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DISCORD_CLIENT_ID = settings.DISCORD_CLIENT_SECRET = ""
    settings.DASHBOARD_DEV_LOGIN = False  # a real deployment (the development login is for local debug sites)
    assert client.post("/login/dev/").status_code == 404
    for resp in (client.get("/login/"), client.get("/accounts/discord/login/"), client.post("/accounts/discord/login/")):
        assert resp.status_code == 503
        assert b"DISCORD_CLIENT_ID" in resp.content and b"unavailable" in resp.content


def test_password_signup_is_closed(client: Client) -> None:
    resp = client.post("/accounts/signup/", {"username": "eve", "password1": "x" * 20, "password2": "x" * 20})
    assert b"closed" in resp.content.lower()
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="eve").exists()


def test_a_session_without_a_discord_login_has_no_identity(client: Client, admin_user) -> None:  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    assert client.get("/")["Location"].startswith("/login/")
    assert client.get("/servers/1/")["Location"].startswith("/login/")
    assert client.get("/admin/").status_code == 200  # the operator's session goes on
    request = type("R", (), {"session": client.session})()
    assert identity_get(request) is None  # type: ignore[arg-type]


def test_logging_in_as_someone_else_in_the_same_browser_keeps_only_their_token(
    client: Client, oauth_discord: FakeDiscord, server: Server
) -> None:
    log_in(client, oauth_discord, server.manager)
    log_in(client, oauth_discord, server.member)
    request = type("R", (), {"session": client.session})()
    identity = identity_get(request)  # type: ignore[arg-type]
    assert identity is not None and identity.user_id == server.member.id
    assert oauth_discord.oauth_tokens[identity.access_token].user_id == server.member.id
    assert client.get(f"/servers/{server.guild.id}/").status_code == 403  # the member's rights, not the manager's


def test_logout_still_logs_out_when_discord_is_down(client: Client, oauth_discord: FakeDiscord, server: Server) -> None:
    log_in(client, oauth_discord, server.manager)
    oauth_discord.fail_next("POST", "/oauth2/token/revoke$", status=503, times=5)
    assert client.post("/accounts/logout/").status_code == 302
    assert "_auth_user_id" not in client.session
