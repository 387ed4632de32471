from __future__ import annotations

from allauth.socialaccount.providers.discord.provider import DiscordProvider

from .views import ConfiguredDiscordAdapter


class DiscordLoginProvider(DiscordProvider):
    """allauth's Discord provider (scopes, PKCE from SOCIALACCOUNT_PROVIDERS) with configurable endpoints."""

    oauth2_adapter_class = ConfiguredDiscordAdapter

    def get_default_scope(self) -> list[str]:
        return ["identify", "guilds"]


provider_classes = [DiscordLoginProvider]
