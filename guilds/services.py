"""Guild and channel configuration."""

from __future__ import annotations

import logging

from django.db import transaction

from guilds.models import Channel, ChannelKind, Guild

logger = logging.getLogger(__name__)

DEMO_GUILD_ID = 100000000000000001
DEMO_CHANNEL_ID = 100000000000000002


@transaction.atomic
def demo_guild_seed() -> Guild:
    guild, _ = Guild.objects.get_or_create(
        pk=DEMO_GUILD_ID, defaults={"name": "Demo Server", "bot_present": False}
    )
    Channel.objects.get_or_create(
        pk=DEMO_CHANNEL_ID, defaults={"guild": guild, "name": "general", "kind": ChannelKind.TEXT}
    )
    return guild
