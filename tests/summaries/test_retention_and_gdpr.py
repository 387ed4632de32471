"""Retention and the right to be forgotten, judged by the database itself: after a retention run or a
gdpr_forget, a text search over every table (the cache table's values unpickled) finds nothing of what was
removed. The summaries are made by the real runner against the fake Discord, and delivered to a fake receiver."""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import os
import pickle
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule as QSchedule

from guilds.models import Channel, ChannelActivity, Guild, MemberOptOut
from summaries.chunk_cache import DjangoChunkCache, chunk_timeout
from summaries.models import CatchUp, Summary, SummaryCitation, SummaryJob, UsageRecord
from summaries.services.retention import retention_apply
from summaries.tasks import apply_retention, run_summary_job
from summarybot.settings import DATABASE_CACHE_TABLE
from tests.fakes.discord import FakeDiscord
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.processes import database_url
from tests.webhooks.test_worker_delivery import run_queued
from webhooks.models import Delivery, DeliveryAttempt
from webhooks.services import api_key_issue
from webhooks.services.destinations import destination_create

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]

# Words only Alice (or only Bob) wrote, so a search for them finds their content wherever it went.
ALICE_SAID = [
    "The zebracorn migration lands on Tuesday after the freeze.",
    "I will write the zebracorn release notes by Thursday.",
    "Zebracorn rollback plan is in the wiki under ops.",
]
BOB_SAID = [
    "Quokka dashboard review is done, looks good to me.",
    "Quokka alerts fire too often, I will tune them.",
]


