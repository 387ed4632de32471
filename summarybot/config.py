"""Typed, validated reading of the environment.

Kept apart from settings.py so that it can be tested without reloading Django: each read names its
variable in the error, so a bad deployment fails with one line that says what to fix.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
from collections import ChainMap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

# Used only when DJANGO_DEBUG is on and every allowed host is local: they are in the source, so anyone can
# forge sessions or decrypt secrets made with them. Any other deployment refuses to start without real values.
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"
DEV_FIELD_ENCRYPTION_KEY = "ZGV2LW9ubHktZmllbGQtZW5jcnlwdGlvbi1rZXktMDA="
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]", "testserver"})

DEFAULT_PRICES = {
    # USD per million tokens (input, output); override with SUMMARY_PRICES. A model not listed costs
    # nothing (engine/costs.price_for), which is what the offline engine costs: it needs no row.
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-nano": (0.10, 0.40),
}


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Config:
    debug: bool
    secret_key: str
    allowed_hosts: list[str]
    csrf_trusted_origins: list[str]
    ssl_redirect: bool
    trust_x_forwarded_proto: bool
    trusted_proxy_count: int
    api_throttle_rate: str
    api_ip_throttle_rate: str
    inbound_throttle_rate: str
    database: dict[str, Any]
    redis_url: str
    q_broker: str
    q_workers: int
    q_timeout: int
    q_sync: bool
    field_encryption_keys: list[str]
    api_key_pepper: str
    discord_token: str
    discord_api_base_url: str
    discord_gateway_url: str
    discord_dev_guild_id: int | None
    discord_oauth_base_url: str
    discord_client_id: str
    discord_client_secret: str
    dashboard_permission_cache_seconds: int
    dashboard_dev_login: bool
    dashboard_live_progress: bool
    shard_count: int | None
    shard_ids: list[int] | None
    openai_api_key: str
    openai_base_url: str
    openai_timeout: float
    summary_provider: str
    summary_model: str
    summary_fallback_models: list[str]
    summary_context_tokens: int | None
    summary_map_concurrency: int
    summary_max_tokens_per_request: int
    summary_max_window_messages: int
    job_max_attempts: int
    job_start_deadline_seconds: int
    catchup_max_hours: int
    job_heartbeat_stale_seconds: int
    worker_start_grace_seconds: int
    delivery_requeue_seconds: int
    schedule_missed_grace_seconds: int
    qa_history_messages: int
    qa_user_rate_limit: int
    qa_user_rate_window_seconds: int
    qa_cache_seconds: int
    qa_max_prompt_tokens: int
    llm_rpm_limit: int
    llm_tpm_limit: int
    summary_prices: dict[str, tuple[float, float]]
    summary_batch_schedules: bool
    summary_batch_deadline_seconds: int
    log_level: str
    log_format: str
    metrics_token: str
    prometheus_multiproc_dir: str
    metrics_port: int | None
    metrics_bind: str
    outbound_allow_private_networks: bool
    audit_log_retention_days: int


# The variables that may hold a secret (credentials, or URLs carrying a password): each can instead be read
# from the file its `<NAME>_FILE` names (Docker and Kubernetes secrets), its surrounding whitespace stripped.
SECRET_VARIABLES = (
    "DJANGO_SECRET_KEY",
    "FIELD_ENCRYPTION_KEY",
    "API_KEY_PEPPER",
    "DATABASE_URL",
    "REDIS_URL",
    "DISCORD_TOKEN",
    "OPENAI_API_KEY",
    "METRICS_TOKEN",
)


def _with_secret_files(env: environ.Env) -> environ.Env:
    """`env`, with each `<NAME>_FILE` of SECRET_VARIABLES read into `<NAME>`.

    Setting both is refused (which one wins would be a guess), and so is a file that cannot be read or is
    empty: the error names the variable, never the file's content.
    """
    overrides: dict[str, str] = {}
    for name in SECRET_VARIABLES:
        path = env.str(f"{name}_FILE", default="").strip()
        if not path:
            continue
        if env.str(name, default=""):
            raise ConfigError(f"set {name} or {name}_FILE, not both")
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{name}_FILE could not be read: {type(exc).__name__}: {exc.strerror or exc}") from None
        if not value:
            raise ConfigError(f"{name}_FILE names an empty file ({path})")
        overrides[name] = value
    if not overrides:
        return env
    layered = environ.Env()
    layered.ENVIRON = ChainMap(overrides, env.ENVIRON)  # type: ignore[assignment]
    return layered


def _read(name: str, reader: Callable[[], Any]) -> Any:
    try:
        return reader()
    except ConfigError:
        raise
    except (ImproperlyConfigured, ValueError, TypeError) as exc:  # what django-environ raises on bad values
        raise ConfigError(f"{name} is malformed: {exc}") from None


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _bool(env: environ.Env, name: str, default: bool) -> bool:
    # Empty means the default, as the blank lines of .env.example promise.
    raw = env.str(name, default="").strip().lower() or str(default).lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _positive_int(env: environ.Env, name: str, default: int, *, minimum: int = 1, maximum: int | None = None) -> int:
    value = _read(name, lambda: env.int(name, default=default))
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {value}")
    return value


def _optional_int(env: environ.Env, name: str) -> int | None:
    raw = env.str(name, default="").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$")
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """`"120/min"` -> (120, 60): requests allowed per window, window seconds. ValueError if malformed."""
    match = RATE.match(rate)
    if match is None or int(match.group(1)) < 1:
        raise ValueError(f"a rate looks like 120/min (a count of at least 1 per s, min, h or day), got {rate!r}")
    return int(match.group(1)), PERIODS[match.group(2)[0]]


def _rate(env: environ.Env, name: str, default: str) -> str:
    value = env.str(name, default="").strip() or default
    try:
        parse_rate(value)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    return value


def _url(env: environ.Env, name: str, default: str, schemes: tuple[str, ...]) -> str:
    value = env.str(name, default=default).strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(f"{name} must be a {'/'.join(schemes)} URL, got {value!r}")
    return value


def _fernet_keys(raw: str, name: str) -> list[str]:
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if not keys:
        raise ConfigError(f"{name} is required when DJANGO_DEBUG is off")
    for key in keys:
        try:
            decoded = base64.urlsafe_b64decode(key.encode())
        except (binascii.Error, ValueError):
            decoded = b""
        if len(decoded) != 32:
            raise ConfigError(
                f"{name} must be comma-separated Fernet keys (32 url-safe base64 bytes each); "
                "make one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            )
    return keys


def _prices(raw: str) -> dict[str, tuple[float, float]]:
    prices = dict(DEFAULT_PRICES)
    for entry in filter(None, (e.strip() for e in raw.split(","))):
        try:
            model, pair = entry.split("=", 1)
            price_in, price_out = pair.split(":", 1)
            prices[model.strip()] = (float(price_in), float(price_out))
        except ValueError:
            raise ConfigError(
                f"SUMMARY_PRICES entries must look like model=input:output (USD per 1M tokens), got {entry!r}"
            ) from None
    return prices


def _database(env: environ.Env, base_dir: Path) -> dict[str, Any]:
    default = f"sqlite:///{base_dir / 'db.sqlite3'}"
    # Empty (the blank line of .env.example) means the default SQLite file.
    url = env.str("DATABASE_URL", default="").strip() or default
    db = _read("DATABASE_URL", lambda: environ.Env.db_url_config(url))
    engine = db.get("ENGINE", "")
    if engine not in ("django.db.backends.sqlite3", "django.db.backends.postgresql"):
        raise ConfigError("DATABASE_URL has an unsupported scheme (use sqlite:/// or postgres://)")
    if engine.endswith("sqlite3"):
        # WAL + IMMEDIATE let web, worker and bot share one SQLite file without "database is locked".
        db["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # A file (not :memory:) so worker subprocesses in tests can share it; one per test process so two
        # suites running side by side never flush each other's tables.
        db["TEST"] = {"NAME": str(base_dir / f"test-db-{os.getpid()}.sqlite3")}
    else:
        db["CONN_HEALTH_CHECKS"] = True
    # Processes keep their connections. On SQLite too: closing a WAL database's last connection checkpoints
    # and fsyncs it, and django-q2's ORM broker closes "old" connections on every enqueue, so with a
    # maximum age of 0 each summary request closed and reopened the file twice (a fivefold slower API).
    db["CONN_MAX_AGE"] = _positive_int(env, "DATABASE_CONN_MAX_AGE", 60, minimum=0)
    return db


def _multiproc_dir(env: environ.Env) -> str:
    """prometheus_client's own variable: every process writes its metrics there, /metrics adds them up."""
    value = env.str("PROMETHEUS_MULTIPROC_DIR", default="").strip()
    if value and not (os.path.isdir(value) and os.access(value, os.W_OK)):
        raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR must be an existing, writable directory, got {value!r}")
    return value


