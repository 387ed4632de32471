"""`manage.py runbot` as an operator runs it: a real process, against the fake Discord."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakes.discord import FakeDiscord

ROOT = Path(__file__).resolve().parents[2]
_LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO) ")


def _env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "true",
        # Its own database file: the bot under test must never share the developer's or the test run's.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(overrides)
    return env


def _start_runbot(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """The bot in the background, as an operator starts it."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "runbot", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _runbot(env: dict[str, str], *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "runbot", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_without_a_token_it_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    done = _runbot(_env(tmp_path, DISCORD_TOKEN=""))
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "DISCORD_TOKEN is not set" in lines[0]


def test_a_rejected_token_exits_non_zero_with_one_line(tmp_path: Path, fake_discord: FakeDiscord) -> None:
    env = _env(
        tmp_path,
        DISCORD_TOKEN="not-the-token",
        DISCORD_API_BASE_URL=fake_discord.api_base,
        DISCORD_GATEWAY_URL=fake_discord.gateway_url,
    )
    done = _runbot(env)
    assert done.returncode != 0
    # One line of our own; LOGGING keeps discord.py's INFO records (its "logging in" line) on purpose.
    lines = [line for line in done.stderr.strip().splitlines() if not _LOG_RECORD.match(line)]
    assert len(lines) == 1, done.stderr
    assert "login failed" in lines[0]
    assert "Traceback" not in done.stderr
    assert "not-the-token" not in done.stderr  # a token never reaches the logs


def test_sync_on_request_then_sigterm_closes_cleanly(tmp_path: Path, fake_discord: FakeDiscord) -> None:
    env = _env(
        tmp_path,
        DISCORD_TOKEN=fake_discord.bot_token,
        DISCORD_API_BASE_URL=fake_discord.api_base,
        DISCORD_GATEWAY_URL=fake_discord.gateway_url,
    )
    process = _start_runbot(env, "--sync-commands")
    try:
        fake_discord.wait_for_sessions(1, timeout=20)
        synced = fake_discord.wait_for_request(lambda r: r.route == "PUT /applications/{app_id}/commands", timeout=10)
        names = {command["name"] for command in synced.json}
        assert {
            "summarize",
            "Summarize from here",
            "summary-config",
            "usage",
            "summary-optout",
            "summary-optin",
        } <= names
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert fake_discord.command_syncs[0][0] is None  # global, because asked for; once
    assert len(fake_discord.command_syncs) == 1
    assert not [s for s in fake_discord.live_sessions() if s.connection is not None and not s.connection.ws.closed]


def test_without_sync_commands_nothing_is_registered(tmp_path: Path, fake_discord: FakeDiscord) -> None:
    env = _env(
        tmp_path,
        DISCORD_TOKEN=fake_discord.bot_token,
        DISCORD_API_BASE_URL=fake_discord.api_base,
        DISCORD_GATEWAY_URL=fake_discord.gateway_url,
    )
    process = _start_runbot(env)
    try:
        fake_discord.wait_for_sessions(1, timeout=20)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert fake_discord.command_syncs == []


def test_a_dev_guild_gets_the_commands_instead_of_a_global_sync(tmp_path: Path, fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild("Dev Guild")
    env = _env(
        tmp_path,
        DISCORD_TOKEN=fake_discord.bot_token,
        DISCORD_API_BASE_URL=fake_discord.api_base,
        DISCORD_GATEWAY_URL=fake_discord.gateway_url,
        DISCORD_DEV_GUILD_ID=str(guild.id),
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    process = _start_runbot(env)
    try:
        fake_discord.wait_for_request(
            lambda r: r.route == "PUT /applications/{app_id}/guilds/{guild_id}/commands", timeout=20
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0, process.stderr.read()  # type: ignore[union-attr]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert [scope for scope, _ in fake_discord.command_syncs] == [guild.id]


@pytest.mark.django_db(transaction=True)
async def test_shard_settings_run_this_process_shards_only(discord_settings: FakeDiscord, settings) -> None:  # type: ignore[no-untyped-def]
    from botrunner.bot import ShardedSummaryBot
    from guilds.models import Guild as GuildRow
    from tests.botrunner.bot_support import db, eventually, populate, start_bot, stop_bot

    # This process runs shard 1 of 2 (another process would run SHARD_IDS=0).
    settings.SHARD_COUNT = 2
    settings.SHARD_IDS = [1]
    guilds = []
    for _ in range(6):
        guilds.append(populate(discord_settings)[0])
        await asyncio.sleep(0.003)  # the shard is (guild id >> 22) % count: ids minted in different milliseconds
    ours = {g.id for g in guilds if (g.id >> 22) % 2 == 1}
    assert ours and len(ours) < len(guilds)
    bot, task = await start_bot(discord_settings)
    try:
        assert isinstance(bot, ShardedSummaryBot)
        assert list(bot.shards) == [1]
        assert [s.shard for s in discord_settings.live_sessions()] == [(1, 2)]
        await eventually(
            lambda: db(lambda: set(GuildRow.objects.filter(bot_present=True).values_list("pk", flat=True)) == ours)()
        )
    finally:
        await stop_bot(bot, task)
