"""Settings for bench_api.py: the project's, plus a bare view to compare with, and throttle rates the load
stays under (it would otherwise be answered 429); the throttles still count every request."""

from summarybot.settings import *  # noqa: F403

# DJANGO_DEBUG=true only lends the development secrets; the server runs as in production (no query log).
DEBUG = False

ROOT_URLCONF = "_bench_api_urls"
API_THROTTLE_RATE = "10000000/min"
API_IP_THROTTLE_RATE = "10000000/min"