def _metrics_port(env: environ.Env) -> int | None:
    """The worker's and the bot's own /metrics listener (summarybot/metrics_server.py); unset: none."""
    port = _optional_int(env, "METRICS_PORT")
    if port is not None and not 1 <= port <= 65535:
        raise ConfigError(f"METRICS_PORT must be a TCP port (1-65535), got {port}")
    return port


def _metrics_bind(env: environ.Env) -> str:
    value = env.str("METRICS_BIND", default="127.0.0.1").strip() or "127.0.0.1"
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ConfigError(f"METRICS_BIND must be an IP address (127.0.0.1, 0.0.0.0, ::), got {value!r}") from None
    return value


def read_settings(env: environ.Env, *, base_dir: Path) -> Config:
    env = _with_secret_files(env)
    debug = _bool(env, "DJANGO_DEBUG", False)

    allowed_hosts = _read("DJANGO_ALLOWED_HOSTS", lambda: env.list("DJANGO_ALLOWED_HOSTS", default=[]))
    if not allowed_hosts:
        if not debug:
            raise ConfigError("DJANGO_ALLOWED_HOSTS is required when DJANGO_DEBUG is off")
        allowed_hosts = ["localhost", "127.0.0.1", "[::1]", "testserver"]
    # The in-source development secrets are allowed only where nobody else can reach the site.
    public_hosts = [host for host in allowed_hosts if host.lower() not in LOCAL_HOSTS]
    dev_secrets_allowed = debug and not public_hosts
    why_required = (
        "when DJANGO_DEBUG is off" if not debug
        else f"when DJANGO_ALLOWED_HOSTS names a non-local host ({', '.join(public_hosts)}), even with DJANGO_DEBUG on"
    )

    secret_key = env.str("DJANGO_SECRET_KEY", default="")
    if not dev_secrets_allowed and secret_key in ("", DEV_SECRET_KEY):
        raise ConfigError(f"DJANGO_SECRET_KEY is required (not the development key) {why_required}")
    if not secret_key:
        secret_key = DEV_SECRET_KEY
    elif not debug and (len(secret_key) < 50 or len(set(secret_key)) < 5):
        raise ConfigError("DJANGO_SECRET_KEY must be at least 50 random characters")

    raw_keys = env.str("FIELD_ENCRYPTION_KEY", default="")
    if not dev_secrets_allowed and DEV_FIELD_ENCRYPTION_KEY in (k.strip() for k in raw_keys.split(",")):
        raise ConfigError(f"FIELD_ENCRYPTION_KEY must not contain the development key {why_required}")
    if not raw_keys and dev_secrets_allowed:
        raw_keys = DEV_FIELD_ENCRYPTION_KEY
    if not raw_keys.strip():
        raise ConfigError(f"FIELD_ENCRYPTION_KEY is required {why_required}")
    field_keys = _fernet_keys(raw_keys, "FIELD_ENCRYPTION_KEY")

    redis_url = env.str("REDIS_URL", default="").strip()
    if redis_url and urlsplit(redis_url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"REDIS_URL must be a redis:// or rediss:// URL, got {redis_url!r}")
    # django-q2's queue: Redis when there is one (several machines' workers share it), else the database.
    q_broker = env.str("Q_BROKER", default="").strip().lower() or ("redis" if redis_url else "orm")
    if q_broker not in ("orm", "redis"):
        raise ConfigError(f"Q_BROKER must be orm or redis, got {q_broker!r}")
    if q_broker == "redis" and not redis_url:
        raise ConfigError("Q_BROKER=redis needs REDIS_URL")

    provider = env.str("SUMMARY_PROVIDER", default="auto").strip().lower()
    if provider not in ("auto", "openai", "local"):
        raise ConfigError(f"SUMMARY_PROVIDER must be auto, openai or local, got {provider!r}")

    shard_ids_raw = env.str("SHARD_IDS", default="").strip()
    try:
        shard_ids = [int(s) for s in shard_ids_raw.split(",") if s.strip()] or None
    except ValueError:
        raise ConfigError(f"SHARD_IDS must be comma-separated integers, got {shard_ids_raw!r}") from None
    shard_count = _optional_int(env, "SHARD_COUNT")
    if shard_ids and (shard_count is None or any(not 0 <= s < shard_count for s in shard_ids)):
        raise ConfigError("SHARD_IDS needs SHARD_COUNT, and every id must be below it")

    log_level = env.str("LOG_LEVEL", default="INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"LOG_LEVEL must be a logging level name, got {log_level!r}")

    # Text for a person at a terminal; JSON (one object a line) for a log collector.
    log_format = env.str("LOG_FORMAT", default="").strip().lower() or ("text" if debug else "json")
    if log_format not in ("text", "json"):
        raise ConfigError(f"LOG_FORMAT must be text or json, got {log_format!r}")

    q_timeout = _positive_int(env, "Q_TIMEOUT", 900, minimum=30)
    # A job waiting on a batch holds its worker, and django-q2 stops a task after Q_TIMEOUT: the deadline
    # leaves at least a quarter of it for the ordinary calls that follow a batch that did not finish.
    batch_deadline = _positive_int(env, "SUMMARY_BATCH_DEADLINE_SECONDS", q_timeout * 2 // 3)
    if batch_deadline > q_timeout * 3 // 4:
        raise ConfigError(
            f"SUMMARY_BATCH_DEADLINE_SECONDS ({batch_deadline}) must be at most three quarters of Q_TIMEOUT "
            f"({q_timeout}): raise Q_TIMEOUT to wait longer for batches"
        )

    # Dashboard login: both or neither (without them the dashboard says login is unavailable).
    client_id = env.str("DISCORD_CLIENT_ID", default="").strip()
    client_secret = env.str("DISCORD_CLIENT_SECRET", default="").strip()
    if bool(client_id) != bool(client_secret):
        raise ConfigError("DISCORD_CLIENT_ID and DISCORD_CLIENT_SECRET go together: set both (or neither)")

    return Config(
        debug=debug,
        secret_key=secret_key,
        allowed_hosts=allowed_hosts,
        csrf_trusted_origins=_read(
            "DJANGO_CSRF_TRUSTED_ORIGINS", lambda: env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
        ),
        ssl_redirect=_bool(env, "DJANGO_SECURE_SSL_REDIRECT", not debug),
        trust_x_forwarded_proto=_bool(env, "DJANGO_TRUST_X_FORWARDED_PROTO", False),
        trusted_proxy_count=_positive_int(env, "DJANGO_TRUSTED_PROXY_COUNT", 0, minimum=0),
        api_throttle_rate=_rate(env, "API_THROTTLE_RATE", "120/min"),
        api_ip_throttle_rate=_rate(env, "API_IP_THROTTLE_RATE", "600/min"),
        inbound_throttle_rate=_rate(env, "INBOUND_THROTTLE_RATE", "120/min"),
        database=_database(env, base_dir),
        redis_url=redis_url,
        q_broker=q_broker,
        q_workers=_positive_int(env, "Q_WORKERS", 2),
        q_timeout=q_timeout,
        q_sync=_bool(env, "Q_SYNC", False),
        outbound_allow_private_networks=_bool(env, "OUTBOUND_ALLOW_PRIVATE_NETWORKS", False),
        field_encryption_keys=field_keys,
        api_key_pepper=env.str("API_KEY_PEPPER", default="") or secret_key,
        discord_token=env.str("DISCORD_TOKEN", default="").strip(),
        discord_api_base_url=_url(env, "DISCORD_API_BASE_URL", "https://discord.com/api/v10", ("http", "https")),
        discord_gateway_url=_url(env, "DISCORD_GATEWAY_URL", "wss://gateway.discord.gg", ("ws", "wss")),
        discord_dev_guild_id=_optional_int(env, "DISCORD_DEV_GUILD_ID"),
        discord_oauth_base_url=_url(env, "DISCORD_OAUTH_BASE_URL", "https://discord.com", ("http", "https")),
        discord_client_id=client_id,
        discord_client_secret=client_secret,
        dashboard_permission_cache_seconds=_positive_int(
            env, "DASHBOARD_PERMISSION_CACHE_SECONDS", 180, minimum=0, maximum=3600
        ),
        # A login with no Discord, for `make run` on one's own machine: only in debug mode on local hosts
        # (where the in-source secrets are allowed too) and only while no OAuth app is configured.
        dashboard_dev_login=dev_secrets_allowed and not client_id,
        # Live job progress needs a channel layer the worker shares (Redis); without one the job page polls.
        dashboard_live_progress=_bool(env, "DASHBOARD_LIVE_PROGRESS", bool(redis_url)),
        shard_count=shard_count,
        shard_ids=shard_ids,
        openai_api_key=env.str("OPENAI_API_KEY", default="").strip(),
        openai_base_url=_url(env, "OPENAI_BASE_URL", "https://api.openai.com/v1", ("http", "https")),
        openai_timeout=_read("OPENAI_TIMEOUT_SECONDS", lambda: env.float("OPENAI_TIMEOUT_SECONDS", default=60.0)),
        summary_provider=provider,
        summary_model=env.str("SUMMARY_MODEL", default="gpt-4o-mini").strip(),
        summary_fallback_models=_read(
            "SUMMARY_FALLBACK_MODELS", lambda: env.list("SUMMARY_FALLBACK_MODELS", default=[])
        ),
        summary_context_tokens=_optional_int(env, "SUMMARY_CONTEXT_TOKENS"),
        summary_map_concurrency=_positive_int(env, "SUMMARY_MAP_CONCURRENCY", 4),
        summary_max_tokens_per_request=_positive_int(env, "SUMMARY_MAX_TOKENS_PER_REQUEST", 2_000_000),
        summary_max_window_messages=_positive_int(env, "SUMMARY_MAX_WINDOW_MESSAGES", 50_000),
        job_max_attempts=_positive_int(env, "JOB_MAX_ATTEMPTS", 3),
        # Under Discord's 15-minute interaction lifetime, so a member who waited is still told.
        job_start_deadline_seconds=_positive_int(env, "JOB_START_DEADLINE_SECONDS", 600, minimum=60),
        catchup_max_hours=_positive_int(env, "CATCHUP_MAX_HOURS", 72, maximum=168),
        job_heartbeat_stale_seconds=_positive_int(env, "JOB_HEARTBEAT_STALE_SECONDS", 120),
        worker_start_grace_seconds=_positive_int(env, "WORKER_START_GRACE_SECONDS", 60, minimum=0),
        # Under a minute's sweep interval a task waiting its turn in a short queue would be doubled for nothing.
        delivery_requeue_seconds=_positive_int(env, "DELIVERY_REQUEUE_SECONDS", 60, minimum=30, maximum=600),
        schedule_missed_grace_seconds=_positive_int(env, "SCHEDULE_MISSED_GRACE_SECONDS", 3600, minimum=0),
        qa_history_messages=_positive_int(env, "QA_HISTORY_MESSAGES", 150),
        qa_user_rate_limit=_positive_int(env, "QA_USER_RATE_LIMIT", 3),
        qa_user_rate_window_seconds=_positive_int(env, "QA_USER_RATE_WINDOW_SECONDS", 60),
        qa_cache_seconds=_positive_int(env, "QA_CACHE_SECONDS", 600, minimum=0),
        qa_max_prompt_tokens=_positive_int(env, "QA_MAX_PROMPT_TOKENS", 12_000, minimum=1000),
        llm_rpm_limit=_positive_int(env, "LLM_RPM_LIMIT", 500),
        llm_tpm_limit=_positive_int(env, "LLM_TPM_LIMIT", 2_000_000),
        summary_prices=_prices(env.str("SUMMARY_PRICES", default="")),
        summary_batch_schedules=_bool(env, "SUMMARY_BATCH_SCHEDULES", False),
        summary_batch_deadline_seconds=batch_deadline,
        log_level=log_level,
        log_format=log_format,
        metrics_token=env.str("METRICS_TOKEN", default="").strip(),
        prometheus_multiproc_dir=_multiproc_dir(env),
        # Longer than any guild's summary retention by default: who changed what outlives the conversations.
        audit_log_retention_days=_positive_int(env, "AUDIT_LOG_RETENTION_DAYS", 365, maximum=3650),
        metrics_port=_metrics_port(env),
        metrics_bind=_metrics_bind(env),
    )
