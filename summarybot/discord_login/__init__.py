"""Dashboard login with Discord: allauth's Discord provider pointed at our configured endpoints.

allauth's own adapter has Discord's URLs built in; this subclass reads them from settings
(DISCORD_OAUTH_BASE_URL for the browser's authorize page, DISCORD_API_BASE_URL for the token exchange
and the user lookups) so that a proxy, or the tests' fake Discord, can stand in. The provider keeps
allauth's id "discord", so its URLs stay /accounts/discord/login/ and /accounts/discord/login/callback/.
"""
