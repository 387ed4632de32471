"""A request id for every HTTP request: in its log records and in the `X-Request-ID` response header; and
the audit actor of the Django admin's requests.

A proxy's `X-Request-ID` is kept when it looks like an id (so one id follows the request through the proxy's
logs and ours); anything else is replaced, never echoed, since the header is the client's to set.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from guilds.audit import Actor, audit_actor
from guilds.models import ActorKind
from summarybot.logs import log_context

HEADER = "X-Request-ID"
_SANE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def request_id_for(request: HttpRequest) -> str:
    offered = request.headers.get(HEADER, "")
    return offered if _SANE.match(offered) else uuid.uuid4().hex


class RequestIdMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._acall(request)
        request_id = request.request_id = request_id_for(request)  # type: ignore[attr-defined]
        with log_context(request_id=request_id):
            response = self.get_response(request)
        response[HEADER] = request_id
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        request_id = request.request_id = request_id_for(request)  # type: ignore[attr-defined]
        with log_context(request_id=request_id):
            response = await self.get_response(request)
        response[HEADER] = request_id
        return response


def _in_admin(request: HttpRequest) -> bool:
    return request.path.startswith(reverse("admin:index"))


def _operator(user: Any) -> Actor | None:
    if not (user.is_authenticated and user.is_staff):
        return None
    return Actor(kind=ActorKind.OPERATOR, id=f"admin:{user.get_username()}", name=user.get_username())


class AdminAuditActorMiddleware:
    """What an operator changes in the Django admin (an action revoking a key, pausing a schedule) is
    audit-logged as theirs, like the operators' commands (guilds/audit.py)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._acall(request)
        actor = _operator(request.user) if _in_admin(request) else None
        if actor is None:
            return self.get_response(request)
        with audit_actor(actor):
            return self.get_response(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        actor = _operator(await request.auser()) if _in_admin(request) else None  # type: ignore[attr-defined]
        if actor is None:
            return await self.get_response(request)
        with audit_actor(actor):
            return await self.get_response(request)
