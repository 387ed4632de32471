"""Every secret can come from a file (`<NAME>_FILE`: Docker and Kubernetes secrets); LOG_FORMAT and METRICS_TOKEN."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from summarybot.config import SECRET_VARIABLES, ConfigError
from tests.summarybot import test_settings
from tests.summarybot.test_settings import GOOD_SECRET, PRODUCTION, ROOT, read


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    clean_env = test_settings.clean_env.__wrapped__(monkeypatch)  # type: ignore[attr-defined]
    for name in list(os.environ):
        if name.startswith(("METRICS_", "LOG_", "PROMETHEUS_")) or name.endswith("_FILE"):
            clean_env.delenv(name)
    return clean_env


def test_each_secret_is_read_from_the_file_its_FILE_variable_names_without_the_trailing_newline(env, tmp_path):  # noqa: N802
    values = {
        "DJANGO_SECRET_KEY": GOOD_SECRET + "-from-file",
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "API_KEY_PEPPER": "pepper-from-a-file-0123456789",
        "DATABASE_URL": "postgres://summarybot:pw-from-file@db.internal:5432/summarybot",
        "REDIS_URL": "redis://:pw-from-file@redis.internal:6379/0",
        "DISCORD_TOKEN": "discord-token-from-file",
        "OPENAI_API_KEY": "sk-from-file",
        "METRICS_TOKEN": "metrics-token-from-file",
    }
    assert set(values) == set(SECRET_VARIABLES)
    files = {}
    for name, secret in values.items():
        path = tmp_path / name.lower()
        path.write_text(secret + "\n")  # as `echo secret > file` writes it
        files[f"{name}_FILE"] = str(path)
    base = {k: v for k, v in PRODUCTION.items() if k not in values}

    cfg = read(env, **base, **files)

    assert cfg.secret_key == values["DJANGO_SECRET_KEY"]
    assert cfg.field_encryption_keys == [values["FIELD_ENCRYPTION_KEY"]]
    assert cfg.api_key_pepper == values["API_KEY_PEPPER"]
    assert cfg.database["PASSWORD"] == "pw-from-file" and cfg.database["HOST"] == "db.internal"
    assert cfg.redis_url == values["REDIS_URL"]
    assert cfg.discord_token == values["DISCORD_TOKEN"]
    assert cfg.openai_api_key == values["OPENAI_API_KEY"]
    assert cfg.metrics_token == values["METRICS_TOKEN"]


def test_a_secret_set_both_directly_and_as_a_file_is_refused_naming_it(env, tmp_path):
    path = tmp_path / "token"
    path.write_text("from-file")
    with pytest.raises(ConfigError, match="set DISCORD_TOKEN or DISCORD_TOKEN_FILE, not both"):
        read(env, **PRODUCTION, DISCORD_TOKEN="direct", DISCORD_TOKEN_FILE=str(path))


def test_a_missing_or_empty_secret_file_is_one_line_naming_the_variable_not_the_content(env, tmp_path):
    with pytest.raises(ConfigError, match=r"^OPENAI_API_KEY_FILE could not be read: FileNotFoundError"):
        read(env, **PRODUCTION, OPENAI_API_KEY_FILE=str(tmp_path / "missing"))
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY_FILE names an empty file"):
        read(env, **PRODUCTION, OPENAI_API_KEY_FILE=str(empty))


def test_a_required_secret_given_only_as_a_file_satisfies_production(env, tmp_path):
    key = tmp_path / "secret_key"
    key.write_text(GOOD_SECRET)
    base = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECRET_KEY"}
    assert read(env, **base, DJANGO_SECRET_KEY_FILE=str(key)).secret_key == GOOD_SECRET


def test_the_started_process_reads_its_secret_files(env, tmp_path):
    token = tmp_path / "discord_token"
    token.write_text("token-read-by-manage-py\n")
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c",
         "from django.conf import settings; print(settings.DISCORD_TOKEN)"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DJANGO_DEBUG": "true", "DISCORD_TOKEN_FILE": str(token)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "token-read-by-manage-py"


def test_log_format_is_text_in_development_json_otherwise_and_nothing_else(env):
    assert read(env, **PRODUCTION).log_format == "json"
    assert read(env, DJANGO_DEBUG="true").log_format == "text"
    assert read(env, **PRODUCTION, LOG_FORMAT="TEXT").log_format == "text"
    with pytest.raises(ConfigError, match="LOG_FORMAT must be text or json"):
        read(env, **PRODUCTION, LOG_FORMAT="xml")


def test_the_metrics_directory_must_exist(env, tmp_path):
    assert read(env, **PRODUCTION, PROMETHEUS_MULTIPROC_DIR=str(tmp_path)).prometheus_multiproc_dir == str(tmp_path)
    with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR must be an existing, writable directory"):
        read(env, **PRODUCTION, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "nope"))
