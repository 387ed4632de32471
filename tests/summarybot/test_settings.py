"""Settings come from the environment; bad production values stop start-up naming the variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import environ
import pytest
from cryptography.fernet import Fernet

from summarybot.config import DEV_FIELD_ENCRYPTION_KEY, DEV_SECRET_KEY, ConfigError, read_settings

ROOT = Path(__file__).resolve().parents[2]
GOOD_SECRET = "k3y-" + "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ" * 2

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": GOOD_SECRET,
    "DJANGO_ALLOWED_HOSTS": "summarybot.example.com",
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "DATABASE_URL": "postgres://summarybot:pw@db.internal:5432/summarybot",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch):
    for name in list(os.environ):
        if name.startswith(("DJANGO_", "FIELD_", "DATABASE_", "REDIS_", "DISCORD_", "OPENAI_", "SUMMARY_", "SHARD_", "LLM_", "Q_", "API_", "INBOUND_", "DASHBOARD_")):
            monkeypatch.delenv(name)
    return monkeypatch


def read(clean_env: pytest.MonkeyPatch, **values: str):
    for name, value in values.items():
        clean_env.setenv(name, value)
    return read_settings(environ.Env(), base_dir=ROOT)


def test_production_settings_are_read_and_typed(clean_env):
    cfg = read(clean_env, **PRODUCTION, REDIS_URL="redis://127.0.0.1:6379/0", SHARD_COUNT="4", SHARD_IDS="0,1")
    assert cfg.debug is False
    assert cfg.allowed_hosts == ["summarybot.example.com"]
    assert cfg.database["ENGINE"] == "django.db.backends.postgresql"
    assert cfg.database["CONN_HEALTH_CHECKS"] is True
    assert cfg.shard_ids == [0, 1]
    assert cfg.redis_url.startswith("redis://")


def test_throttles_default_to_the_socket_peer_and_take_rates_from_the_environment(clean_env):
    defaults = read(clean_env, **PRODUCTION)
    assert defaults.trusted_proxy_count == 0
    assert (defaults.api_throttle_rate, defaults.api_ip_throttle_rate, defaults.inbound_throttle_rate) == (
        "120/min", "600/min", "120/min"
    )
    cfg = read(
        clean_env, **PRODUCTION, DJANGO_TRUSTED_PROXY_COUNT="1", API_THROTTLE_RATE="10/s",
        API_IP_THROTTLE_RATE="1000/hour", INBOUND_THROTTLE_RATE="30/m",
    )
    assert (cfg.trusted_proxy_count, cfg.api_throttle_rate, cfg.api_ip_throttle_rate, cfg.inbound_throttle_rate) == (
        1, "10/s", "1000/hour", "30/m"
    )


def test_debug_has_safe_dev_defaults_on_sqlite(clean_env):
    cfg = read(clean_env, DJANGO_DEBUG="true")
    assert cfg.database["ENGINE"] == "django.db.backends.sqlite3"
    assert cfg.database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert cfg.database["CONN_MAX_AGE"] == 60  # a closed WAL file is checkpointed: reopening costs an fsync
    assert cfg.field_encryption_keys and cfg.secret_key


@pytest.mark.parametrize(
    ("override", "variable"),
    [
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "short"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_ALLOWED_HOSTS": ""}, "DJANGO_ALLOWED_HOSTS"),
        ({"FIELD_ENCRYPTION_KEY": ""}, "FIELD_ENCRYPTION_KEY"),
        ({"FIELD_ENCRYPTION_KEY": "not-a-fernet-key"}, "FIELD_ENCRYPTION_KEY"),
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG"),
        ({"DATABASE_URL": "mongodb://x/y"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://cache"}, "REDIS_URL"),
        ({"DISCORD_API_BASE_URL": "discord.com/api"}, "DISCORD_API_BASE_URL"),
        ({"OPENAI_BASE_URL": "ftp://x"}, "OPENAI_BASE_URL"),
        ({"SUMMARY_PROVIDER": "claude"}, "SUMMARY_PROVIDER"),
        ({"SUMMARY_MAP_CONCURRENCY": "0"}, "SUMMARY_MAP_CONCURRENCY"),
        ({"SUMMARY_MAP_CONCURRENCY": "lots"}, "SUMMARY_MAP_CONCURRENCY"),
        ({"SUMMARY_PRICES": "gpt-4o=cheap"}, "SUMMARY_PRICES"),
        ({"SHARD_IDS": "0,5", "SHARD_COUNT": "2"}, "SHARD_IDS"),
        ({"SHARD_COUNT": "two"}, "SHARD_COUNT"),
        ({"DJANGO_TRUSTED_PROXY_COUNT": "-1"}, "DJANGO_TRUSTED_PROXY_COUNT"),
        ({"DJANGO_TRUSTED_PROXY_COUNT": "yes"}, "DJANGO_TRUSTED_PROXY_COUNT"),
        ({"API_THROTTLE_RATE": "lots"}, "API_THROTTLE_RATE"),
        ({"API_IP_THROTTLE_RATE": "0/min"}, "API_IP_THROTTLE_RATE"),
        ({"INBOUND_THROTTLE_RATE": "10/fortnight"}, "INBOUND_THROTTLE_RATE"),
    ],
)
def test_bad_production_values_name_the_variable(clean_env, override, variable):
    with pytest.raises(ConfigError) as excinfo:
        read(clean_env, **{**PRODUCTION, **override})
    assert variable in str(excinfo.value)


@pytest.mark.parametrize("hosts", ["summarybot.example.com", "localhost,summarybot.example.com", "*"])
@pytest.mark.parametrize(
    ("given", "variable"),
    [
        ({"FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode()}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": DEV_SECRET_KEY, "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode()}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": GOOD_SECRET}, "FIELD_ENCRYPTION_KEY"),
        ({"DJANGO_SECRET_KEY": GOOD_SECRET, "FIELD_ENCRYPTION_KEY": DEV_FIELD_ENCRYPTION_KEY}, "FIELD_ENCRYPTION_KEY"),
    ],
)
def test_debug_refuses_the_in_source_secrets_for_a_non_local_host(clean_env, hosts, given, variable):
    with pytest.raises(ConfigError) as excinfo:
        read(clean_env, DJANGO_DEBUG="true", DJANGO_ALLOWED_HOSTS=hosts, **given)
    assert str(excinfo.value).startswith(variable)
    assert "non-local host" in str(excinfo.value)


def test_debug_with_real_secrets_may_serve_a_non_local_host(clean_env):
    key = Fernet.generate_key().decode()
    cfg = read(
        clean_env, DJANGO_DEBUG="true", DJANGO_ALLOWED_HOSTS="dev.example.com",
        DJANGO_SECRET_KEY=GOOD_SECRET, FIELD_ENCRYPTION_KEY=key,
    )
    assert cfg.secret_key == GOOD_SECRET and cfg.field_encryption_keys == [key]


def test_debug_on_local_hosts_keeps_the_dev_defaults(clean_env):
    cfg = read(clean_env, DJANGO_DEBUG="true", DJANGO_ALLOWED_HOSTS="localhost,127.0.0.1,::1,[::1],testserver")
    assert cfg.secret_key == DEV_SECRET_KEY
    assert cfg.field_encryption_keys == [DEV_FIELD_ENCRYPTION_KEY]


def test_debug_with_a_public_host_stops_startup_naming_the_variable():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FIELD_"))}
    env.update(DJANGO_DEBUG="true", DJANGO_ALLOWED_HOSTS="summarybot.example.com")
    proc = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    last_line = proc.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY is required")


def test_env_example_as_is_refuses_to_start(clean_env):
    """Copying .env.example to a server must not start a debug site on the in-source secrets."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    values = dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    assert values["DJANGO_DEBUG"] == "false"
    with pytest.raises(ConfigError) as excinfo:
        read(clean_env, **values)
    assert "is required" in str(excinfo.value)
    # Filled in, it is a clean production configuration (blank lines take their defaults).
    key = Fernet.generate_key().decode()
    cfg = read(clean_env, **{**values, "DJANGO_ALLOWED_HOSTS": "summarybot.example.com",
                             "DJANGO_SECRET_KEY": GOOD_SECRET, "FIELD_ENCRYPTION_KEY": key})
    assert cfg.debug is False and cfg.ssl_redirect is True


