"""`/metrics`: the counters of every process (summarybot/metrics.py) and gauges read at scrape time.

Access: with METRICS_TOKEN set, only `Authorization: Bearer <METRICS_TOKEN>`; without it, only clients on
the loopback interface whose request came through no proxy (a proxy on the same host would otherwise make
the whole internet look local).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector


class StateCollector:
    """Gauges that are states of the shared database and cache, the same from any process."""

    def collect(self) -> Iterator[Metric]:
        from summaries.llm.breaker import open_breakers
        from summaries.selectors import job_queue_counts

        queued, running = job_queue_counts()
        queue = GaugeMetricFamily("job_queue_size", "Summary jobs waiting for a worker")
        queue.add_metric([], queued)
        yield queue
        active = GaugeMetricFamily("summary_jobs_running", "Summary jobs a worker is running")
        active.add_metric([], running)
        yield active
        breakers = GaugeMetricFamily(
            "llm_circuit_breakers_open", "LLM endpoints whose circuit breaker is open (calls fail at once)",
            labels=["endpoint"],
        )
        labels = open_breakers()
        for label in labels:
            breakers.add_metric([label], 1)
        yield breakers
        total = GaugeMetricFamily("llm_circuit_breakers_open_count", "How many LLM circuit breakers are open")
        total.add_metric([], len(labels))
        yield total


class _Scrape:
    def __init__(self, sources: Iterable[Any]) -> None:
        self.sources = list(sources)

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


def counters() -> CollectorRegistry:
    """Every process's counters (multiprocess mode: the files in PROMETHEUS_MULTIPROC_DIR) or this process's."""
    if not settings.PROMETHEUS_MULTIPROC_DIR:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, settings.PROMETHEUS_MULTIPROC_DIR)
    return registry


def exposition() -> bytes:
    """The counters, then the scrape-time gauges."""
    return generate_latest(_Scrape([counters(), StateCollector()]))  # type: ignore[arg-type]


# --- /metrics ----------------------------------------------------------------------------------------------
def _from_loopback(request: HttpRequest) -> bool:
    # A proxy on the same host would make every client look local: a forwarded request is never "loopback".
    if "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META:
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def bearer_token_matches(authorization: str, token: str) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time (the worker's and bot's listener use it too)."""
    scheme, _, offered = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(offered.strip().encode(), token.encode())


def _authorized(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return _from_loopback(request)
    return bearer_token_matches(request.headers.get("Authorization", ""), token)


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _authorized(request):
        if settings.METRICS_TOKEN:
            response = HttpResponse("a valid metrics token is required\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return HttpResponse("metrics are served to loopback clients only (or set METRICS_TOKEN)\n", status=403,
                            content_type="text/plain")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
