"""Settings for bench_api.py: the project's, plus a bare view to compare with, and no per-key throttle
(the load would otherwise be answered 429)."""

from summarybot.settings import *  # noqa: F403

ROOT_URLCONF = "_bench_api_urls"
API_THROTTLE_RATE = "10000000/min"
