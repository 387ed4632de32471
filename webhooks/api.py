"""The inbound webhook front door: read the raw body (bounded), verify it, act on it, answer.

POST /webhooks/inbound/<guild_id>/ — the guild is named in the path (GitHub-style senders can set a URL
and a secret but no headers); the signature is the authentication, checked against that guild's active
inbound secrets (`manage.py inbound_secret create`):

- Standard Webhooks: `webhook-id`, `webhook-timestamp` (within 5 minutes), `webhook-signature:
  v1,<base64 HMAC-SHA256 of "id.timestamp.body">` (several space-separated signatures accepted);
- or GitHub-style: `X-Signature-256` (or `X-Hub-Signature-256`): `sha256=<hex HMAC-SHA256 of the body>`
  keyed with the whole `whsec_…` string; `X-GitHub-Delivery` or `webhook-id` names the delivery.

Body: `{"type": "summary.requested", "data": {"channel_id", one of hours/messages/after/before, "format",
"language"}}` → 202 `{"webhook_id", "type", "summary_id", "status"}`; `{"type": "schedule.updated", "data":
{"schedule_id", plus the fields to change as PATCH /api/v1/schedules/{id} takes them}}` → 200 `{"webhook_id",
"type", "schedule"}`. A replayed webhook-id gets the first answer again (header `Webhook-Replayed: true`). A bad or missing signature, a stale timestamp, an unknown
guild: 401, one message. An unsupported type: 400 listing the supported ones. A body over
API_MAX_BODY_BYTES: 413. Over INBOUND_THROTTLE_RATE: 429 with Retry-After, counted per client address
(every request, before anything is read) and per guild (verified events only, so that nobody without
the secret can use up a guild's allowance). Errors use the API's envelope.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from summarybot.api import ApiView, too_large
from summarybot.throttles import ClientIpThrottle, CounterThrottle
from webhooks.inbound import inbound_receive, inbound_verify


class InboundIpThrottle(ClientIpThrottle):
    scope = "inbound_ip"

    def get_rate(self) -> str | None:
        return settings.INBOUND_THROTTLE_RATE


class InboundGuildThrottle(CounterThrottle):
    """Counted by the view once the event is verified (`hit(guild_id)`), not from the request alone."""

    scope = "inbound_guild"

    def get_rate(self) -> str | None:
        return settings.INBOUND_THROTTLE_RATE


class InboundWebhookView(ApiView):
    # The signature is the authentication (DRF's APIView is CSRF-exempt); no API key, no key throttle.
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []
    early_throttle_classes: list[type[CounterThrottle]] = [InboundIpThrottle]
    parser_classes: list[Any] = []

    @extend_schema(exclude=True)
    def post(self, request: Request, guild_id: int) -> Response:
        limit = settings.API_MAX_BODY_BYTES
        stream = request.stream
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise too_large()
        verified = inbound_verify(guild_id=guild_id, body=body, headers=request.headers)
        guild_throttle = InboundGuildThrottle()
        if not guild_throttle.hit(str(verified.guild.id)):
            self.throttled(request, guild_throttle.wait())
        result = inbound_receive(verified=verified, body=body)
        return Response(
            result.body, status=result.status_code, headers={"Webhook-Replayed": "true"} if result.replayed else None
        )