def database_text() -> str:
    """Every row of every table as text, and the database cache's values unpickled (what a dump holds)."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                if table == DATABASE_CACHE_TABLE:
                    key, value, _ = row
                    parts.append(f"{key} {pickle.loads(base64.b64decode(value))!r}")  # noqa: S301  our own cache
                else:
                    parts.append(repr(row))
    return "\n".join(parts)


def dumpdata() -> str:
    out = StringIO()
    call_command("dumpdata", stdout=out)
    return out.getvalue()


@pytest.fixture
def world(discord_settings: FakeDiscord, settings):  # type: ignore[no-untyped-def]
    settings.OPENAI_API_KEY = ""  # the offline engine: it quotes what members wrote, names and all
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    fake = discord_settings
    guild = fake.add_guild("Guild")
    alice = fake.add_member(guild, username="alicezz", global_name="Alicezz")
    bob = fake.add_member(guild, username="bobqq", global_name="Bobqq")
    channel = fake.add_channel(guild, "general")
    db_guild = Guild.objects.create(id=guild.id, name="Guild", bot_present=True, member_cooldown_seconds=0)
    Channel.objects.create(id=channel.id, guild_id=guild.id, name="general")
    for n in range(12):
        fake.add_message(channel, author=alice, content=ALICE_SAID[n % len(ALICE_SAID)])
        fake.add_message(channel, author=bob, content=BOB_SAID[n % len(BOB_SAID)])
    return fake, db_guild, channel, alice, bob


def summarize_and_deliver(client, guild: Guild, channel) -> SummaryJob:  # type: ignore[no-untyped-def]
    key = api_key_issue(guild=guild, name="ci", scopes=["summaries:write"]).plaintext
    with WebhookReceiver() as receiver:
        destination_create(guild_id=guild.id, kind="webhook", name="ci", url=receiver.url, events=["summary.completed"])
        answer = client.post(
            "/api/v1/summaries", data=json.dumps({"channel_id": str(channel.id), "messages": 24}),
            content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}",
        )
        assert answer.status_code == 202, answer.content
        assert run_summary_job(answer.json()["id"]) == "done"
        assert run_queued() == ["succeeded"]
    return SummaryJob.objects.get(pk=answer.json()["id"])


def cache_chunk(guild: Guild, text: str) -> None:
    """A chunk summary as the map-reduce engine caches it (the offline engine makes none of its own)."""
    cache = DjangoChunkCache(guild_id=guild.id, timeout=chunk_timeout(guild.retention_days))
    asyncio.run(cache.set("chunk:test", {"items": [{"text": text, "message_ids": [1]}]}))


def test_retention_deletes_a_guilds_old_summaries_jobs_deliveries_and_cached_chunks_leaving_no_trace(world, client):
    fake, guild, channel, alice, bob = world
    job = summarize_and_deliver(client, guild, channel)
    cache_chunk(guild, "Alicezz: zebracorn migration on Tuesday")
    CatchUp.objects.create(guild=guild, channel_id=channel.id, user_id=alice.id, last_message_id=1,
                           caught_up_at=timezone.now())
    summary = Summary.objects.get(job=job)
    assert "zebracorn" in summary.markdown.lower() and Delivery.objects.filter(job=job).exists()
    before = database_text().lower()
    assert "zebracorn" in before and "quokka" in before
    # A guild that keeps a year: its summary of the same age stays.
    keeper = Guild.objects.create(id=guild.id + 1, name="Keeper", retention_days=365)
    kept = Summary.objects.create(guild=keeper, channel_id=1, format="brief", language="en", provider="local",
                                  model="m", markdown="the capybara plan")

    removed = retention_apply(now=timezone.now() + timedelta(days=guild.retention_days + 1))

    assert removed["Summary"] == 1 and removed["SummaryJob"] == 1 and removed["DeliveryAttempt"] == 1
    if "DatabaseCache" in settings.CACHES["default"]["BACKEND"]:
        assert removed["cache entries"] >= 1  # Django only culls expired rows when the table fills up
    else:
        # Redis drops the entry itself at its expiry, which chunk_timeout set to the guild's retention.
        assert chunk_timeout(guild.retention_days) <= guild.retention_days * 86_400
    assert not Summary.objects.filter(guild=guild).exists() and not SummaryJob.objects.exists()
    assert not SummaryCitation.objects.exists() and not Delivery.objects.exists() and not CatchUp.objects.exists()
    assert Summary.objects.filter(pk=kept.pk).exists()
    assert UsageRecord.objects.filter(guild=guild).exists()  # counts of tokens and cost, nobody's words
    for text in (database_text().lower(), dumpdata().lower()):
        assert "zebracorn" not in text and "quokka" not in text and "alicezz" not in text
        assert "capybara" in text


def test_retention_keeps_what_is_younger_than_the_guilds_retention(world, client):
    fake, guild, channel, alice, bob = world
    job = summarize_and_deliver(client, guild, channel)
    assert retention_apply(now=timezone.now() + timedelta(days=guild.retention_days - 1)).get("Summary", 0) == 0
    assert Summary.objects.filter(job=job).exists() and Delivery.objects.filter(job=job).exists()
    assert apply_retention().get("Summary", 0) == 0  # the task django-q2 runs daily


def test_the_retention_run_is_registered_daily_with_django_q_once():
    # The migration's own function, run twice (a re-applied migration): one schedule.
    migration = importlib.import_module("summaries.migrations.0012_retention_schedule")
    QSchedule.objects.filter(func="summaries.tasks.apply_retention").delete()  # a transactional test flushed it
    migration.register(django_apps, None)
    migration.register(django_apps, None)
    [schedule] = QSchedule.objects.filter(func="summaries.tasks.apply_retention")
    assert (schedule.schedule_type, schedule.repeats) == ("D", -1)


def test_gdpr_forget_removes_a_members_content_everywhere_keeps_the_opt_out_and_says_what_it_removed(world, client):
    fake, guild, channel, alice, bob = world
    job = summarize_and_deliver(client, guild, channel)
    cache_chunk(guild, "Alicezz: zebracorn migration on Tuesday")
    MemberOptOut.objects.create(guild=guild, user_id=alice.id)
    ChannelActivity.objects.create(guild=guild, channel_id=channel.id, user_id=alice.id, day=timezone.localdate(),
                                   messages=12)
    CatchUp.objects.create(guild=guild, channel_id=channel.id, user_id=alice.id, last_message_id=1,
                           caught_up_at=timezone.now())
    summary = Summary.objects.get(job=job)
    assert SummaryCitation.objects.filter(summary=summary, author_id=alice.id).exists()
    assert "zebracorn" in database_text().lower()

    out = StringIO()
    call_command("gdpr_forget", "--user", str(alice.id), "--guild", str(guild.id), stdout=out)

    printed = out.getvalue()
    assert f"Forgot member {alice.id} in guild {guild.id}:" in printed
    assert "summaries emptied: 1" in printed and "activity counts: 1" in printed and "catch-ups: 1" in printed
    assert "cached chunk summaries: 1" in printed
    summary.refresh_from_db()
    assert summary.stale and summary.items == [] and "asked to be forgotten" in summary.markdown
    assert MemberOptOut.objects.filter(user_id=alice.id).exists()
    assert not ChannelActivity.objects.filter(user_id=alice.id).exists()
    assert DeliveryAttempt.objects.filter(delivery__job=job).get().response_body == ""
    for text in (database_text().lower(), dumpdata().lower()):
        assert "zebracorn" not in text and "alicezz" not in text


def test_gdpr_forget_is_audit_logged(world, client, caplog):
    fake, guild, channel, alice, bob = world
    summarize_and_deliver(client, guild, channel)
    call_command("gdpr_forget", "--user", str(alice.id), stdout=StringIO())
    [record] = [r for r in caplog.records if getattr(r, "audit", None) == "gdpr_forget"]
    assert record.user_id == str(alice.id) and record.removed["summaries emptied"] == 1
    # And in the audit log, as the operator's command, with counts only (none of the member's content).
    from guilds.models import AuditEntry

    entry = AuditEntry.objects.get(action="member.forget")
    assert (entry.guild_id, entry.target_id, entry.actor_id) == (None, str(alice.id), "gdpr_forget")
    assert entry.changes["summaries emptied"] == [1, 0] and "zebracorn" not in json.dumps(entry.changes).lower()


def test_gdpr_export_writes_what_is_stored_about_a_member_as_json(world, client, tmp_path, caplog):
    fake, guild, channel, alice, bob = world
    job = summarize_and_deliver(client, guild, channel)
    ChannelActivity.objects.create(guild=guild, channel_id=channel.id, user_id=alice.id, day=timezone.localdate(),
                                   messages=12)
    MemberOptOut.objects.create(guild=None, user_id=alice.id)
    out = StringIO()
    call_command("gdpr_export", "--user", str(alice.id), stdout=out)
    data = json.loads(out.getvalue())
    assert data["user_id"] == str(alice.id)
    assert data["opt_outs"] == [{"guild_id": None, "since": data["opt_outs"][0]["since"]}]
    assert data["activity"][0]["messages"] == 12
    [cited] = data["summaries_citing_you"]
    assert cited["id"] == str(job.pk) and cited["cited_message_ids"]
    assert cited["items_citing_you"] and "zebracorn" in json.dumps(cited["items_citing_you"]).lower()

    target = tmp_path / "alice.json"
    call_command("gdpr_export", "--user", str(alice.id), "--output", str(target), stdout=StringIO(), stderr=StringIO())
    assert json.loads(target.read_text()) == data
    assert [r for r in caplog.records if getattr(r, "audit", None) == "gdpr_export"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gdpr_forget", "--user", "alice"], "--user must be a Discord id (digits only), got 'alice'"),
        (["gdpr_forget", "--user", "123", "--guild", "-5"], "--guild must be a Discord id"),
        (["gdpr_forget", "--user", "123", "--guild", "999"], "No guild 999 is known here."),
        (["gdpr_export", "--user", "12x"], "--user must be a Discord id"),
        (["gdpr_export", "--user", "123", "--output", "/nonexistent-dir/x.json"], "its directory does not exist"),
    ],
)
def test_bad_input_is_a_non_zero_exit_with_one_line_on_stderr(args, message):
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DJANGO_DEBUG": "true", "DATABASE_URL": database_url(), "LOG_LEVEL": "ERROR"},
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
