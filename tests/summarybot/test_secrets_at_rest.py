"""Secrets are encrypted in the database and API keys exist only as digests."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from guilds.models import Guild
from summarybot import crypto
from summarybot.crypto import DecryptionFailed
from tests.factories import GuildFactory, WebhookDestinationFactory
from webhooks.models import WebhookDestination
from webhooks.services import api_key_issue

pytestmark = pytest.mark.django_db


def raw_column(table: str, column: str, pk: object) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_destination_secrets_round_trip_and_never_stored_in_plaintext():
    destination = WebhookDestinationFactory(
        secret="whsec_super_secret_value",
        credentials={"token": "notion-integration-token-123"},
        headers={"Authorization": "Bearer header-secret-456"},
    )
    loaded = WebhookDestination.objects.get(pk=destination.pk)
    assert loaded.secret == "whsec_super_secret_value"
    assert loaded.credentials == {"token": "notion-integration-token-123"}
    assert loaded.headers == {"Authorization": "Bearer header-secret-456"}

    for column, plaintext in [
        ("secret", "whsec_super_secret_value"),
        ("credentials", "notion-integration-token-123"),
        ("headers", "header-secret-456"),
    ]:
        stored = raw_column("webhooks_webhookdestination", column, destination.pk)
        assert plaintext not in stored
        assert stored.startswith("gAAAA")  # a Fernet token


def test_guild_llm_key_is_encrypted_and_empty_stays_empty():
    guild = GuildFactory(llm_api_key="sk-guild-own-key-789")
    assert "sk-guild-own-key-789" not in raw_column("guilds_guild", "llm_api_key", guild.pk)
    assert Guild.objects.get(pk=guild.pk).llm_api_key == "sk-guild-own-key-789"
    empty = GuildFactory()
    assert raw_column("guilds_guild", "llm_api_key", empty.pk) == ""


def test_key_rotation_keeps_old_secrets_readable(settings):
    destination = WebhookDestinationFactory(secret="before-rotation")
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]
    assert WebhookDestination.objects.get(pk=destination.pk).secret == "before-rotation"
    rotated = crypto.rotate(raw_column("webhooks_webhookdestination", "secret", destination.pk))
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]
    assert crypto.decrypt(rotated) == "before-rotation"


def test_wrong_key_fails_loudly_without_leaking(settings):
    destination = WebhookDestinationFactory(secret="sealed")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(DecryptionFailed) as excinfo:
        WebhookDestination.objects.get(pk=destination.pk)
    assert "gAAAA" not in str(excinfo.value)


def test_api_key_is_stored_only_as_a_digest():
    issued = api_key_issue(guild=GuildFactory(), name="notion sync", scopes=["summaries:read"])
    secret_part = issued.plaintext.split(".", 1)[1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT prefix, digest, name FROM webhooks_apikey WHERE id = %s", [issued.api_key.pk])
        row = " ".join(str(v) for v in cursor.fetchone())
    assert secret_part not in row
    assert issued.plaintext not in row
    assert len(issued.api_key.digest) == 64
