"""Answering deferred interactions against the fake Discord: edits and follow-ups until the token expires."""

from __future__ import annotations

import aiohttp
import pytest

from summarybot.discord.client import DiscordRest
from summarybot.discord.errors import DiscordInteractionExpired
from tests.fakes.discord import FakeDiscord


async def _defer(fake: FakeDiscord, payload: dict) -> None:
    """What the gateway bot does within 3 s: acknowledge with a deferred ("thinking") response."""
    url = f"{fake.api_base}/interactions/{payload['id']}/{payload['token']}/callback?with_response=1"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"type": 5, "data": {"flags": 64}}) as response:
            assert response.status == 200


async def test_followup_and_edit_until_the_token_expires(world):
    fake, _, channel, alice, _ = world
    payload = fake.slash_command_payload(channel=channel, user=alice, name="summarize", options={"hours": 4})
    await _defer(fake, payload)
    app_id, token = fake.application.id, payload["token"]

    async with DiscordRest() as rest:
        original = await rest.interactions.edit_original_response(app_id, token, content="Working… 40%")
        followup = await rest.interactions.interaction_followup(
            app_id, token, embeds=[{"title": "Summary"}], file=("s.md", b"text"), ephemeral=True
        )
        fake.expire_interaction(payload)
        with pytest.raises(DiscordInteractionExpired) as caught:
            await rest.interactions.interaction_followup(app_id, token, content="too late")
        with pytest.raises(DiscordInteractionExpired):
            await rest.interactions.edit_original_response(app_id, token, content="too late")

    assert caught.value.permanent
    sent = fake.interaction_messages(payload)
    assert [m.id for m in sent] == [original, followup]
    assert sent[0].content == "Working… 40%" and not sent[0].flags & (1 << 7)  # no longer "thinking"
    assert sent[1].flags & (1 << 6) and sent[1].attachments[0].filename == "s.md"
    assert fake.channel_messages(channel) == []  # ephemeral messages never enter the channel's history
