"""The logged-in user's Discord access token, kept encrypted in their session (and nowhere else).

It lives as long as the session: logging out (or the session expiring) forgets it. The dashboard uses it
to ask Discord which servers the user may manage, with the scopes the user granted (identify, guilds).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest

from summarybot.crypto import DecryptionFailed, decrypt, encrypt

_KEY = "discord_oauth"


@dataclass(frozen=True, slots=True)
class DiscordIdentity:
    user_id: int
    access_token: str
    # The development login (settings.DASHBOARD_DEV_LOGIN): no Discord account, no token.
    dev: bool = False


def identity_remember(request: HttpRequest, *, user_id: int, access_token: str) -> None:
    request.session[_KEY] = {"user_id": str(user_id), "token": encrypt(access_token)}


def identity_remember_dev(request: HttpRequest) -> None:
    request.session[_KEY] = {"dev": True}


def identity_get(request: HttpRequest) -> DiscordIdentity | None:
    """The Discord user and token of this session, or None (not logged in with Discord)."""
    return identity_of_session(request.session)


def identity_of_session(session: SessionBase) -> DiscordIdentity | None:
    """The same, from the session alone: a websocket (Channels' scope["session"]) has no HttpRequest."""
    data = session.get(_KEY)
    if not isinstance(data, dict):
        return None
    if data.get("dev"):
        # Void as soon as the development login is off (an OAuth app configured, debug off, a public host).
        return DiscordIdentity(user_id=0, access_token="", dev=True) if settings.DASHBOARD_DEV_LOGIN else None
    try:
        return DiscordIdentity(user_id=int(data["user_id"]), access_token=decrypt(data["token"]))
    except (KeyError, TypeError, ValueError, DecryptionFailed):
        return None


def identity_forget(request: HttpRequest) -> None:
    request.session.pop(_KEY, None)
