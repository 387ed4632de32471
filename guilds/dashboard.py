"""The one way a dashboard page gets its guild (healthchecks' `_get_check_for_user`).

`guild_page` wraps every per-server view: it needs a Discord login, asks guilds.access whether the user
may manage that server now, and answers 404 for a server that is not theirs (whether or not it exists),
403 for one they are in without Manage Server, a fresh login when Discord no longer takes their token,
and 503 when Discord cannot be asked (never a guess in the user's favour). What the view changes is
audit-logged as that Discord user's doing.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from guilds.access import managed_guild_get
from guilds.audit import Actor, audit_actor
from guilds.models import ActorKind, Guild
from summarybot.discord.errors import DiscordAuthFailed, DiscordError
from summarybot.discord_login.session import DiscordIdentity, identity_get
from summarybot.errors import NotFound, PermissionDenied

logger = logging.getLogger(__name__)

GuildView = Callable[..., HttpResponse]


def discord_identity(request: HttpRequest) -> DiscordIdentity | None:
    """The Discord login of this request (None: anonymous, or logged in without Discord, as an operator)."""
    if not request.user.is_authenticated:
        return None
    return identity_get(request)


def login_again(request: HttpRequest) -> HttpResponse:
    """End the session and send the user through Discord's login, back to where they were."""
    logout(request)
    return redirect_to_login(request.get_full_path())


def discord_unavailable(request: HttpRequest, exc: DiscordError) -> HttpResponse:
    logger.warning("dashboard could not ask Discord", extra={"code": exc.code, "status": exc.status})
    return render(request, "dashboard/discord_unavailable.html", status=503)


def dashboard_actor(request: HttpRequest, identity: DiscordIdentity) -> Actor:
    """Who the audit log names for a dashboard change: their Discord id and the account's username then."""
    return Actor(kind=ActorKind.DASHBOARD, id=str(identity.user_id), name=request.user.get_username())


def guild_page(view: GuildView) -> GuildView:
    """Decorate `view(request, guild, ...)`; the URL gives `guild_id`."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, guild_id: int, *args: Any, **kwargs: Any) -> HttpResponse:
        identity = discord_identity(request)
        if identity is None:
            # Anonymous, or an operator logged in to the admin: Discord's login, without ending their session.
            return redirect_to_login(request.get_full_path())
        try:
            guild: Guild = managed_guild_get(identity=identity, guild_id=guild_id)
        except DiscordAuthFailed:
            return login_again(request)
        except DiscordError as exc:
            return discord_unavailable(request, exc)
        except NotFound as exc:
            raise Http404(exc.message) from None
        except PermissionDenied as exc:
            return render(request, "dashboard/forbidden.html", {"message": exc.message}, status=403)
        request.discord_identity = identity  # type: ignore[attr-defined]
        with audit_actor(dashboard_actor(request, identity)):
            return view(request, guild, *args, **kwargs)

    return wrapper
