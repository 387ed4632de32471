"""DRF exception handler: every API error has the shape {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from summarybot.errors import LimitExceeded, SummaryBotError


def _error(code: str, message: str, details: Any, http_status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(
        {"error": {"code": code, "message": message, "details": details or {}}},
        status=http_status,
        headers=headers,
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, SummaryBotError):
        headers = None
        if isinstance(exc, LimitExceeded) and exc.retry_after:
            headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
        return _error(exc.code, exc.message, exc.details, exc.http_status, headers)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        return _error("invalid_input", "The request is not valid.", response.data, status.HTTP_400_BAD_REQUEST)
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
    code = getattr(getattr(exc, "detail", None), "code", None) or getattr(exc, "default_code", "error")
    return _error(str(code), str(detail), {}, response.status_code, dict(response.headers) or None)


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any other path under /api/v1/: a 404 in the API's envelope, not the site's HTML page."""
    return JsonResponse(
        {"error": {"code": "not_found", "message": f"No API resource at {request.path}.", "details": {}}}, status=404
    )
