"""The development login: `make run` with no Discord application still reaches every dashboard page."""

from __future__ import annotations

import pytest
from django.test import Client

from guilds.models import Channel
from guilds.services import demo_guild_seed

pytestmark = pytest.mark.django_db

DEMO = 100000000000000001


@pytest.fixture
def dev_site(settings):  # type: ignore[no-untyped-def]
    settings.DISCORD_CLIENT_ID = settings.DISCORD_CLIENT_SECRET = ""
    settings.DASHBOARD_DEV_LOGIN = True
    demo_guild_seed()


def test_the_development_login_reaches_the_demo_servers_pages(client: Client, dev_site) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/login/")
    assert page.status_code == 200 and b"Development login" in page.content
    assert client.post("/login/dev/")["Location"] == "/"
    picker = client.get("/").content.decode()
    assert "Demo Server" in picker and f"/servers/{DEMO}/" in picker
    for path in ("", "settings/", "channels/", "schedules/", "destinations/", "api-keys/"):
        assert client.get(f"/servers/{DEMO}/{path}").status_code == 200, path
    channel = Channel.objects.get(guild_id=DEMO)
    client.post(f"/servers/{DEMO}/channels/{channel.pk}/", {"on": "0"})
    assert not Channel.objects.get(pk=channel.pk).enabled


def test_the_development_login_needs_a_post_with_csrf(dev_site) -> None:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    assert client.get("/login/dev/").status_code == 405
    assert client.post("/login/dev/").status_code == 403


def test_a_development_session_is_void_once_the_development_login_is_off(
    client: Client, dev_site, settings  # type: ignore[no-untyped-def]
) -> None:
    client.post("/login/dev/")
    assert client.get(f"/servers/{DEMO}/").status_code == 200
    settings.DASHBOARD_DEV_LOGIN = False
    assert client.get(f"/servers/{DEMO}/")["Location"].startswith("/login/")
    assert client.post("/login/dev/").status_code == 404
