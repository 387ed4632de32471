"""Secrets are encrypted in the database and API keys exist only as digests."""

from __future__ import annotations

import logging
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from guilds.models import Guild
from summaries.models import SummaryJob
from summarybot import crypto
from tests.factories import GuildFactory, SummaryJobFactory, WebhookDestinationFactory
from webhooks.models import InboundSecret, WebhookDestination
from webhooks.services import api_key_issue, inbound_secret_create

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


def test_a_secret_no_key_opens_reads_as_unset_and_is_logged_without_leaking(settings, caplog):
    guild = GuildFactory(llm_api_key="sk-sealed-under-old-key")
    destination = WebhookDestinationFactory(guild=guild, secret="sealed", credentials={"token": "t0ken"})
    stored_secret = raw_column("webhooks_webhookdestination", "secret", destination.pk)
    old_keys = settings.FIELD_ENCRYPTION_KEYS
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    with caplog.at_level(logging.ERROR, logger="summarybot.db"):
        loaded_guild = Guild.objects.get(pk=guild.pk)  # loading the guild no longer raises
        assert loaded_guild.llm_api_key == "" and not loaded_guild.llm_api_key
        loaded = WebhookDestination.objects.get(pk=destination.pk)
        assert loaded.secret == ""
        assert loaded.credentials == {} and loaded.credentials.get("token") is None
        assert loaded.secret == ""  # read again: logged once

    lines = [r.getMessage() for r in caplog.records]
    assert f"guilds.Guild.llm_api_key of pk={guild.pk} cannot be decrypted" in lines[0]
    assert f"webhooks.WebhookDestination.secret of pk={destination.pk}" in lines[1]
    assert f"webhooks.WebhookDestination.credentials of pk={destination.pk}" in lines[2]
    assert len(lines) == 3
    assert "gAAAA" not in caplog.text and "sealed" not in caplog.text and "t0ken" not in caplog.text

    # Saving the row keeps the sealed value, so putting the old key back restores it.
    loaded.name = "renamed"
    loaded.save()
    assert raw_column("webhooks_webhookdestination", "secret", destination.pk) == stored_secret
    settings.FIELD_ENCRYPTION_KEYS = old_keys
    restored = WebhookDestination.objects.get(pk=destination.pk)
    assert (restored.secret, restored.credentials) == ("sealed", {"token": "t0ken"})


def _every_secret() -> tuple[Guild, WebhookDestination, SummaryJob]:
    guild = GuildFactory(llm_api_key="sk-guild-key")
    destination = WebhookDestinationFactory(
        guild=guild, secret="whsec_x", credentials={"token": "notion"}, headers={"X-Auth": "h"}
    )
    job = SummaryJobFactory(guild=guild, interaction_token="interaction-token")
    return guild, destination, job


ENCRYPTED_COLUMNS = [
    ("guilds_guild", "llm_api_key"),
    ("webhooks_webhookdestination", "secret"),
    ("webhooks_webhookdestination", "credentials"),
    ("webhooks_webhookdestination", "headers"),
    ("webhooks_webhookdestination", "url"),
    ("summaries_summaryjob", "interaction_token"),
]


def test_rotate_encryption_keys_reencrypts_every_field_so_the_old_key_can_go(settings):
    guild, destination, job = _every_secret()
    inbound = inbound_secret_create(guild=guild, name="sender")
    GuildFactory()  # an empty secret stays empty and is not counted
    old_key, new_key = settings.FIELD_ENCRYPTION_KEYS[0], Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    out = StringIO()
    call_command("rotate_encryption_keys", batch_size=1, stdout=out)

    report = out.getvalue()
    assert "guilds.Guild.llm_api_key: 1 re-encrypted, 0 already under the first key" in report
    assert "webhooks.WebhookDestination.headers: 1 re-encrypted" in report
    assert "summaries.SummaryJob.interaction_token: 1 re-encrypted" in report
    assert "webhooks.InboundSecret.secret: 1 re-encrypted" in report
    assert "webhooks.WebhookDestination.url: 1 re-encrypted" in report
    # The destination's URL and previous signing secret are encrypted too (the latter empty here).
    assert "Total: 7 re-encrypted in 9 fields." in report
    # (summaries.Digest.interaction_token is empty here.)
    pks = {"guilds_guild": guild.pk, "webhooks_webhookdestination": destination.pk, "summaries_summaryjob": job.pk.hex}
    for table, column in ENCRYPTED_COLUMNS:
        Fernet(new_key.encode()).decrypt(raw_column(table, column, pks[table]).encode())  # under the new key
    Fernet(new_key.encode()).decrypt(raw_column("webhooks_inboundsecret", "secret", inbound.inbound_secret.pk).encode())

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key removed
    assert Guild.objects.get(pk=guild.pk).llm_api_key == "sk-guild-key"
    loaded = WebhookDestination.objects.get(pk=destination.pk)
    assert (loaded.secret, loaded.credentials, loaded.headers) == ("whsec_x", {"token": "notion"}, {"X-Auth": "h"})
    assert SummaryJob.objects.get(pk=job.pk).interaction_token == "interaction-token"
    assert InboundSecret.objects.get(pk=inbound.inbound_secret.pk).secret == inbound.plaintext

    # Resumable: a second run finds everything done.
    again = StringIO()
    call_command("rotate_encryption_keys", stdout=again)
    assert "Total: 0 re-encrypted in 9 fields." in again.getvalue()
    assert "guilds.Guild.llm_api_key: 0 re-encrypted, 1 already under the first key" in again.getvalue()


def test_rotate_encryption_keys_reports_what_no_key_opens_and_rotates_the_rest(settings, caplog):
    lost = GuildFactory(llm_api_key="made-with-a-lost-key")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.FIELD_ENCRYPTION_KEYS]
    kept = GuildFactory(llm_api_key="sk-kept")  # under the new key already
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1] + [Fernet.generate_key().decode()]

    out = StringIO()
    with caplog.at_level(logging.ERROR, logger="summarybot.key_rotation"), pytest.raises(CommandError) as excinfo:
        call_command("rotate_encryption_keys", stdout=out)

    assert "1 stored secrets open with no key" in str(excinfo.value)
    assert "guilds.Guild.llm_api_key: 0 re-encrypted, 1 already under the first key, 1 undecryptable" in out.getvalue()
    assert f"guilds.Guild.llm_api_key of pk={lost.pk} cannot be decrypted" in caplog.text
    assert "gAAAA" not in caplog.text
    assert Guild.objects.get(pk=kept.pk).llm_api_key == "sk-kept"


def test_api_key_is_stored_only_as_a_digest():
    issued = api_key_issue(guild=GuildFactory(), name="notion sync", scopes=["summaries:read"])
    secret_part = issued.plaintext.split(".", 1)[1]
    with connection.cursor() as cursor:
        cursor.execute("SELECT prefix, digest, name FROM webhooks_apikey WHERE id = %s", [issued.api_key.pk])
        row = " ".join(str(v) for v in cursor.fetchone())
    assert secret_part not in row
    assert issued.plaintext not in row
    assert len(issued.api_key.digest) == 64
