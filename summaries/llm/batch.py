"""A ChatProvider that sends chat calls through OpenAI's Batch API: half the price, minutes to hours late.

For summaries nobody is waiting on (scheduled digests); the engine does not know, it calls `chat()` as
always. Calls that arrive together (the map phase issues all its chunks at once, a reduce level all its
groups) are gathered for a moment, written as one JSONL file (files.create, purpose "batch") and submitted
as one batch (batches.create on /v1/chat/completions, completion window 24h). The worker polls it with a
growing but bounded interval, then resolves each call from the output file by custom_id; a line of the
error file fails its call with the class an ordinary call would get (openai_errors.classify_batch_line).

A deadline bounds the waiting, counted from when the job started: past it the batch is cancelled and the
calls still pending, and every later one, are made the ordinary way through the wrapped provider (its
retries, rate limiter, breaker and fallback models). So are calls the batch could not serve for a reason
an ordinary call may not share (a 5xx or 429 line, a failed or expired batch, an endpoint without batches):
a digest comes late or at full price, never not at all. Only an account problem (bad key, no quota),
which would fail an ordinary call too, fails the calls outright.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import openai
from openai.types import Batch
from openai.types.chat import ChatCompletion

from summaries.llm.base import ChatRequest, ChatResponse
from summaries.llm.errors import (
    LLMAuthError,
    LLMError,
    LLMModelNotFound,
    LLMQuotaExceeded,
    LLMRateLimited,
    LLMUnavailable,
)
from summaries.llm.openai_errors import classify, classify_batch_line
from summaries.llm.openai_provider import OpenAIProvider, chat_response

logger = logging.getLogger(__name__)

ENDPOINT = "/v1/chat/completions"
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
# Failures an ordinary call may not share: the call is made again the ordinary way.
_ORDINARY_MAY_SERVE = (LLMUnavailable, LLMRateLimited, LLMModelNotFound)
# Failures an ordinary call would share: no point trying it.
_ACCOUNT_PROBLEMS = (LLMAuthError, LLMQuotaExceeded)
# OpenAI takes up to 50,000 requests in one batch file.
MAX_BATCH_REQUESTS = 50_000

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BatchTiming:
    """How long to wait, and how often to ask."""

    deadline_seconds: float
    # Calls are gathered until none arrived for `gather_seconds`, and never longer than `gather_max_seconds`.
    gather_seconds: float = 0.5
    gather_max_seconds: float = 5.0
    # Polls start at an eighth of the cap and double up to it; the cap is at most a minute and at most a
    # twentieth of the deadline, so the deadline is noticed on time whatever it is.
    poll_max_seconds: float = 60.0

    @property
    def poll_cap(self) -> float:
        return max(0.02, min(self.poll_max_seconds, self.deadline_seconds / 20))

    @property
    def poll_first(self) -> float:
        return self.poll_cap / 8


@dataclass(eq=False)
class _Call:
    custom_id: str
    request: ChatRequest
    future: asyncio.Future[ChatResponse]


def _resolve(call: _Call, response: ChatResponse) -> None:
    if not call.future.done():  # done: the engine stopped waiting for it (cancelled)
        call.future.set_result(response)


def _reject(call: _Call, error: BaseException) -> None:
    if not call.future.done():
        call.future.set_exception(error)


async def _api(awaitable: Awaitable[T]) -> T:
    """One files/batches call, with the SDK's errors mapped like a chat call's."""
    try:
        return await awaitable
    except openai.APIError as exc:
        raise classify(exc) from exc


class BatchingProvider:
    """Wraps an OpenAIProvider (same endpoint, key and client); closing it closes the wrapped one."""

    name = "openai"

    def __init__(
        self,
        inner: OpenAIProvider,
        *,
        timing: BatchTiming,
        price_factor: float,
        ordinary_concurrency: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self.model = inner.model
        self.context_tokens = inner.context_tokens
        self.timing = timing
        self.price_factor = price_factor
        self._clock = clock
        self._deadline = clock() + timing.deadline_seconds
        # Ordinary calls (after the deadline, or for what a batch could not serve) keep the usual concurrency:
        # the engine's own limit is lifted for a batching provider, so that a whole map phase is one batch.
        self._ordinary = asyncio.Semaphore(ordinary_concurrency)
        self._ids = itertools.count(1)
        self._pending: list[_Call] = []
        self._first_at: float | None = None
        self._flush_handle: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._live: set[str] = set()  # submitted, not finished: cancelled if the job stops waiting
        self._closed = False
        # For logs and measurements: how the calls were served.
        self.batches: list[str] = []
        self.batched_calls = 0
        self.ordinary_calls = 0

    def past_deadline(self) -> bool:
        return self._clock() >= self._deadline

    # -- ChatProvider --

    async def chat(self, request: ChatRequest) -> ChatResponse:
        if self._closed or self.past_deadline():
            return await self._ordinary_call(request)
        loop = asyncio.get_running_loop()
        call = _Call(custom_id=f"call-{next(self._ids)}", request=request, future=loop.create_future())
        self._pending.append(call)
        self._schedule_flush(loop)
        return await call.future

    async def aclose(self) -> None:
        self._closed = True
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # A batch nobody waits for any more would still be billed for what it completes.
        for batch_id in list(self._live):
            await self._cancel(batch_id)
        if self.batches:
            # What the operator needs to judge the deadline: how much the batches served, how much fell back.
            logger.info(
                "batched provider closed",
                extra={"batches": len(self.batches), "batched_calls": self.batched_calls,
                       "ordinary_calls": self.ordinary_calls},
            )
        await self.inner.aclose()

    # -- gathering --

    def _schedule_flush(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        if self._first_at is None:
            self._first_at = now
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        full = len(self._pending) >= MAX_BATCH_REQUESTS
        delay = 0.0 if full else min(self.timing.gather_seconds, self._first_at + self.timing.gather_max_seconds - now)
        self._flush_handle = loop.call_later(max(delay, 0.0), self._flush)

    def _flush(self) -> None:
        calls = [call for call in self._pending if not call.future.done()]
        self._pending, self._first_at, self._flush_handle = [], None, None
        if calls:
            task = asyncio.get_running_loop().create_task(self._serve(calls))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # -- one batch --

    async def _serve(self, calls: list[_Call]) -> None:
        try:
            left = calls if self.past_deadline() else await self._through_batch(calls)
        except _ACCOUNT_PROBLEMS as exc:
            for call in calls:
                _reject(call, exc)
            return
        except LLMError as exc:
            logger.warning(
                "batch unavailable, making ordinary calls",
                extra={"host": self.inner.host, "error": exc.code, "calls": len(calls)},
            )
            left = calls
        except BaseException as exc:
            # Never leave the engine awaiting a future nobody will resolve, whatever stopped us.
            for call in calls:
                if isinstance(exc, Exception):
                    _reject(call, exc)
                else:
                    call.future.cancel()
            raise
        left = [call for call in left if not call.future.done()]
        if left:
            await asyncio.gather(*(self._ordinary_for(call) for call in left))

    async def _through_batch(self, calls: list[_Call]) -> list[_Call]:
        """Submit the calls as one batch, wait for it, resolve what it answered; return the calls left over."""
        client = self.inner.client
        lines = [
            json.dumps(
                {"custom_id": c.custom_id, "method": "POST", "url": ENDPOINT, "body": await self.inner.request_body(c.request)},
                separators=(",", ":"),
            )
            for c in calls
        ]
        data = ("\n".join(lines) + "\n").encode()
        uploaded = await _api(client.files.create(file=("summary-batch.jsonl", data, "application/jsonl"), purpose="batch"))
        creating = asyncio.ensure_future(
            _api(
                client.batches.create(
                    input_file_id=uploaded.id,
                    endpoint=ENDPOINT,
                    completion_window="24h",
                    metadata={"purpose": calls[0].request.purpose[:64]},
                )
            )
        )
        try:
            batch = await asyncio.shield(creating)
        except asyncio.CancelledError:
            # Stopped while OpenAI was creating it: learn its id anyway, so aclose() cancels it rather than
            # leave it to run, and be billed, for nobody.
            try:
                self._live.add((await asyncio.wait_for(creating, timeout=30)).id)
            except (LLMError, TimeoutError):
                pass
            raise
        self._live.add(batch.id)
        self.batches.append(batch.id)
        logger.info("batch submitted", extra={"batch_id": batch.id, "calls": len(calls), "host": self.inner.host})
        batch = await self._wait(batch)
        if batch.status not in TERMINAL:
            logger.warning(
                "batch past its deadline, cancelling it and making ordinary calls",
                extra={"batch_id": batch.id, "status": batch.status, "calls": len(calls)},
            )
            batch = await self._cancel(batch.id) or batch
        else:
            self._live.discard(batch.id)
        if batch.status == "failed":
            codes = [e.code for e in (batch.errors.data or [])] if batch.errors else []
            logger.warning("batch failed, making ordinary calls", extra={"batch_id": batch.id, "codes": codes[:5]})
        by_id = {call.custom_id: call for call in calls}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                await self._harvest(file_id, by_id)
        return [call for call in calls if not call.future.done()]

    async def _wait(self, batch: Batch) -> Batch:
        """Poll until the batch ends or the deadline passes; returns the last state seen."""
        interval = self.timing.poll_first
        while batch.status not in TERMINAL:
            remaining = self._deadline - self._clock()
            if remaining <= 0:
                return batch
            await asyncio.sleep(min(interval, remaining))
            interval = min(interval * 2, self.timing.poll_cap)
            try:
                batch = await _api(self.inner.client.batches.retrieve(batch.id))
            except LLMError as exc:
                if isinstance(exc, _ACCOUNT_PROBLEMS):
                    raise
                logger.info("batch poll failed, polling again", extra={"batch_id": batch.id, "error": exc.code})
        return batch

    async def _cancel(self, batch_id: str) -> Batch | None:
        self._live.discard(batch_id)
        try:
            return await asyncio.wait_for(_api(self.inner.client.batches.cancel(batch_id)), timeout=30)
        except (LLMError, TimeoutError) as exc:
            logger.warning("could not cancel a batch", extra={"batch_id": batch_id, "error": type(exc).__name__})
            return None

    async def _harvest(self, file_id: str, by_id: dict[str, _Call]) -> None:
        try:
            content = await _api(self.inner.client.files.content(file_id))
        except LLMError as exc:
            # The calls stay unresolved and are made the ordinary way.
            logger.warning("could not download a batch file", extra={"file_id": file_id, "error": exc.code})
            return
        for raw in content.text.splitlines():
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                logger.warning("unreadable line in a batch file", extra={"file_id": file_id})
                continue
            if isinstance(line, dict):
                self._resolve_line(line, by_id)

    def _resolve_line(self, line: dict[str, Any], by_id: dict[str, _Call]) -> None:
        call = by_id.get(str(line.get("custom_id")))
        if call is None or call.future.done():
            return
        response = line.get("response") if isinstance(line.get("response"), dict) else {}
        try:
            status = int(response.get("status_code") or 0)
        except (TypeError, ValueError):
            status = 0
        body = response.get("body")
        if status == 200 and isinstance(body, dict):
            try:
                reply = chat_response(ChatCompletion.model_validate(body), model=self.model, request=call.request)
            except LLMError as exc:  # no choices, a refusal: what the ordinary call would have raised
                _reject(call, exc)
                return
            except ValueError:  # an unreadable body: left for an ordinary call
                logger.warning("unreadable completion in a batch output", extra={"custom_id": call.custom_id})
                return
            self.batched_calls += 1
            _resolve(call, dataclasses.replace(reply, price_factor=self.price_factor))
            return
        if status:
            error = classify_batch_line(status, body.get("error") if isinstance(body, dict) else None)
            if not isinstance(error, _ORDINARY_MAY_SERVE):
                _reject(call, error)
                return
        # A retryable failure, or a request the batch never ran (expired, cancelled): left for an ordinary call.
        error_code = line["error"].get("code") if isinstance(line.get("error"), dict) else None
        logger.info(
            "batch request not served, making an ordinary call",
            extra={"custom_id": call.custom_id, "status": status, "error": error_code},
        )

    # -- ordinary calls --

    async def _ordinary_for(self, call: _Call) -> None:
        try:
            response = await self._ordinary_call(call.request)
        except Exception as exc:  # noqa: BLE001  not swallowed: handed to the engine awaiting this call
            _reject(call, exc)
            return
        _resolve(call, response)

    async def _ordinary_call(self, request: ChatRequest) -> ChatResponse:
        async with self._ordinary:
            self.ordinary_calls += 1
            return await self.inner.chat(request)
