"""django-q2 entry points: sync functions taking primitive ids, each calling one service.

`on_worker_spawn` runs in every worker process as it starts (django-q2's post_spawn signal). It must never
raise: django-q2 respawns a dead worker at once, so a start-up check that raised on a missing table or an
unreachable cache made a tight respawn loop that burnt a core while jobs waited forever.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from django.conf import settings

from summaries.services.digests import digests_sweep
from summaries.services.interaction_tokens import interaction_tokens_clear_expired
from summaries.services.jobs import jobs_sweep_stalled
from summaries.services.retention import retention_apply
from summaries.services.runner import job_run, jobs_fail_unstarted
from summaries.services.schedule_runs import schedule_run_at, schedule_tick
from summaries.services.schedules import schedules_reconcile
from summarybot.health import INFRASTRUCTURE_CHECKS, run_checks

logger = logging.getLogger(__name__)

# Back-off between start-up checks: 1, 2, 4 … seconds, at most this long.
MAX_START_BACKOFF_SECONDS = 30.0


def run_summary_job(job_id: str) -> str:
    return job_run(job_id=job_id)


def run_schedule(schedule_id: int, slot: str | None = None) -> str:
    """django-q2 fires a schedule's twin with the slot it was armed for (its `intended_date_kwarg`)."""
    return schedule_tick(schedule_id=int(schedule_id), slot=datetime.fromisoformat(slot) if slot else None)


def run_schedule_now(schedule_id: int, slot: str) -> str:
    return schedule_run_at(schedule_id=int(schedule_id), slot=datetime.fromisoformat(slot))


def sweep_stalled_jobs() -> int:
    """Once a minute: hand on jobs whose worker died, and fail (telling the member) those none started.

    Then erase the interaction tokens of finished jobs that can no longer use them, and re-arm schedules
    whose django-q2 twin went missing or out of step, and post the digests a crashed worker left behind.
    Returns the jobs handed on or failed.
    """
    handled = jobs_sweep_stalled() + jobs_fail_unstarted()
    interaction_tokens_clear_expired()
    schedules_reconcile()
    digests_sweep()
    return handled


def apply_retention() -> dict[str, int]:
    """Once a day: delete what is older than each guild's retention_days (summaries.services.retention)."""
    return retention_apply()


def on_worker_spawn(sender: object, proc_name: str, **kwargs: object) -> None:
    try:
        wait_for_infrastructure(proc_name=proc_name, grace_seconds=settings.WORKER_START_GRACE_SECONDS)
        # A misconfigured model or key shows up in the worker's log at start, not at the first job; the
        # answer is cached, so N workers spawning cost one /models request.
        from summaries.llm.readiness import log_llm_readiness

        log_llm_readiness()
    except Exception:  # noqa: BLE001  see the module docstring: raising here means a respawn loop
        logger.exception("worker start-up check crashed; taking jobs anyway", extra={"worker": proc_name})


def wait_for_infrastructure(
    *, proc_name: str, grace_seconds: float, sleep: Callable[[float], None] = time.sleep
) -> bool:
    """Check what every job needs (database, cache, queue); back off while it fails, up to the grace period.

    Returns True when everything answered. After the grace period the worker takes jobs anyway: each then
    fails with a reason its requester sees, instead of waiting in the queue for a worker that never comes.
    """
    deadline = time.monotonic() + grace_seconds
    delay = 1.0
    reported: tuple[str, ...] = ()
    while True:
        results = run_checks(INFRASTRUCTURE_CHECKS)
        failing = tuple(name for name, result in results.items() if not result.ok)
        if not failing:
            if reported:
                logger.warning("worker %s: %s answering again; taking jobs", proc_name, ", ".join(reported))
            return True
        remaining = deadline - time.monotonic()
        if failing != reported:
            # One line an operator can act on; repeated only when what fails changes.
            logger.error(
                "worker %s cannot start cleanly: %s; retrying for up to %d s (is `manage.py migrate` done, "
                "is REDIS_URL reachable?)",
                proc_name, "; ".join(f"{name} failed ({results[name].detail})" for name in failing),
                max(0, int(remaining)), extra={"failing": list(failing)},
            )
            reported = failing
        if remaining <= 0:
            logger.error(
                "worker %s is taking jobs without %s: they will fail with a reason shown to the member until it "
                "is fixed", proc_name, ", ".join(failing), extra={"failing": list(failing)},
            )
            return False
        sleep(min(delay, remaining))
        delay = min(delay * 2, MAX_START_BACKOFF_SECONDS)
