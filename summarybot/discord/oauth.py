"""Discord's API as a logged-in dashboard user sees it (their OAuth2 bearer token, scopes identify + guilds).

Sync, one short call per use: the dashboard's views run it in their request thread. The bot's own REST
client (session.py) is discord.py's and speaks with the bot token; this one never does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx2
from django.conf import settings

from .errors import DiscordAuthFailed, DiscordError, DiscordRateLimited, DiscordUnavailable
from .permissions import MANAGE_SERVER_PERMISSIONS

TIMEOUT = httpx2.Timeout(10.0, connect=5.0)
# A user is in at most 200 servers (with Nitro): one page of the largest size holds them all.
_PAGE = 200


@dataclass(frozen=True, slots=True)
class UserGuild:
    """A server the user is in, with the user's permissions there (roles only, no channel overwrites)."""

    id: int
    name: str
    icon: str
    owner: bool
    permissions: int

    @property
    def can_manage(self) -> bool:
        return self.owner or bool(self.permissions & MANAGE_SERVER_PERMISSIONS)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UserGuild:
        return cls(
            id=int(data["id"]),
            name=str(data.get("name") or ""),
            icon=str(data.get("icon") or ""),
            owner=bool(data.get("owner")),
            permissions=int(data.get("permissions") or 0),
        )


def user_guilds_fetch(*, access_token: str) -> list[UserGuild]:
    """GET /users/@me/guilds with the user's token; DiscordAuthFailed when the token is no longer valid."""
    url = f"{settings.DISCORD_API_BASE_URL}/users/@me/guilds"
    try:
        with httpx2.Client(timeout=TIMEOUT, trust_env=False) as client:
            resp = client.get(url, params={"limit": _PAGE}, headers={"Authorization": f"Bearer {access_token}"})
    except httpx2.HTTPError as exc:
        raise DiscordUnavailable(f"Discord could not be reached: {type(exc).__name__}") from None
    if resp.status_code == 401:
        raise DiscordAuthFailed("Discord no longer accepts this login; log in again", status=401)
    if resp.status_code == 429:
        retry_after = _float(resp.headers.get("Retry-After"))
        raise DiscordRateLimited("Discord asks us to slow down", retry_after=retry_after, status=429)
    if resp.status_code >= 500:
        raise DiscordUnavailable(f"Discord answered {resp.status_code}", status=resp.status_code)
    if resp.status_code != 200:
        raise DiscordError(f"Discord answered {resp.status_code}", status=resp.status_code, permanent=True)
    try:
        return [UserGuild.from_json(item) for item in resp.json()]
    except (ValueError, TypeError, KeyError) as exc:
        raise DiscordError(f"Discord sent an unreadable server list: {type(exc).__name__}") from None


def user_token_revoke(*, access_token: str) -> None:
    """Tell Discord to forget the user's token (at logout), as the OAuth2 client it was issued to."""
    url = f"{settings.DISCORD_API_BASE_URL}/oauth2/token/revoke"
    try:
        with httpx2.Client(timeout=TIMEOUT, trust_env=False) as client:
            resp = client.post(
                url,
                data={"token": access_token, "token_type_hint": "access_token"},
                auth=(settings.DISCORD_CLIENT_ID, settings.DISCORD_CLIENT_SECRET),
            )
    except httpx2.HTTPError as exc:
        raise DiscordUnavailable(f"Discord could not be reached: {type(exc).__name__}") from None
    if resp.status_code != 200:
        raise DiscordError(f"Discord answered {resp.status_code} to the token revocation", status=resp.status_code)


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
