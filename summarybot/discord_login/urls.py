from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from .provider import DiscordLoginProvider

urlpatterns = default_urlpatterns(DiscordLoginProvider)
