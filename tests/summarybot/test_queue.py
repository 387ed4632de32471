"""The queue broker and the web process's connections (summarybot/queue.py, summarybot/asgi.py)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django_q.brokers import get_broker
from django_q.models import OrmQ

from summaries.services.jobs import enqueue_job
from summarybot.queue import OrmBroker

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True)
def test_enqueueing_leaves_the_callers_connection_open_even_past_its_age():
    assert isinstance(get_broker(), OrmBroker)
    connection.ensure_connection()
    before = connection.connection
    connection.close_at = time.monotonic() - 1  # as at a maximum age of 0: django-q2's broker closed it here
    enqueue_job(job_id="5b1e7a1c-0000-4000-8000-00000000f022")
    assert connection.connection is before
    assert OrmQ.objects.count() == 1


def test_the_asgi_web_process_keeps_no_connections(tmp_path):
    code = "import summarybot.asgi; from django.db import connections; print(connections['default'].settings_dict['CONN_MAX_AGE'])"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "DJANGO_DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'asgi.sqlite3'}"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "0"
