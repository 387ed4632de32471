"""/health says the process is alive (no dependencies); /ready checks what serving needs.

/ready answers 503 with the failing checks named, so a load balancer or an operator sees what broke.
It is public, so it says only which check failed: the details (database host and role, Redis address,
the LLM endpoint) go to the log, where an operator reads them and nobody else does.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

Check = Callable[[], str]


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def check_cache() -> str:
    key = f"ready:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return the value just written")
    cache.delete(key)
    return "ok"


def check_queue() -> str:
    from django_q.brokers import get_broker

    broker = get_broker()
    if not broker.ping():
        raise RuntimeError("task broker did not answer")
    return "ok"


def check_llm() -> str:
    from summaries.llm.readiness import llm_readiness

    return llm_readiness()


def check_discord() -> str:
    if not settings.DISCORD_TOKEN:
        return "not configured (bot and Discord delivery disabled)"
    return "configured"


CHECKS: dict[str, Check] = {
    "database": check_database,
    "cache": check_cache,
    "queue": check_queue,
    "llm": check_llm,
    "discord": check_discord,
}
# What a worker needs before it can run any job; it runs these at start (summaries.tasks.on_worker_spawn).
INFRASTRUCTURE_CHECKS = ("database", "cache", "queue")


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str
    ms: float


def run_checks(names: Iterable[str] = CHECKS) -> dict[str, CheckResult]:
    """Run the named checks; a failing check is reported with its exception, never raised."""
    results: dict[str, CheckResult] = {}
    for name in names:
        started = time.perf_counter()
        try:
            detail, ok = CHECKS[name](), True
        except Exception as exc:  # noqa: BLE001  a readiness probe reports every failure instead of raising
            detail, ok = f"{type(exc).__name__}: {exc}", False
        results[name] = CheckResult(ok=ok, detail=detail, ms=round((time.perf_counter() - started) * 1000, 1))
    return results


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    results = run_checks()
    failing = [name for name, result in results.items() if not result.ok]
    for name in failing:
        # The detail is an exception message (hosts, URLs, role names); checks never put keys in it.
        logger.warning("readiness check %s failed: %s", name, results[name].detail, extra={"check": name})
    return JsonResponse(
        {
            "status": "fail" if failing else "ok",
            "failing": failing,
            "checks": {name: "ok" if result.ok else "fail" for name, result in results.items()},
        },
        status=503 if failing else 200,
    )
