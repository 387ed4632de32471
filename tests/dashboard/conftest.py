"""Fixtures for the dashboard: a fake Discord with an OAuth2 client, the settings pointing at it, and a
login helper that walks the real allauth flow (our app, the browser's hop to Discord, the callback)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx2
import pytest
from django.test import Client

from guilds.models import Channel, ChannelKind, Guild
from tests.fakes.discord import FakeDiscord, Permission, User
from tests.fakes.discord.state import Guild as FakeGuild


def point_settings_at(settings, fake: FakeDiscord) -> None:  # type: ignore[no-untyped-def]
    client_id, secret = fake.oauth_client()
    settings.DISCORD_CLIENT_ID = client_id
    settings.DISCORD_CLIENT_SECRET = secret
    settings.DISCORD_API_BASE_URL = fake.api_base
    settings.DISCORD_OAUTH_BASE_URL = fake.oauth_base
    settings.DASHBOARD_DEV_LOGIN = False  # as settings have it once an OAuth app is configured
    providers = dict(settings.SOCIALACCOUNT_PROVIDERS)
    providers["discord"] = {**providers["discord"], "APPS": [{"client_id": client_id, "secret": secret, "key": ""}]}
    settings.SOCIALACCOUNT_PROVIDERS = providers


@pytest.fixture
def oauth_discord(discord_settings: FakeDiscord, settings) -> FakeDiscord:  # type: ignore[no-untyped-def]
    point_settings_at(settings, discord_settings)
    return discord_settings


def browser_hop(url: str) -> str:
    """What the browser does at Discord's authorize page: follow it once, return where Discord sends it."""
    resp = httpx2.get(url, follow_redirects=False, timeout=10)
    assert resp.status_code == 302, resp.text
    return resp.headers["location"]


def log_in(client: Client, fake: FakeDiscord, user: User) -> None:
    fake.oauth_login_as(user)
    start = client.post("/accounts/discord/login/")
    assert start.status_code == 302, start.content[:500]
    back = urlsplit(browser_hop(start["Location"]))
    done = client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302 and done["Location"] == "/", (done.status_code, done.content[:1000])


@dataclass
class Server:
    """One Discord server in the fake, mirrored in our database, with a manager and a plain member."""

    fake_guild: FakeGuild
    guild: Guild
    manager: User
    member: User
    general: Channel
    secret: Channel


def make_server(fake: FakeDiscord, name: str) -> Server:
    fake_guild = fake.add_guild(name)
    managers = fake.add_role(fake_guild, "Mods", Permission.MANAGE_GUILD)
    manager = fake.add_member(fake_guild, username=f"mod-of-{name.lower()}", roles=[managers])
    member = fake.add_member(fake_guild, username=f"member-of-{name.lower()}")
    guild = Guild.objects.create(id=fake_guild.id, name=name, bot_present=True)
    general = Channel.objects.create(id=fake.add_channel(fake_guild, "general").id, guild=guild, name="general")
    secret = Channel.objects.create(
        id=fake.add_channel(fake_guild, "mods-only").id, guild=guild, name="mods-only", is_locked=True, enabled=True,
        kind=ChannelKind.TEXT,
    )
    return Server(fake_guild=fake_guild, guild=guild, manager=manager, member=member, general=general, secret=secret)


@pytest.fixture
def server(oauth_discord: FakeDiscord, db) -> Server:  # type: ignore[no-untyped-def]
    return make_server(oauth_discord, "Alpha")


@pytest.fixture
def manager_client(client: Client, oauth_discord: FakeDiscord, server: Server) -> Client:
    log_in(client, oauth_discord, server.manager)
    return client
