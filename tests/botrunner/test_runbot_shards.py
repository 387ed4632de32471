"""Two `manage.py runbot` processes share the bot (SHARD_COUNT=2, SHARD_IDS=0 and 1) against the fake
gateway, which routes each guild's events to the shard (guild_id >> 22) % 2 as Discord does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from guilds.models import Guild as GuildRow
from tests.fakes.discord import FakeDiscord
from tests.processes import database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def start_shard(fake: FakeDiscord, shard_id: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "summarybot.settings",
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": database_url(),
        "DISCORD_TOKEN": fake.bot_token,
        "DISCORD_API_BASE_URL": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "SHARD_COUNT": "2",
        "SHARD_IDS": str(shard_id),
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "runbot"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def wait_until(check, *, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.1)


def test_two_shard_processes_each_handle_their_own_guilds_and_commands_work_in_both(fake_discord: FakeDiscord):
    fake = fake_discord
    guilds = []
    while len({(g.id >> 22) % 2 for g in guilds}) < 2 or len(guilds) < 4:
        guilds.append(fake.add_guild(f"Guild {len(guilds)}"))
        time.sleep(0.003)  # snowflakes minted in different milliseconds land in different shards

    processes = [start_shard(fake, 0), start_shard(fake, 1)]
    errors: list[str] = []
    try:
        fake.wait_for_sessions(2, timeout=30)
        assert sorted(s.shard for s in fake.live_sessions()) == [(0, 2), (1, 2)]
        # Both processes mirror the guilds their shard was given; together, all of them.
        wait_until(lambda: set(GuildRow.objects.filter(bot_present=True).values_list("pk", flat=True)) == {g.id for g in guilds})

        asked = []
        for guild in guilds:
            channel = fake.add_channel(guild, "general")
            payload = fake.slash_command_payload(channel=channel, user=guild.owner_id, name="usage")
            assert fake.dispatch("INTERACTION_CREATE", payload) == 1  # one session holds the guild's shard
            asked.append((guild, payload))
        for guild, payload in asked:
            fake.wait_for_request(
                lambda r, p=payload: r.method == "POST" and r.path.startswith(f"/interactions/{p['id']}/"), timeout=15
            )
            answer = fake.wait_for_request(  # the deferred reply, edited into the answer
                lambda r, p=payload: r.method == "PATCH" and p["token"] in r.path and bool((r.json or {}).get("embeds")),
                timeout=15,
            )
            assert answer.json["embeds"][0]["title"].startswith("Usage since"), (guild.id, answer.json)
        time.sleep(0.5)
        # Exactly one process answered each guild's command: one callback per interaction, never two.
        for _, payload in asked:
            assert len(fake.requests_matching("POST", f"^/interactions/{payload['id']}/")) == 1
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                errors.append(process.communicate(timeout=15)[1])
            except subprocess.TimeoutExpired:
                process.kill()
                errors.append(process.communicate()[1])
    assert [p.returncode for p in processes] == [0, 0], [e[-1500:] for e in errors]