def test_bad_setting_stops_startup_with_one_clear_line():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(PRODUCTION, FIELD_ENCRYPTION_KEY="oops")
    proc = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    last_line = proc.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: FIELD_ENCRYPTION_KEY")


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(PRODUCTION, DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}")
    proc = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout


def production_settings(tmp_path: Path, *names: str, **extra: str) -> dict:
    """The named settings as a fresh production process sees them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(PRODUCTION, DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}", **extra)
    code = f"import json; from django.conf import settings as s; print(json.dumps({{n: getattr(s, n, None) for n in {list(names)!r}}}))"
    proc = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_proxy_header_is_trusted_only_when_asked(tmp_path):
    assert production_settings(tmp_path, "SECURE_PROXY_SSL_HEADER") == {"SECURE_PROXY_SSL_HEADER": None}
    opted_in = production_settings(tmp_path, "SECURE_PROXY_SSL_HEADER", DJANGO_TRUST_X_FORWARDED_PROTO="true")
    assert opted_in == {"SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"]}


def test_hsts_preload_comes_with_a_preloadable_max_age(tmp_path):
    hsts = production_settings(tmp_path, "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD")
    if hsts["SECURE_HSTS_PRELOAD"]:
        assert hsts["SECURE_HSTS_SECONDS"] >= 31536000
        assert hsts["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True


def test_api_docs_assets_are_served_locally(tmp_path):
    cfg = production_settings(tmp_path, "SPECTACULAR_SETTINGS", "INSTALLED_APPS")
    spectacular = cfg["SPECTACULAR_SETTINGS"]
    assert spectacular["SWAGGER_UI_DIST"] == "SIDECAR"
    assert spectacular["SWAGGER_UI_FAVICON_HREF"] == "SIDECAR"
    assert spectacular["REDOC_DIST"] == "SIDECAR"
    assert "drf_spectacular_sidecar" in cfg["INSTALLED_APPS"]


def test_check_deploy_is_clean_behind_a_trusted_proxy(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(PRODUCTION, DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}", DJANGO_TRUST_X_FORWARDED_PROTO="true")
    proc = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout


def test_batch_deadline_defaults_to_two_thirds_of_the_task_timeout(clean_env):
    cfg = read(clean_env, DJANGO_DEBUG="true", Q_TIMEOUT="3600")
    assert (cfg.summary_batch_schedules, cfg.summary_batch_deadline_seconds) == (False, 2400)
    cfg = read(clean_env, DJANGO_DEBUG="true", SUMMARY_BATCH_SCHEDULES="true", SUMMARY_BATCH_DEADLINE_SECONDS="300")
    assert (cfg.summary_batch_schedules, cfg.summary_batch_deadline_seconds) == (True, 300)


def test_a_batch_deadline_the_worker_would_not_outlive_is_refused(clean_env):
    # django-q2 stops a task after Q_TIMEOUT: the job must have time left for ordinary calls after its deadline.
    with pytest.raises(ConfigError) as excinfo:
        read(clean_env, DJANGO_DEBUG="true", Q_TIMEOUT="900", SUMMARY_BATCH_DEADLINE_SECONDS="900")
    assert str(excinfo.value).startswith("SUMMARY_BATCH_DEADLINE_SECONDS") and "Q_TIMEOUT" in str(excinfo.value)


def test_production_boots_without_a_discord_oauth_app_and_reads_one_when_given(clean_env):
    cfg = read(clean_env, **PRODUCTION)
    assert (cfg.discord_client_id, cfg.discord_client_secret) == ("", "")
    assert cfg.discord_oauth_base_url == "https://discord.com"
    assert cfg.dashboard_permission_cache_seconds == 180
    cfg = read(
        clean_env, DISCORD_CLIENT_ID="1234", DISCORD_CLIENT_SECRET="s3cret", DISCORD_OAUTH_BASE_URL="https://proxy.example/"
    )
    assert (cfg.discord_client_id, cfg.discord_client_secret, cfg.discord_oauth_base_url) == (
        "1234", "s3cret", "https://proxy.example",
    )


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"DISCORD_CLIENT_ID": "1234"}, "DISCORD_CLIENT_SECRET"),
        ({"DISCORD_CLIENT_SECRET": "s3cret"}, "DISCORD_CLIENT_ID"),
        ({"DISCORD_OAUTH_BASE_URL": "ftp://discord"}, "DISCORD_OAUTH_BASE_URL"),
        ({"DASHBOARD_PERMISSION_CACHE_SECONDS": "86400"}, "DASHBOARD_PERMISSION_CACHE_SECONDS"),
    ],
)
def test_bad_dashboard_login_settings_name_the_variable(clean_env, values, variable):
    with pytest.raises(ConfigError, match=variable):
        read(clean_env, **PRODUCTION, **values)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"DJANGO_DEBUG": "true"}, True),
        ({"DJANGO_DEBUG": "true", "DISCORD_CLIENT_ID": "1", "DISCORD_CLIENT_SECRET": "s"}, False),
        ({"DJANGO_DEBUG": "false", "DJANGO_ALLOWED_HOSTS": "localhost", "DJANGO_SECRET_KEY": GOOD_SECRET,
          "FIELD_ENCRYPTION_KEY": "ZGV2LW9ubHktZmllbGQtZW5jcnlwdGlvbi1rZXktMDE="}, False),
        ({"DJANGO_DEBUG": "true", "DJANGO_ALLOWED_HOSTS": "bot.example.com", "DJANGO_SECRET_KEY": GOOD_SECRET,
          "FIELD_ENCRYPTION_KEY": "ZGV2LW9ubHktZmllbGQtZW5jcnlwdGlvbi1rZXktMDE="}, False),
    ],
)
def test_the_development_login_exists_only_on_a_local_debug_site_without_an_oauth_app(
    clean_env, values: dict[str, str], expected: bool
) -> None:
    assert read(clean_env, **values).dashboard_dev_login is expected


@pytest.mark.parametrize(
    ("values", "broker"),
    [
        ({}, "orm"),
        ({"REDIS_URL": "redis://cache.internal:6379/0"}, "redis"),
        ({"REDIS_URL": "redis://cache.internal:6379/0", "Q_BROKER": "orm"}, "orm"),
        ({"REDIS_URL": "redis://cache.internal:6379/0", "Q_BROKER": "Redis"}, "redis"),
    ],
)
def test_the_task_queue_is_redis_when_there_is_one_unless_told_otherwise(clean_env, values, broker):
    assert read(clean_env, **PRODUCTION, **values).q_broker == broker


@pytest.mark.parametrize("values", [{"Q_BROKER": "redis"}, {"Q_BROKER": "sqs", "REDIS_URL": "redis://r:6379/0"}])
def test_a_task_queue_that_cannot_work_stops_startup_naming_the_variable(clean_env, values):
    with pytest.raises(ConfigError, match="Q_BROKER"):
        read(clean_env, **PRODUCTION, **values)


def test_django_q2_is_given_the_broker_chosen(tmp_path):
    [redis_cluster] = production_settings(
        tmp_path, "Q_CLUSTER", REDIS_URL="redis://cache.internal:6379/3", Q_BROKER=""  # the suite sets orm
    ).values()
    assert redis_cluster["redis"] == "redis://cache.internal:6379/3"
    assert "broker_class" not in redis_cluster and "orm" not in redis_cluster
    [orm_cluster] = production_settings(
        tmp_path, "Q_CLUSTER", REDIS_URL="redis://cache.internal:6379/3", Q_BROKER="orm"
    ).values()
    assert orm_cluster["broker_class"] == "summarybot.queue.OrmBroker" and "redis" not in orm_cluster


def test_metrics_listener_and_delivery_requeue_settings_are_typed_and_bounded(clean_env):
    for name in ("METRICS_PORT", "METRICS_BIND", "DELIVERY_REQUEUE_SECONDS"):
        clean_env.delenv(name, raising=False)
    defaults = read(clean_env, **PRODUCTION)
    assert (defaults.metrics_port, defaults.metrics_bind, defaults.delivery_requeue_seconds) == (None, "127.0.0.1", 60)
    cfg = read(clean_env, **PRODUCTION, METRICS_PORT="9100", METRICS_BIND="0.0.0.0", DELIVERY_REQUEUE_SECONDS="90")
    assert (cfg.metrics_port, cfg.metrics_bind, cfg.delivery_requeue_seconds) == (9100, "0.0.0.0", 90)
    for name, bad in (("METRICS_PORT", "70000"), ("METRICS_BIND", "everywhere"), ("DELIVERY_REQUEUE_SECONDS", "5")):
        with pytest.raises(ConfigError, match=name):
            read(clean_env, **PRODUCTION, **{name: bad})
        clean_env.delenv(name)
