"""The REST API's one authentication class (its own module: DRF imports it while `rest_framework.views`
is still loading, so nothing here may import DRF views)."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from guilds.audit import Actor, audit_actor_narrow
from guilds.models import ActorKind
from webhooks.models import ApiKey
from webhooks.services import AuthenticationFailed as KeyRejected
from webhooks.services import api_key_authenticate

# One answer for a missing, unknown, wrong, expired or revoked key: a caller learns nothing about which.
INVALID_KEY = "Invalid API key."


class ApiKeyPrincipal:
    """`request.user` for a key: authenticated, never staff, nobody's session."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.pk = None

    def __str__(self) -> str:
        return f"api key {self.api_key.prefix}"


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <key>`, or `X-API-Key: <key>` for tools that only set a custom header."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        raw = self._raw_key(request)
        if raw is None:
            return None
        try:
            api_key = api_key_authenticate(raw_key=raw)
        except KeyRejected:
            raise exceptions.AuthenticationFailed(INVALID_KEY, code="authentication_failed") from None
        # What this request changes is the key's doing (ApiView.dispatch opened the block this narrows).
        audit_actor_narrow(Actor(kind=ActorKind.API_KEY, id=api_key.prefix, name=api_key.name))
        return ApiKeyPrincipal(api_key), api_key

    def _raw_key(self, request: Request) -> str | None:
        header = get_authorization_header(request).split()
        if header:
            if header[0].lower() != self.keyword or len(header) != 2:
                raise exceptions.AuthenticationFailed(INVALID_KEY, code="authentication_failed")
            try:
                return header[1].decode()
            except UnicodeError:
                raise exceptions.AuthenticationFailed(INVALID_KEY, code="authentication_failed") from None
        custom = request.META.get("HTTP_X_API_KEY", "").strip()
        return custom or None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
