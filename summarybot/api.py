"""The REST API's plumbing, shared by every resource: API-key authentication, scope permissions,
the per-address and per-key throttles, the request-size limit, and the `{"results", "next"}` cursor
pagination.

Every API view derives from `ApiView`: deny by default (a key and the view's scope for the method), one
authentication class, and `request.auth` is the ApiKey whose guild every queryset is filtered to.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, parsers, permissions
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from guilds.audit import SYSTEM, audit_actor
from summarybot.api_auth import INVALID_KEY, ApiKeyAuthentication
from summarybot.throttles import ClientIpThrottle, CounterThrottle
from webhooks.models import ApiKey


class ApiKeySchemeExtension(OpenApiAuthenticationExtension):
    """Tells the OpenAPI document how keys are sent."""

    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "`Authorization: Bearer sbk_…` (or `X-API-Key`)"}


class HasScope(permissions.BasePermission):
    """The key holds the scope the view names for this method (`required_scopes`); no entry, no access."""

    message = "This API key lacks the scope this request needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return False
        if request.method == "OPTIONS":
            return True  # what the endpoint accepts (DRF's metadata) is in the public schema anyway
        needed = getattr(view, "required_scopes", {}).get(request.method)
        if needed is None:
            # A method the view does not implement gets its 405; one it implements without a scope, nothing.
            return not hasattr(view, request.method.lower())
        if needed not in api_key.scopes:
            self.message = f"This API key lacks the {str(needed)!r} scope."
            return False
        return True


class ApiKeyThrottle(CounterThrottle):
    """Per key, in the shared cache (every web process counts together); the rate is API_THROTTLE_RATE."""

    scope = "api_key"

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_RATE

    def identity(self, request: Request, view: Any) -> str | None:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return None
        # The prefix, not the pk: a key's counter never passes to a later key that reuses a deleted key's pk.
        return api_key.prefix


class ApiIpThrottle(ClientIpThrottle):
    """Per client address, whatever key it sends or none: a flood of guessed keys is throttled too."""

    scope = "api_ip"

    def get_rate(self) -> str | None:
        return settings.API_IP_THROTTLE_RATE


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than {settings.API_MAX_BODY_BYTES} bytes.")


class LimitedJSONParser(parsers.JSONParser):
    """JSON, read at most API_MAX_BODY_BYTES + 1 bytes: a body without a Content-Length is bounded too."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        limit = settings.API_MAX_BODY_BYTES
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise too_large()
        try:
            return json.loads(body.decode("utf-8")) if body else {}
        except (UnicodeDecodeError, ValueError) as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {exc}") from None


class ApiView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasScope]
    throttle_classes: list[type[CounterThrottle]] = [ApiKeyThrottle]
    # Checked first, before the credentials are read: what an address may send whatever it sends.
    early_throttle_classes: list[type[CounterThrottle]] = [ApiIpThrottle]
    parser_classes = [LimitedJSONParser]
    # Method → scope; a method missing here is refused.
    required_scopes: dict[str, str] = {}

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        # The key is known only once DRF authenticates, inside dispatch: ApiKeyAuthentication names it as the
        # audit actor within this block, which ends with the request.
        with audit_actor(SYSTEM):
            return super().dispatch(request, *args, **kwargs)

    def check_early_throttles(self, request: Request) -> None:
        for throttle_class in self.early_throttle_classes:
            throttle = throttle_class()
            if not throttle.allow_request(request, self):
                self.throttled(request, throttle.wait())

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.check_early_throttles(request)
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > settings.API_MAX_BODY_BYTES:
            raise too_large()
        super().initial(request, *args, **kwargs)

    def permission_denied(self, request: Request, message: str | None = None, code: str | None = None) -> None:
        if not isinstance(request.auth, ApiKey):
            # No key at all gets the very answer a bad key gets.
            raise exceptions.AuthenticationFailed(INVALID_KEY, code="authentication_failed")
        raise exceptions.PermissionDenied(detail=message, code=code or "missing_scope")


class CursorPage(CursorPagination):
    """`{"results": [...], "next": <url or null>}`, newest first; `?cursor=` from `next`, `?limit=` ≤ 100."""

    ordering = ("-created_at",)
    page_size = 25
    page_size_query_param = "limit"
    max_page_size = 100

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {"results": schema, "next": {"type": "string", "format": "uri", "nullable": True}},
        }
