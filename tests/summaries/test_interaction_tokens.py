"""Interaction tokens (credentials for 15 minutes) are erased by the sweeper once their job is done with them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from summaries.models import JobStatus, SummaryJob
from summaries.tasks import sweep_stalled_jobs
from tests.factories import SummaryJobFactory

pytestmark = pytest.mark.django_db


def _job(*, status: str, minutes_old: float) -> SummaryJob:
    job = SummaryJobFactory(status=status, interaction_token="interaction-token-secret", application_id=1)
    SummaryJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_old))
    return job


def _stored_token(job: SummaryJob) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT interaction_token FROM summaries_summaryjob WHERE id = %s", [job.pk.hex])
        return cursor.fetchone()[0]


def test_the_sweeper_erases_expired_tokens_of_finished_jobs_only():
    expired_done = _job(status=JobStatus.DONE, minutes_old=16)
    expired_failed = _job(status=JobStatus.FAILED, minutes_old=60 * 24)
    fresh_done = _job(status=JobStatus.DONE, minutes_old=2)
    running = _job(status=JobStatus.SUMMARIZING, minutes_old=16)

    assert sweep_stalled_jobs() == 0  # the count is of jobs handed on or failed, as before

    assert _stored_token(expired_done) == "" and _stored_token(expired_failed) == ""
    assert SummaryJob.objects.get(pk=expired_done.pk).interaction_token == ""
    # Still usable for an answer or an edit: kept.
    assert SummaryJob.objects.get(pk=fresh_done.pk).interaction_token == "interaction-token-secret"
    assert SummaryJob.objects.get(pk=running.pk).interaction_token == "interaction-token-secret"
