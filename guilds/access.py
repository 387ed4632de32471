"""Who may manage which server from the dashboard: asked of Discord with the user's own token.

A user may manage a server they own, or where their roles give Administrator or Manage Server. Discord's
answer is cached per user for DASHBOARD_PERMISSION_CACHE_SECONDS in the shared cache, then asked again,
so someone who loses Manage Server loses the dashboard pages of that server within that time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache

from guilds.models import Guild
from summarybot.discord.oauth import UserGuild, user_guilds_fetch
from summarybot.discord.permissions import INVITE_PERMISSIONS, MANAGE_SERVER_PERMISSIONS
from summarybot.discord_login.session import DiscordIdentity
from summarybot.errors import NotFound, PermissionDenied

logger = logging.getLogger(__name__)

# Whatever the server: a guild id the user is not in gets the same answer as one that does not exist.
NOT_YOURS = "No such server among yours."
NO_LONGER_MANAGER = "You need Manage Server (or Administrator) on this server to configure it."
BOT_ABSENT = "Summary Bot is not in this server; invite it from the server list first."


def _cache_key(user_id: int) -> str:
    return f"dashboard:user-guilds:{user_id}"


def user_guilds(*, identity: DiscordIdentity) -> list[UserGuild]:
    """The user's servers with their permissions, from the cache or (when it expired) from Discord.

    The development login owns every server in the database (settings.DASHBOARD_DEV_LOGIN says when).
    """
    if identity.dev:
        if not settings.DASHBOARD_DEV_LOGIN:
            raise PermissionDenied("The development login is off.")
        return [
            UserGuild(id=pk, name=name, icon="", owner=True, permissions=MANAGE_SERVER_PERMISSIONS)
            for pk, name in Guild.objects.order_by("name").values_list("pk", "name")
        ]
    user_id, access_token = identity.user_id, identity.access_token
    key = _cache_key(user_id)
    cached = cache.get(key)
    if cached is not None:
        return [UserGuild(*row) for row in cached]
    guilds = user_guilds_fetch(access_token=access_token)
    timeout = settings.DASHBOARD_PERMISSION_CACHE_SECONDS
    if timeout > 0:
        cache.set(key, [(g.id, g.name, g.icon, g.owner, g.permissions) for g in guilds], timeout)
    return guilds


def user_guilds_forget(*, user_id: int) -> None:
    """Ask Discord again on the next request (after logging in, or from the picker's refresh)."""
    cache.delete(_cache_key(user_id))


def invite_url(*, guild_id: int | None = None) -> str:
    """Discord's page that adds the bot to a server with exactly the permissions it needs."""
    params = {
        "client_id": settings.DISCORD_CLIENT_ID,
        "scope": "bot applications.commands",
        "permissions": str(INVITE_PERMISSIONS),
    }
    if guild_id is not None:
        params.update(guild_id=str(guild_id), disable_guild_select="true")
    return f"{settings.DISCORD_OAUTH_BASE_URL}/oauth2/authorize?{urlencode(params)}"


@dataclass(frozen=True, slots=True)
class PickerEntry:
    id: int
    name: str
    icon: str
    owner: bool
    bot_present: bool
    invite_url: str


def _present(identity: DiscordIdentity, guild_ids: list[int]) -> set[int]:
    """Which of these servers have pages: the bot's (the development login's: every one in the database)."""
    guilds = Guild.objects.filter(pk__in=guild_ids)
    if not identity.dev:
        guilds = guilds.filter(bot_present=True)
    return set(guilds.values_list("pk", flat=True))


def guild_picker(*, identity: DiscordIdentity) -> list[PickerEntry]:
    """The servers the user may manage, those with the bot first, each with an invite link if it is absent."""
    manageable = [g for g in user_guilds(identity=identity) if g.can_manage]
    present = _present(identity, [g.id for g in manageable])
    entries = [
        PickerEntry(
            id=g.id,
            name=g.name,
            icon=g.icon,
            owner=g.owner,
            bot_present=g.id in present,
            invite_url="" if g.id in present else invite_url(guild_id=g.id),
        )
        for g in manageable
    ]
    return sorted(entries, key=lambda e: (not e.bot_present, e.name.casefold()))


def managed_guild_get(*, identity: DiscordIdentity, guild_id: int) -> Guild:
    """The guild, when the user may manage it now and the bot is in it.

    NotFound when the user is not in that server (or it does not exist: the same answer), or the bot is
    absent; PermissionDenied when the user is in it without Manage Server.
    """
    entry = next((g for g in user_guilds(identity=identity) if g.id == guild_id), None)
    if entry is None:
        raise NotFound(NOT_YOURS)
    if not entry.can_manage:
        logger.info("dashboard access refused", extra={"guild_id": guild_id, "user_id": identity.user_id})
        raise PermissionDenied(NO_LONGER_MANAGER)
    if guild_id not in _present(identity, [guild_id]):
        raise NotFound(BOT_ABSENT)
    return Guild.objects.get(pk=guild_id)
