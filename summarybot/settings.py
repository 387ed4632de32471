"""Settings for Summary Bot NG, read from the environment (and `.env` when present).

Every variable is documented in `.env.example`. With DJANGO_DEBUG off, secrets have no default:
a missing or malformed one stops start-up with one line naming the variable.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from summarybot.config import ConfigError, read_settings

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = BASE_DIR / ".env"
if _env_file.exists():
    environ.Env.read_env(_env_file, overwrite=False)

try:
    _cfg = read_settings(env, base_dir=BASE_DIR)
except ConfigError as exc:  # one clear line instead of a traceback through settings
    raise ImproperlyConfigured(str(exc)) from None

DEBUG: bool = _cfg.debug
SECRET_KEY: str = _cfg.secret_key
ALLOWED_HOSTS: list[str] = _cfg.allowed_hosts
CSRF_TRUSTED_ORIGINS: list[str] = _cfg.csrf_trusted_origins

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI and ReDoc served from our static files, not a CDN (SPECTACULAR_SETTINGS below).
    "drf_spectacular_sidecar",
    "channels",
    # Before django_q: its `qcluster` (django-q2's plus the metrics listener, METRICS_PORT) is the one that runs.
    "summarybot.worker",
    "django_q",
    # Dashboard login with Discord (summarybot/discord_login: allauth's Discord provider on our endpoints).
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.discord",
    # request.htmx for the dashboard's partial updates (htmx itself is vendored under static/dashboard/vendor).
    "django_htmx",
    "guilds",
    "summaries",
    "webhooks",
    "botrunner",
    # Project-wide management commands (rotate_encryption_keys); no models.
    "summarybot",
]

MIDDLEWARE = [
    # First, so that every log line of the request, the other middleware's included, carries its id.
    "summarybot.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After authentication: what a staff user changes in the admin is audit-logged as theirs.
    "summarybot.middleware.AdminAuditActorMiddleware",
]

ROOT_URLCONF = "summarybot.urls"
WSGI_APPLICATION = "summarybot.wsgi.application"
ASGI_APPLICATION = "summarybot.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
DATABASES = {"default": _cfg.database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Channels: Redis when REDIS_URL is set, in-process otherwise -----------------------
# The database cache's table is created by a migration (summaries 0004), whatever backend is chosen at
# migrate time, so `migrate` is the whole database setup and switching away from Redis later just works.
DATABASE_CACHE_TABLE = "summarybot_cache"
if _cfg.redis_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cfg.redis_url,
            "KEY_PREFIX": "summarybot",
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # channels_redis waits for messages with a 5 s BZPOPMIN; redis-py 8 made 5 s the default socket
            # timeout too, so an idle websocket's read timed out and the socket was dropped (channels_redis
            # #422). Above that wait, and still bounded: a Redis that hangs drops the sockets, the pages poll.
            "CONFIG": {"hosts": [{"address": _cfg.redis_url, "socket_timeout": 15}]},
        }
    }
else:
    # The database cache is shared by web, worker and bot on one machine (locmem would not be).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": DATABASE_CACHE_TABLE,
            # The default of 300 entries would let cached chunk summaries evict the shared rate-limit
            # counters and breaker state.
            "OPTIONS": {"MAX_ENTRIES": 200_000, "CULL_FREQUENCY": 4},
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- django-q2 ----------------------------------------------------------------------------------
# `retry` must exceed `timeout`, else a long job is handed to a second worker while the first runs.
Q_CLUSTER = {
    "name": "summarybot",
    "workers": _cfg.q_workers,
    "timeout": _cfg.q_timeout,
    "retry": _cfg.q_timeout + 60,
    "max_attempts": 3,
    "ack_failures": True,
    "catch_up": False,
    "sync": _cfg.q_sync,
    "poll": 0.5,
    "save_limit": 1000,
}
if _cfg.q_broker == "redis":
    # A task taken off Redis and lost with its worker is not redelivered: the job's claim and the sweeper
    # (summaries.services.jobs.jobs_sweep_stalled) hand it on instead.
    Q_CLUSTER["redis"] = _cfg.redis_url
else:
    # The ORM broker whose enqueue does not close the caller's connection (summarybot/queue.py). Only with
    # the ORM broker: django-q2 prefers broker_class over every other broker setting.
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["broker_class"] = "summarybot.queue.OrmBroker"

# --- Auth, i18n, static --------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",  # operators in the Django admin
    "allauth.account.auth_backends.AuthenticationBackend",  # guild admins, through Discord
]
LOGIN_URL = "dashboard-login"
LOGIN_REDIRECT_URL = "dashboard-home"
ACCOUNT_LOGOUT_REDIRECT_URL = "dashboard-login"
# Nobody signs up with a password: guild admins log in with Discord, operators are made with createsuperuser.
ACCOUNT_ADAPTER = "summarybot.discord_login.adapters.NoPasswordSignupAdapter"
SOCIALACCOUNT_ADAPTER = "summarybot.discord_login.adapters.DiscordLoginAdapter"
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*", "password2*"]
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_QUERY_EMAIL = False
# The user's Discord token is kept encrypted in their session only (summarybot/discord_login), never in a table.
SOCIALACCOUNT_STORE_TOKENS = False
DISCORD_CLIENT_ID: str = _cfg.discord_client_id
DISCORD_CLIENT_SECRET: str = _cfg.discord_client_secret
DISCORD_OAUTH_BASE_URL: str = _cfg.discord_oauth_base_url
SOCIALACCOUNT_PROVIDERS = {
    "discord": {
        # Our subclass reads the authorize/token/API URLs from DISCORD_OAUTH_BASE_URL / DISCORD_API_BASE_URL.
        "provider_class": "summarybot.discord_login.provider.DiscordLoginProvider",
        "SCOPE": ["identify", "guilds"],
        "OAUTH_PKCE_ENABLED": True,
        # No app without credentials: the dashboard then shows that login is unavailable (it still boots).
        "APPS": (
            [{"client_id": DISCORD_CLIENT_ID, "secret": DISCORD_CLIENT_SECRET, "key": ""}] if DISCORD_CLIENT_ID else []
        ),
    }
}
# How long a user's "may manage this server" answer from Discord is trusted before it is asked again.
DASHBOARD_PERMISSION_CACHE_SECONDS: int = _cfg.dashboard_permission_cache_seconds
# The development login (no Discord; every server in the database is yours): DJANGO_DEBUG on, local hosts
# only, no DISCORD_CLIENT_ID. Never anywhere else.
DASHBOARD_DEV_LOGIN: bool = _cfg.dashboard_dev_login
# The job page follows a job over a websocket (the worker publishes through the Redis channel layer) or,
# when off (no Redis, or a proxy that blocks websockets), by polling every 2 s.
DASHBOARD_LIVE_PROGRESS: bool = _cfg.dashboard_live_progress

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security (production) ------------------------------------------------------------------------
# Trusting X-Forwarded-Proto lets any client that reaches the app directly claim https; only a proxy that
# always sets (and overwrites) the header makes it true, so it is opt-in.
if _cfg.trust_x_forwarded_proto:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = _cfg.ssl_redirect
# Preload asks browsers to hard-code https for the domain and its subdomains; the preload list accepts
# only a max-age of a year or more with includeSubDomains, so the three go together.
SECURE_HSTS_SECONDS = 0 if DEBUG else 60 * 60 * 24 * 365
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# /health is polled over plain HTTP by load balancers and the container HEALTHCHECK.
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$", r"^metrics$"]

# --- REST framework ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # The one way in: an API key (summarybot.api_auth); each API view derives from summarybot.api.ApiView.
    "DEFAULT_AUTHENTICATION_CLASSES": ["summarybot.api_auth.ApiKeyAuthentication"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "summarybot.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # `?format=markdown` is the summary's own parameter, not DRF's renderer switch.
    "URL_FORMAT_OVERRIDE": None,
    "NUM_PROXIES": _cfg.trusted_proxy_count,
}
# Requests per API key, and per client address whatever key it sends (or none), counted in the shared
# cache in fixed windows; over either: 429 with Retry-After. The inbound webhook endpoint counts per
# address and per guild (its verified events) at INBOUND_THROTTLE_RATE.
API_THROTTLE_RATE: str = _cfg.api_throttle_rate
API_IP_THROTTLE_RATE: str = _cfg.api_ip_throttle_rate
INBOUND_THROTTLE_RATE: str = _cfg.inbound_throttle_rate
# The client address is the socket peer, unless this many proxies in front of the app each append the
# address they saw to X-Forwarded-For (0: the header is ignored). summarybot/throttles.py reads it; DRF
# gets the same count, so nothing of DRF's trusts more of the header than this.
TRUSTED_PROXY_COUNT: int = _cfg.trusted_proxy_count
# Larger request bodies are refused with 413 before they are parsed.
API_MAX_BODY_BYTES = 1024 * 1024
SPECTACULAR_SETTINGS = {
    "TITLE": "Summary Bot NG API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page loads its scripts from our static files: no third-party CDN, no unpinned @latest.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The outbound webhook payload as a component (webhooks/openapi.py says why not a `webhooks` section).
    "ENUM_NAME_OVERRIDES": {
        # The summaries' status keeps the name it had before deliveries brought a second "status".
        "StatusEnum": "summaries.selectors.API_STATUSES",
        "DeliveryStatusEnum": "webhooks.serializers.API_DELIVERY_STATUSES",
        "DeliveryEventEnum": "webhooks.models.DeliveryEvent.choices",
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "webhooks.openapi.add_webhook_event"],
}

# --- Secrets at rest ----------------------------------------------------------------------------------
# Comma-separated Fernet keys; the first encrypts, all decrypt (rotation: prepend a new key).
FIELD_ENCRYPTION_KEYS: list[str] = _cfg.field_encryption_keys
API_KEY_PEPPER: str = _cfg.api_key_pepper

# --- Outbound deliveries (webhooks/http.py) ---------------------------------------------------------------
# true lifts the SSRF guard (private/loopback receivers, plain http): development and tests only.
OUTBOUND_ALLOW_PRIVATE_NETWORKS: bool = _cfg.outbound_allow_private_networks

# --- Discord -------------------------------------------------------------------------------------------
DISCORD_TOKEN: str = _cfg.discord_token
DISCORD_API_BASE_URL: str = _cfg.discord_api_base_url
DISCORD_GATEWAY_URL: str = _cfg.discord_gateway_url
DISCORD_DEV_GUILD_ID: int | None = _cfg.discord_dev_guild_id
SHARD_COUNT: int | None = _cfg.shard_count
SHARD_IDS: list[int] | None = _cfg.shard_ids

# --- LLM ---------------------------------------------------------------------------------------------
OPENAI_API_KEY: str = _cfg.openai_api_key
OPENAI_BASE_URL: str = _cfg.openai_base_url
OPENAI_TIMEOUT_SECONDS: float = _cfg.openai_timeout
SUMMARY_PROVIDER: str = _cfg.summary_provider
SUMMARY_MODEL: str = _cfg.summary_model
SUMMARY_FALLBACK_MODELS: list[str] = _cfg.summary_fallback_models
SUMMARY_CONTEXT_TOKENS: int | None = _cfg.summary_context_tokens
SUMMARY_MAP_CONCURRENCY: int = _cfg.summary_map_concurrency
SUMMARY_MAX_TOKENS_PER_REQUEST: int = _cfg.summary_max_tokens_per_request
SUMMARY_MAX_WINDOW_MESSAGES: int = _cfg.summary_max_window_messages
JOB_MAX_ATTEMPTS: int = _cfg.job_max_attempts
# A queued job no worker has started within this many seconds is failed, and its requester told.
JOB_START_DEADLINE_SECONDS: int = _cfg.job_start_deadline_seconds
# How far back /catchup reaches at most, when the member has not written or caught up for longer.
CATCHUP_MAX_HOURS: int = _cfg.catchup_max_hours
# A running job whose worker wrote no heartbeat for this long is presumed dead and handed to another worker;
# a live worker beats every quarter of it, through every long step (login, fetch, LLM calls, delivery).
JOB_HEARTBEAT_STALE_SECONDS: int = _cfg.job_heartbeat_stale_seconds
# A worker whose database, cache or queue is unreachable at start waits (backing off) this long before it
# takes jobs anyway, which then fail with a reason the member sees instead of hanging.
WORKER_START_GRACE_SECONDS: int = _cfg.worker_start_grace_seconds
# A queued delivery whose task no worker took within this many seconds, while the queue holds fewer tasks
# than are waiting, is presumed lost with a worker and queued again (webhooks.services.deliveries).
DELIVERY_REQUEUE_SECONDS: int = _cfg.delivery_requeue_seconds
# A schedule slot missed while no worker ran (downtime) still runs, once, if it is at most this old;
# older missed slots are skipped for the next one.
SCHEDULE_MISSED_GRACE_SECONDS: int = _cfg.schedule_missed_grace_seconds
# A schedule is paused (and its guild told) after this many failed runs in a row.
SCHEDULE_MAX_CONSECUTIVE_FAILURES = 3
# A scheduled run carries its earlier runs' unresolved action items and open questions ("Still open"):
# those raised within this many days, at most this many (the most recent).
SCHEDULE_OPEN_ITEMS_DAYS = 30
SCHEDULE_OPEN_ITEMS_MAX = 15
# Mention Q&A: how far back an answer looks, how often a member may ask, how long answers are reused.
QA_HISTORY_MESSAGES: int = _cfg.qa_history_messages
QA_USER_RATE_LIMIT: int = _cfg.qa_user_rate_limit
QA_USER_RATE_WINDOW_SECONDS: int = _cfg.qa_user_rate_window_seconds
QA_CACHE_SECONDS: int = _cfg.qa_cache_seconds
QA_MAX_PROMPT_TOKENS: int = _cfg.qa_max_prompt_tokens
LLM_RPM_LIMIT: int = _cfg.llm_rpm_limit
LLM_TPM_LIMIT: int = _cfg.llm_tpm_limit
# USD per million tokens: (input, output). Override with SUMMARY_PRICES="model=in:out,...".
SUMMARY_PRICES: dict[str, tuple[float, float]] = _cfg.summary_prices
# Scheduled digests through OpenAI's Batch API (half the price); past the deadline (seconds from the job's
# start, under Q_TIMEOUT) the batch is cancelled and the job makes ordinary calls.
SUMMARY_BATCH_SCHEDULES: bool = _cfg.summary_batch_schedules
SUMMARY_BATCH_DEADLINE_SECONDS: int = _cfg.summary_batch_deadline_seconds

# --- Metrics (summarybot/metrics.py) -------------------------------------------------------------------
# /metrics needs `Authorization: Bearer <METRICS_TOKEN>` when set; without it, only loopback clients get in.
METRICS_TOKEN: str = _cfg.metrics_token
# prometheus_client's own variable: set (to one directory that web, worker and bot share, emptied before they
# start), every process writes its counters there and /metrics adds them up.
PROMETHEUS_MULTIPROC_DIR: str = _cfg.prometheus_multiproc_dir
if not PROMETHEUS_MULTIPROC_DIR:
    # prometheus_client goes multiprocess when the variable merely exists: an empty one (a blank .env line) must not.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
# The worker (qcluster) and the bot (runbot) serve their own counters on this port (summarybot/metrics_server.py),
# for containers, where they share no directory with web. Unset: no listener. Same METRICS_TOKEN rule.
METRICS_PORT: int | None = _cfg.metrics_port
METRICS_BIND: str = _cfg.metrics_bind

# --- Logging: one dict; never log message content, tokens or keys ---------------------------------------
# LOG_FORMAT=text (the default in development) or json (the default otherwise): one object a line, with the
# request, job and guild ids (summarybot/logs.py).
LOG_FORMAT: str = _cfg.log_format
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "summarybot.logs.ContextFilter"}},
    "formatters": {
        "text": {"()": "summarybot.logs.TextFormatter"},
        "json": {"()": "summarybot.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]},
    },
    "root": {"handlers": ["console"], "level": _cfg.log_level},
    "loggers": {
        "django": {"level": "INFO"},
        # discord.py's INFO lines (login, shard connects) would break a command's one-line error;
        # the bot logs its own ready and shard events.
        "discord": {"level": "WARNING"},
        # At DEBUG these log request bodies and webhook URLs, which carry interaction tokens.
        "discord.http": {"level": "INFO"},
        "discord.webhook": {"level": "INFO"},
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        "openai": {"level": "WARNING"},
    },
}

# Audit log entries (who changed what, guilds/audit.py) are deleted by the daily retention task after this
# many days, whatever a guild's own retention_days.
AUDIT_LOG_RETENTION_DAYS: int = _cfg.audit_log_retention_days
