"""The Discord session against the fake Discord: login, rate limits and retries (seen through history reads)."""

from __future__ import annotations

import pytest

from summarybot.discord.client import DiscordRest
from summarybot.discord.errors import DiscordAuthFailed
from tests.fakes.discord import RateLimitPolicy
from tests.summarybot.discord_support import HISTORY


async def test_wrong_token_is_an_auth_failure(world, settings):
    settings.DISCORD_TOKEN = "not-the-token"
    with pytest.raises(DiscordAuthFailed) as caught:
        async with DiscordRest():
            pass
    assert caught.value.permanent


async def test_a_429_in_the_middle_of_a_fetch_is_waited_out(world):
    fake, _, channel, *_ = world
    fake.add_messages(channel, 350)
    fake.fail_next("GET", HISTORY, status=429, retry_after=0.3, skip=2)

    async with DiscordRest() as rest:
        messages = await rest.history.fetch_history(channel.id)

    assert len(messages) == 350
    calls = fake.requests_matching("GET", HISTORY)
    assert [c.status for c in calls] == [200, 200, 429, 200, 200]
    assert calls[3].time - calls[2].time >= 0.3


async def test_a_502_is_retried(world):
    fake, _, channel, *_ = world
    fake.add_messages(channel, 150)
    fake.fail_next("GET", HISTORY, status=502, skip=1)

    async with DiscordRest() as rest:
        messages = await rest.history.fetch_history(channel.id)

    assert len(messages) == 150
    assert [c.status for c in fake.requests_matching("GET", HISTORY)] == [200, 502, 200]


async def test_rate_limit_headers_make_the_client_wait_instead_of_hitting_429(world):
    fake, _, channel, *_ = world
    fake.add_messages(channel, 1000)
    fake.rate_limit = RateLimitPolicy(limit=4, window=0.2)

    async with DiscordRest() as rest:
        messages = await rest.history.fetch_history(channel.id)

    calls = fake.requests_matching("GET", HISTORY)
    assert len(messages) == 1000 and len(calls) == 10
    assert all(c.status == 200 for c in calls)  # discord.py paused on Remaining: 0 each time
    assert calls[-1].time - calls[0].time >= 0.4
