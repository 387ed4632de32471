"""Settings for bench_dashboard.py: the project's, as in production (DEBUG off, no development login, hashed
static files collected by WhiteNoise), over plain HTTP on 127.0.0.1 where production has a TLS proxy."""

import os

from _bench_production_settings import *  # noqa: F403

ALLOWED_HOSTS = ["127.0.0.1"]
STATIC_ROOT = os.environ["BENCH_STATIC_ROOT"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
