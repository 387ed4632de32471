"""Structured logs: JSON with the request, job and guild ids; never a message's text, a token or a key."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from guilds.models import Channel, Guild
from summaries.tasks import run_summary_job
from summarybot.logs import REDACTED, ContextFilter, JsonFormatter, TextFormatter, log_context
from tests.fakes.discord import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI
from tests.summarybot.test_settings import ROOT
from webhooks.services import api_key_issue

SAID = [
    "Should we ship the release on Tuesday?",
    "Yes, let's go with Tuesday, code freeze Friday.",
    "I'll write the release notes by Thursday.",
    "Call me on +1 415 555 0100 about the flaky login test",
]


@contextmanager
def captured(formatter: logging.Formatter) -> Iterator[io.StringIO]:
    """Everything logged, at DEBUG, through the handler set-up settings.LOGGING gives the console."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.mark.django_db(transaction=True)
def test_a_job_run_logs_its_job_and_guild_ids_and_never_the_messages_a_token_or_a_key(
    discord_settings: FakeDiscord, settings, client
):
    fake = discord_settings
    guild = fake.add_guild("Guild")
    alice = fake.add_member(guild, username="alice", global_name="Alice")
    channel = fake.add_channel(guild, "general")
    db_guild = Guild.objects.create(id=guild.id, name="Guild", bot_present=True, member_cooldown_seconds=0)
    Channel.objects.create(id=channel.id, guild_id=guild.id, name="general")
    for n in range(40):
        fake.add_message(channel, author=alice, content=SAID[n % len(SAID)])
    api_key = api_key_issue(guild=db_guild, name="ci", scopes=["summaries:write"]).plaintext

    with FakeOpenAI() as llm, captured(JsonFormatter()) as logs:
        settings.SUMMARY_PROVIDER = "openai"
        settings.OPENAI_API_KEY = "sk-test-never-logged-0123456789"
        settings.OPENAI_BASE_URL = llm.base_url
        answer = client.post(
            "/api/v1/summaries", data=json.dumps({"channel_id": str(channel.id), "messages": 40}),
            content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api_key}", HTTP_X_REQUEST_ID="req-12345678",
        )
        assert answer.status_code == 202 and answer["X-Request-ID"] == "req-12345678"
        job_id = answer.json()["id"]
        assert run_summary_job(job_id) == "done"

    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    text = logs.getvalue()
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    job_lines = [line for line in lines if line.get("job_id") == job_id]
    assert any(line.get("guild_id") == str(guild.id) for line in job_lines)
    assert any(line["message"] == "summary stored" for line in job_lines)
    for said in SAID:
        assert said not in text
        for word in ("Tuesday", "flaky", "415 555"):
            assert word not in text
    for secret in (fake.bot_token, settings.OPENAI_API_KEY, api_key, settings.SECRET_KEY):
        assert secret not in text


@pytest.mark.django_db
def test_request_ids_are_kept_when_sane_and_made_otherwise(client):
    with captured(JsonFormatter()) as logs:
        missing = client.get("/api/v1/nothing-here")
        made = missing["X-Request-ID"]
        logging.getLogger("x").info("outside a request")
    assert len(made) == 32
    bogus = client.get("/health", HTTP_X_REQUEST_ID="bad id\nwith: newline")
    assert bogus["X-Request-ID"] != "bad id\nwith: newline" and len(bogus["X-Request-ID"]) == 32
    assert client.get("/health", HTTP_X_REQUEST_ID="abc-DEF_123.xyz")["X-Request-ID"] == "abc-DEF_123.xyz"
    records = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert any(r.get("request_id") == made for r in records)  # Django's "Not Found" warning carries it
    assert "request_id" not in records[-1]


def test_configured_secrets_are_redacted_wherever_they_appear(settings):
    settings.DISCORD_TOKEN = "discord-token-that-leaked-somewhere"
    with captured(JsonFormatter()) as as_json, captured(TextFormatter()) as as_text:
        logging.getLogger("x").error("oops %s", settings.DISCORD_TOKEN, extra={"url": f"x/{settings.DISCORD_TOKEN}"})
    for stream in (as_json, as_text):
        assert settings.DISCORD_TOKEN not in stream.getvalue() and REDACTED in stream.getvalue()


def test_text_lines_name_the_ids_of_their_context():
    with captured(TextFormatter()) as logs, log_context(job_id="j-1", guild_id=42):
        logging.getLogger("summaries").info("summary stored")
    assert logs.getvalue().rstrip().endswith("INFO summaries summary stored [job_id=j-1 guild_id=42]")


def test_log_format_json_makes_each_line_of_a_process_one_json_object():
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c",
         "import logging; logging.getLogger('summaries.x').warning('hello %s', 'there', extra={'job_id': 'j-9'})"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DJANGO_DEBUG": "true", "LOG_FORMAT": "json"},
    )
    assert out.returncode == 0, out.stderr
    [line] = [json.loads(line) for line in out.stderr.splitlines() if line.startswith("{")]
    assert line["message"] == "hello there" and line["job_id"] == "j-9" and line["level"] == "WARNING"
