"""Prometheus metrics: their definitions, one recording function per instrumented place, and `/metrics`.

Each metric is recorded in exactly one module, the one that owns what it counts: job outcomes in
summaries.services.jobs (job_finish / job_fail), LLM spend in summaries.services.usage (usage_record, called
once per LLM call), Discord REST calls in summarybot.discord.session (an aiohttp trace on discord.py's
client, the worker's and the bot's), deliveries in webhooks.services.deliveries (each attempt's outcome).
What is a state rather than an event (the queue, the open circuit breakers) is read when /metrics is scraped
(summarybot/metrics_view.py, which also serves the endpoint). This module imports no app, so clients below
the services (the Discord client) can record here.

Processes: web, worker (django-q2 forks one process per worker) and bot each count in their own memory
unless PROMETHEUS_MULTIPROC_DIR is set: then prometheus_client writes every process's counters to files in
that directory (emptied before the processes start). A django-q2 worker's counters are seen only that way
(its processes are forked and recycled, so no port of theirs would stay put). Two setups: one directory
shared by web, worker and bot, and web's /metrics adds them all up; or, where they share no filesystem
(containers), each its own directory and the worker and bot serving theirs on METRICS_PORT
(summarybot/metrics_server.py: the worker's listener lives in the cluster's first process).
"""

from __future__ import annotations

import re

from prometheus_client import Counter, Histogram

# --- What is counted --------------------------------------------------------------------------------------
SUMMARY_REQUESTS = Counter(
    "summary_requests", "Summary jobs that ended, by what asked for them (type) and how they ended (status)",
    ["type", "status"],
)
SUMMARY_PROCESSING = Histogram(
    "summary_processing_seconds", "Seconds from a worker starting a summary job to its end", ["type"],
    buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 900, 1800),
)
LLM_TOKENS = Counter("llm_tokens", "LLM tokens spent", ["provider", "model", "kind"])
LLM_COST = Counter("llm_cost_usd", "LLM spend in USD, at the configured prices", ["provider", "model"])
LLM_CALLS = Counter("llm_calls", "LLM calls made", ["provider", "model"])
DISCORD_REQUESTS = Counter(
    "discord_api_requests", "Discord REST API requests, by method, route template and HTTP status",
    ["method", "route", "status"],
)
DELIVERIES = Counter("deliveries", "Delivery attempts to destinations, by destination kind and result", ["kind", "result"])


def summary_job_ended(*, source: str, status: str, seconds: float | None) -> None:
    SUMMARY_REQUESTS.labels(type=source, status=status).inc()
    if seconds is not None:
        SUMMARY_PROCESSING.labels(type=source).observe(max(seconds, 0.0))


def llm_spend(*, provider: str, model: str, prompt_tokens: int, completion_tokens: int, calls: int, cost_usd: float) -> None:
    if prompt_tokens:
        LLM_TOKENS.labels(provider=provider, model=model, kind="prompt").inc(prompt_tokens)
    if completion_tokens:
        LLM_TOKENS.labels(provider=provider, model=model, kind="completion").inc(completion_tokens)
    if calls:
        LLM_CALLS.labels(provider=provider, model=model).inc(calls)
    if cost_usd > 0:
        LLM_COST.labels(provider=provider, model=model).inc(cost_usd)


def delivery_attempted(*, kind: str, result: str) -> None:
    DELIVERIES.labels(kind=kind, result=result).inc()


_SNOWFLAKE = re.compile(r"^\d+$")
_WORD = re.compile(r"^[a-z][a-z-]{0,31}$")
_API_PREFIX = re.compile(r"^/api(?:/v\d+)?")


def discord_route(path: str) -> str:
    """`/api/v10/channels/123/messages` -> `/channels/{id}/messages`: few label values, and no secret.

    Interaction and webhook tokens travel in the path: anything that is not a plain lower-case word or an id
    (tokens, emoji in reaction routes) becomes `{param}`.
    """
    parts = []
    for segment in _API_PREFIX.sub("", path).split("/"):
        if not segment:
            continue
        parts.append("{id}" if _SNOWFLAKE.match(segment) else segment if _WORD.match(segment) else "{param}")
    return "/" + "/".join(parts)


def discord_request_done(*, method: str, path: str, status: int | str) -> None:
    DISCORD_REQUESTS.labels(method=method.upper(), route=discord_route(path), status=str(status)).inc()
