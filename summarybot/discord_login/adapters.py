from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse

from .session import identity_remember


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


class DiscordLoginAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        return True
