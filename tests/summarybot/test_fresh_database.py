"""`python manage.py migrate` is the whole database setup: on a brand-new database, with no other command,
a worker runs a job end to end (the way a Docker entrypoint or a PaaS release step deploys)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.fakes.discord import FakeDiscord
from tests.processes import run_qcluster_until

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

CREATE_JOB = """
import django, json, sys
django.setup()
from guilds.models import Channel, Guild
from summaries.services.jobs import SummaryRequest, summary_request
from summaries.window import SummaryWindow
args = json.loads(sys.argv[1])
Guild.objects.create(id=args["guild"], name="Guild", bot_present=True)
Channel.objects.create(id=args["channel"], guild_id=args["guild"], name="general")
job, _ = summary_request(request=SummaryRequest(
    guild_id=args["guild"], channel_id=args["channel"], source="slash_command", requested_by_user_id=args["user"],
    window=SummaryWindow.count(40), interaction_id=args["interaction"], application_id=args["application"],
    interaction_token=args["token"]))
print(job.pk)
"""


def test_after_migrate_alone_a_worker_runs_a_slash_command_job_and_answers_in_discord(fake_discord: FakeDiscord, tmp_path):
    fake = fake_discord
    guild = fake.add_guild("Guild")
    alice = fake.add_member(guild, username="alice", global_name="Alice")
    channel = fake.add_channel(guild, "general")
    fake.add_messages(channel, 40, authors=[alice], content="shall we ship the release on friday? {i}")
    payload = fake.slash_command_payload(channel=channel, user=alice, name="summarize")
    defer = urllib.request.Request(
        f"{fake.api_base}/interactions/{payload['id']}/{payload['token']}/callback?with_response=1",
        data=json.dumps({"type": 5, "data": {"flags": 64}}).encode(), headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(defer, timeout=5).close()

    db_path = tmp_path / "fresh.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "summarybot.settings",
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{db_path}",
        "DISCORD_TOKEN": fake.bot_token,
        "DISCORD_API_BASE_URL": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "SUMMARY_PROVIDER": "local",
        "Q_WORKERS": "1",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)  # the embedded default: SQLite, the database cache, the ORM broker

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )

    migrated = manage("migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    with sqlite3.connect(db_path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "summarybot_cache" in tables
    # The old extra step is still harmless.
    assert manage("createcachetable").returncode == 0

    created = subprocess.run(
        [sys.executable, "-c", CREATE_JOB, json.dumps({
            "guild": guild.id, "channel": channel.id, "user": alice.id, "interaction": int(payload["id"]),
            "application": int(payload["application_id"]), "token": payload["token"],
        })],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert created.returncode == 0, created.stderr
    job_id = uuid.UUID(created.stdout.strip().splitlines()[-1]).hex  # how SQLite stores a UUIDField

    status = None

    def finished() -> bool:
        nonlocal status
        with sqlite3.connect(db_path, timeout=5) as db:
            status = db.execute("SELECT status FROM summaries_summaryjob WHERE id = ?", [job_id]).fetchone()[0]
        return status in ("done", "partial", "failed")

    errors = run_qcluster_until(finished, env)

    assert status == "done", errors[-3000:]
    assert "no such table" not in errors and "reincarnated" not in errors
    edits = [r.json for r in fake.requests_matching("PATCH", r"/messages/@original") if r.json and r.json.get("embeds")]
    assert len(edits) == 1 and f"https://discord.com/channels/{guild.id}/{channel.id}/" in json.dumps(edits[0])
