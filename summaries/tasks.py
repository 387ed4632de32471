"""django-q2 entry points: sync functions taking primitive ids, each calling one service."""

from __future__ import annotations

from summaries.services.jobs import jobs_sweep_stalled
from summaries.services.runner import job_run


def run_summary_job(job_id: str) -> str:
    return job_run(job_id=job_id)


def sweep_stalled_jobs() -> int:
    return jobs_sweep_stalled()
