from __future__ import annotations

from typing import Any

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.discord.views import DiscordOAuth2Adapter
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from django.conf import settings


class ConfiguredDiscordAdapter(DiscordOAuth2Adapter):
    """Discord's OAuth2 endpoints, read from settings at each request (tests change them per test)."""

    @property  # type: ignore[override]
    def authorize_url(self) -> str:
        return f"{settings.DISCORD_OAUTH_BASE_URL}/oauth2/authorize"

    @property  # type: ignore[override]
    def access_token_url(self) -> str:
        return f"{settings.DISCORD_API_BASE_URL}/oauth2/token"

    @property  # type: ignore[override]
    def profile_url(self) -> str:
        return f"{settings.DISCORD_API_BASE_URL}/users/@me"

    def complete_login(self, request: Any, app: Any, token: Any, **kwargs: Any) -> Any:
        # As allauth's, but a refused token is an error page (RequestException), not a KeyError on "id".
        with get_adapter().get_requests_session() as session:
            resp = session.get(self.profile_url, headers={"Authorization": f"Bearer {token.token}"}, timeout=10)
            resp.raise_for_status()
            profile = resp.json()
        return self.get_provider().sociallogin_from_response(request, profile)


oauth2_login = OAuth2LoginView.adapter_view(ConfiguredDiscordAdapter)
oauth2_callback = OAuth2CallbackView.adapter_view(ConfiguredDiscordAdapter)
