from __future__ import annotations

import logging
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse

from summarybot.discord.errors import DiscordError
from summarybot.discord.oauth import user_token_revoke

from .session import identity_get, identity_remember

logger = logging.getLogger(__name__)


class NoPasswordSignupAdapter(DefaultAccountAdapter):
    """No sign-up with a password: guild admins come through Discord, operators through createsuperuser."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def post_login(self, request: HttpRequest, user: AbstractBaseUser, **kwargs: Any) -> HttpResponse:
        # After Django's login() (which empties the session when another user was logged in), so the token
        # kept is always the one of the user now logged in.
        sociallogin = (kwargs.get("signal_kwargs") or {}).get("sociallogin")
        if sociallogin is not None and sociallogin.account.provider == "discord" and sociallogin.token is not None:
            identity_remember(request, user_id=int(sociallogin.account.uid), access_token=sociallogin.token.token)
        return super().post_login(request, user, **kwargs)

    def logout(self, request: HttpRequest) -> None:
        # Logging out also ends the token at Discord: a copy of the session is then worth nothing there.
        identity = identity_get(request)
        if identity is not None:
            try:
                user_token_revoke(access_token=identity.access_token)
            except DiscordError as exc:
                logger.warning("Discord token not revoked at logout", extra={"code": exc.code, "status": exc.status})
        super().logout(request)


class DiscordLoginAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        return True
