"""The worker (`manage.py qcluster`) and the bot (`manage.py runbot`) serve their own /metrics on METRICS_PORT:
real processes against the fake Discord and the fake OpenAI server, scraped over a socket, token required."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from summaries.models import JobStatus
from summaries.window import SummaryWindow
from tests.fakes.discord import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI
from tests.processes import ROOT, worker_env
from tests.summaries.test_worker_process import slash_command_asked, slash_job, unused_port
from tests.summarybot.test_metrics import samples, value

TOKEN = "metrics-port-secret-0123456789"


@contextmanager
def running(command: str, env: dict[str, str], *args: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "manage.py", command, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def process_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """A process of its own database file and no multiprocess directory (the bot is one process)."""
    env = {
        **os.environ,
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'process.sqlite3'}",
        "LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": "",
        **overrides,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def get(port: int, token: str | None = None, path: str = "/metrics") -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            errors = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"the process ended ({process.returncode}) before {what}: {errors[-3000:]}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def listening(port: int) -> bool:
    try:
        get(port)
    except OSError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_worker_serves_its_forked_workers_job_metrics_on_its_own_port(discord_settings, tmp_path: Path):
    fake: FakeDiscord = discord_settings
    guild, alice, channel, payload = slash_command_asked(fake, messages=40)
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    port = unused_port()

    with FakeOpenAI() as llm:
        job = slash_job(payload, guild, channel, alice, window=SummaryWindow.count(40))
        env = worker_env(
            fake,
            llm,
            METRICS_PORT=str(port),
            METRICS_BIND="127.0.0.1",
            METRICS_TOKEN=TOKEN,
            PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        )
        with running("qcluster", env) as cluster:
            wait_for(lambda: listening(port), cluster, "the metrics listener")

            def finished() -> bool:
                job.refresh_from_db()
                return job.is_finished

            wait_for(finished, cluster, "the job")
            assert job.status == JobStatus.DONE, (job.error_code, job.error_message)
            refused, _ = get(port)
            wrong, _ = get(port, token="not-the-token")
            status, text = get(port, token=TOKEN)
            missing, _ = get(port, token=TOKEN, path="/")

    assert (refused, wrong, status, missing) == (401, 401, 200, 404)
    found = samples(text)
    # Counted in a forked worker process, served by the cluster's first process.
    assert value(found, "summary_requests_total", type="slash_command", status="done") == 1
    assert value(found, "summary_processing_seconds_count", type="slash_command") == 1
    assert value(found, "llm_tokens_total", kind="prompt") > 0
    assert value(found, "llm_calls_total") >= 1
    assert value(found, "discord_api_requests_total", method="GET", route="/channels/{id}/messages", status="200") >= 1
    # The shared database's states are web's, not repeated per worker pod.
    assert not any(name == "job_queue_size" for name, _ in found)


@pytest.mark.slow
def test_the_bot_serves_its_discord_request_metrics_on_its_own_port(fake_discord: FakeDiscord, tmp_path: Path):
    port = unused_port()
    env = process_env(
        tmp_path,
        DISCORD_TOKEN=fake_discord.bot_token,
        DISCORD_API_BASE_URL=fake_discord.api_base,
        DISCORD_GATEWAY_URL=fake_discord.gateway_url,
        METRICS_PORT=str(port),
        METRICS_TOKEN=TOKEN,
    )
    with running("runbot", env, "--sync-commands") as bot:
        fake_discord.wait_for_sessions(1, timeout=20)
        fake_discord.wait_for_request(lambda r: r.route == "PUT /applications/{app_id}/commands", timeout=10)

        def synced_counted() -> bool:
            status, text = get(port, token=TOKEN)
            return status == 200 and value(samples(text), "discord_api_requests_total", method="PUT") >= 1

        wait_for(synced_counted, bot, "the command sync in the bot's metrics", timeout=20)
        refused, _ = get(port)
        _, text = get(port, token=TOKEN)

    assert refused == 401
    found = samples(text)
    assert value(found, "discord_api_requests_total", method="GET", route="/users/{param}", status="200") == 1
    assert value(found, "discord_api_requests_total", method="PUT", route="/applications/{id}/commands") == 1


def test_a_worker_asked_for_metrics_without_a_multiprocess_directory_refuses_to_start(tmp_path: Path):
    env = process_env(tmp_path, METRICS_PORT=str(unused_port()))
    done = subprocess.run(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR" in done.stderr
