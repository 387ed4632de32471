"""`manage.py apikey`: the printed key works, lists show state, revoke by prefix, bad input fails cleanly."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.factories import GuildFactory
from tests.processes import database_url
from webhooks.models import ApiKey
from webhooks.services import AuthenticationFailed, api_key_authenticate

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def apikey(*args: str) -> str:
    out = io.StringIO()
    call_command("apikey", *args, stdout=out)
    return out.getvalue()


def test_create_prints_a_working_key_alone_on_the_last_line():
    guild = GuildFactory()
    output = apikey(
        "create", "--guild", str(guild.id), "--name", "zapier", "--scope", "summaries:read",
        "--scope", "summaries:write", "--expires", "30",
    )
    raw = output.strip().splitlines()[-1]
    key = api_key_authenticate(raw_key=raw)
    assert key.guild_id == guild.id and key.name == "zapier"
    assert key.scopes == ["summaries:read", "summaries:write"] and key.expires_at is not None
    assert raw not in output.strip().splitlines()[0]  # shown once: only the last line holds it


def test_a_key_with_the_schedule_scopes_reads_and_writes_schedules(client):
    guild = GuildFactory()
    raw = apikey(
        "create", "--guild", str(guild.id), "--name", "scheduler", "--scope", "schedules:read",
        "--scope", "schedules:write",
    ).strip().splitlines()[-1]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.get("/api/v1/schedules", **headers).json() == {"results": [], "next": None}
    refused = client.post("/api/v1/schedules", data={}, content_type="application/json", **headers)
    assert refused.status_code == 400  # past the scope check, into validation
    assert client.get("/api/v1/summaries", **headers).status_code == 403


def test_list_shows_each_key_with_its_state_and_never_the_secret():
    guild = GuildFactory()
    first = apikey("create", "--guild", str(guild.id), "--name", "one", "--scope", "usage:read").strip().splitlines()[-1]
    apikey("create", "--guild", str(guild.id), "--name", "two", "--scope", "summaries:read")
    prefix = first.split(".")[0]
    apikey("revoke", prefix)
    other = GuildFactory()
    apikey("create", "--guild", str(other.id), "--name", "elsewhere", "--scope", "usage:read")

    listing = apikey("list", "--guild", str(guild.id))
    rows = listing.strip().splitlines()[1:]
    assert len(rows) == 2 and "elsewhere" not in listing
    assert first not in listing and first.split(".")[1] not in listing
    revoked_row = next(r for r in rows if r.startswith(prefix))
    assert "\tone\tusage:read\t" in revoked_row and "revoked" in revoked_row
    assert next(r for r in rows if "\ttwo\t" in r).endswith("active")


def test_revoke_makes_the_key_fail_and_a_second_revoke_says_so():
    guild = GuildFactory()
    raw = apikey("create", "--guild", str(guild.id), "--name", "k", "--scope", "summaries:read").strip().splitlines()[-1]
    prefix = raw.split(".")[0]
    assert "Revoked" in apikey("revoke", prefix)
    with pytest.raises(AuthenticationFailed):
        api_key_authenticate(raw_key=raw)
    assert "already revoked" in apikey("revoke", prefix)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "--name", "k", "--scope", "admin:all"], "Unknown scopes"),
        (["create", "--name", " ", "--scope", "summaries:read"], "name"),
        (["create", "--name", "k", "--scope", "summaries:read", "--expires", "0"], "at least 1 day"),
        (["create", "--guild", "1", "--name", "k", "--scope", "summaries:read"], "not registered"),
        (["revoke", "sbk_nothing"], "No API key"),
    ],
)
def test_bad_input_is_a_command_error_and_creates_nothing(args, message):
    guild = GuildFactory()
    if "--guild" not in args and args[0] == "create":
        args = [args[0], "--guild", str(guild.id), *args[1:]]
    with pytest.raises(CommandError, match=message):
        apikey(*args)
    assert not ApiKey.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_from_the_shell_a_bad_scope_is_one_stderr_line_and_a_non_zero_exit():
    guild = GuildFactory()
    env = {**os.environ, "DJANGO_DEBUG": "true", "DATABASE_URL": database_url(), "LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [sys.executable, "manage.py", "apikey", "create", "--guild", str(guild.id), "--name", "k", "--scope", "nope"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode != 0 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "Unknown scopes: nope" in done.stderr


def test_create_and_revoke_are_audit_logged_as_the_operators_command_and_a_refusal_is_not():
    from guilds.models import ActorKind, AuditEntry

    guild = GuildFactory()
    with pytest.raises(CommandError):
        apikey("create", "--guild", str(guild.id), "--name", "k", "--scope", "everything")
    plaintext = apikey("create", "--guild", str(guild.id), "--name", "ci", "--scope", "usage:read").splitlines()[-1]
    prefix = plaintext.split(".")[0]
    apikey("revoke", prefix)
    apikey("revoke", prefix)  # already revoked: nothing changes, nothing recorded
    entries = list(AuditEntry.objects.order_by("pk"))
    assert [(e.action, e.actor_kind, e.actor_id, e.target_id, e.guild_id) for e in entries] == [
        ("apikey.create", ActorKind.OPERATOR, "apikey", prefix, guild.id),
        ("apikey.revoke", ActorKind.OPERATOR, "apikey", prefix, guild.id),
    ]
    assert entries[0].actor_name.startswith("manage.py apikey")
    assert plaintext.split(".")[1] not in str(list(AuditEntry.objects.values()))
