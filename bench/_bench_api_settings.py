"""Settings for bench_api.py: the project's, plus a bare view to compare with, and throttle rates the load
stays under (it would otherwise be answered 429); the throttles still count every request."""

from _bench_production_settings import *  # noqa: F403

ROOT_URLCONF = "_bench_api_urls"
API_THROTTLE_RATE = "10000000/min"
API_IP_THROTTLE_RATE = "10000000/min"
