from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.http import HttpRequest

from .session import identity_remember


class NoPasswordSignupAdapter(DefaultAccountAdapter):
    """No sign-up with a password: guild admins come through Discord, operators through createsuperuser."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False


class DiscordLoginAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        return True

    def pre_social_login(self, request: HttpRequest, sociallogin: Any) -> None:
        # Before Django's login() cycles the session key (which keeps its data): the token goes with it.
        identity_remember(request, user_id=int(sociallogin.account.uid), access_token=sociallogin.token.token)
