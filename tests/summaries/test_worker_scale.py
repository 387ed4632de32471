"""Three real `qcluster` processes share one Redis queue: 200 API jobs each end exactly once, and none is
lost when one of the three is SIGKILLed mid-run (the claim and the sweeper hand its jobs on).

PostgreSQL + Redis only (CI's second phase): that is the scale-out configuration, and three clusters writing
one SQLite file would measure its write lock, not our claims.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from django.db import connection
from django_q.conf import Conf

from guilds.models import Guild
from summaries.engine.posted import PostedMessage
from summaries.models import JobStatus, Summary, SummaryJob
from summaries.services.jobs import integration_summary_request, jobs_sweep_stalled
from summaries.window import SummaryWindow
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.processes import database_url
from webhooks.models import Delivery, DeliveryStatus
from webhooks.services.destinations import destination_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
JOBS = 200
STALE_SECONDS = 4


def _redis_url() -> str | None:
    url = os.environ.get("REDIS_URL", "").strip()
    if not url:
        return None
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return None
    return url


@pytest.fixture
def redis_queue(monkeypatch: pytest.MonkeyPatch) -> str:
    """This process enqueues on Redis, as a web process with Q_BROKER=redis does (the suite runs on the ORM
    broker: tests/pytest_defaults.py), on an emptied queue."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL + Redis (CI's second phase): the scale-out configuration")
    url = _redis_url()
    if url is None:
        pytest.skip("needs PostgreSQL + Redis (CI's second phase): REDIS_URL unset or not answering")
    # django-q2 reads its configuration once, at import; choose its Redis broker as Q_BROKER=redis does.
    monkeypatch.setattr(Conf, "BROKER_CLASS", None)
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", url)
    from django_q.brokers import get_broker

    get_broker().purge_queue()
    yield url
    get_broker().purge_queue()


def start_cluster(env: dict[str, str]) -> subprocess.Popen[str]:
    # Its own process group: SIGKILL must take the cluster's sentinel, pusher and workers with it.
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def stop_clusters(clusters: list[subprocess.Popen[str]]) -> list[str]:
    """SIGTERM each cluster's main process (it stops its own workers), then collect what they said."""
    for cluster in clusters:
        if cluster.poll() is None:
            cluster.send_signal(signal.SIGTERM)
    errors = []
    for cluster in clusters:
        try:
            _, said = cluster.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
            _, said = cluster.communicate()
        errors.append(said or "")
    return errors


def test_three_workers_on_redis_end_every_job_once_and_lose_none_when_one_is_killed(redis_queue, settings):
    settings.JOB_HEARTBEAT_STALE_SECONDS = STALE_SECONDS  # the sweeper below runs in this process
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    guild = Guild.objects.create(id=81_000_000_000_000_001, name="Scale", bot_present=True, max_concurrent_jobs=1000)
    clusters: list[subprocess.Popen[str]] = []
    errors: list[str] = []
    with FakeOpenAI() as llm, WebhookReceiver() as receiver:
        llm.latency = 0.3  # every job spends most of its time waiting on the LLM: a kill lands mid-job
        destination_create(guild_id=guild.id, kind="webhook", name="ci", url=receiver.url, events=["summary.completed"])
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "summarybot.settings", "DJANGO_DEBUG": "true",
            "DATABASE_URL": database_url(), "REDIS_URL": redis_queue, "Q_BROKER": "redis", "Q_WORKERS": "2",
            "SUMMARY_PROVIDER": "openai", "OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": llm.base_url,
            "JOB_HEARTBEAT_STALE_SECONDS": str(STALE_SECONDS), "OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",
            "LOG_LEVEL": "ERROR",
        }
        start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        jobs = []
        for n in range(JOBS):
            posted = [
                PostedMessage(author=f"member{i}", content=f"Release {n}: step {i} is done, ship on Friday.",
                              timestamp=start + timedelta(minutes=i), id=f"{n}-{i}")
                for i in range(5)
            ]
            job, _ = integration_summary_request(
                guild_id=guild.id, source="api", channel_id=None, window=SummaryWindow.count(5),
                format="brief", language="en", posted=posted,
            )
            jobs.append(job.pk)  # committed: on_commit put its task on Redis
        try:
            clusters = [start_cluster(env) for _ in range(3)]
            done = lambda: SummaryJob.objects.filter(pk__in=jobs, status__in=JobStatus.finished()).count()  # noqa: E731
            deadline = time.monotonic() + 60
            while done() < JOBS // 4 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert done() < JOBS, "the jobs ended before a worker could be killed mid-run"
            os.killpg(clusters[0].pid, signal.SIGKILL)
            killed_at = done()
            # The sweeper (once a minute in production) runs here every second, so the test waits seconds.
            deadline = time.monotonic() + 75
            while done() < JOBS and time.monotonic() < deadline:
                jobs_sweep_stalled()
                time.sleep(1)
            # Deliveries follow their jobs; wait until their count stops moving.
            succeeded, settle = -1, time.monotonic() + 15
            while time.monotonic() < settle:
                now_succeeded = Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count()
                if now_succeeded == succeeded or now_succeeded == JOBS:
                    break
                succeeded = now_succeeded
                time.sleep(1.5)
        finally:
            errors = stop_clusters(clusters)

    statuses = collections.Counter(SummaryJob.objects.filter(pk__in=jobs).values_list("status", flat=True))
    assert statuses == {JobStatus.DONE: JOBS}, (statuses, killed_at, [e[-1500:] for e in errors])
    # Exactly once: one Summary per job (and no job left without one).
    assert Summary.objects.filter(job_id__in=jobs).count() == JOBS
    # The killed cluster was mid-job: some job was taken over by a second attempt after its heartbeat stopped.
    assert SummaryJob.objects.filter(pk__in=jobs, attempts__gt=1).exists()
    # No delivery twice. A delivery task the killed cluster had taken off the queue waits for its own sweeper
    # (DELIVERY_REQUEUE_SECONDS, a minute, longer than this test waits): at most its prefetch plus two workers.
    received = collections.Counter(json.loads(r.body)["data"]["id"] for r in receiver.requests)
    assert received and max(received.values()) == 1, received.most_common(3)
    succeeded = Delivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count()
    assert succeeded == len(received) >= JOBS - 6, (succeeded, len(received))
