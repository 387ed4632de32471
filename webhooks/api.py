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
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from summarybot.api import ApiView, CursorPage, too_large
from summarybot.throttles import ClientIpThrottle, CounterThrottle
from webhooks.inbound import inbound_receive, inbound_verify
from webhooks.models import ApiScope, Delivery, DestinationKind, WebhookDestination
from webhooks.selectors import (
    SAMPLES,
    delivery_api_status,
    delivery_get,
    delivery_list,
    destination_get,
    destination_list,
    hook_get,
    hook_samples,
    mask_url,
)
from webhooks.serializers import (
    DeliveryDetailOutput,
    DeliveryListFilter,
    DeliveryOutput,
    DestinationCreateInput,
    DestinationOutput,
    DestinationTestOutput,
    DestinationUpdateInput,
    DestinationWithSecretOutput,
    HookOutput,
    HookSamplesFilter,
    HookSubscribeInput,
    destination_changes,
)
from webhooks.services.deliveries import delivery_replay
from webhooks.services.destinations import (
    destination_create,
    destination_delete,
    destination_rotate_secret,
    destination_test,
    destination_update,
)
from webhooks.services.hooks import hook_subscribe, hook_unsubscribe


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


# --- Destinations and deliveries (/api/v1/destinations, /api/v1/deliveries) ------------------------------
# Every read and write is filtered to the key's guild: another guild's destination or delivery is a 404.


def _destination_data(destination: WebhookDestination) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if destination.kind == DestinationKind.DISCORD_CHANNEL:
        config["channel_id"] = str(destination.discord_channel_id)
    if destination.headers:
        config["headers"] = {name: "…" for name in destination.headers}  # names only: values can be credentials
    if destination.kind in (DestinationKind.NOTION, DestinationKind.CONFLUENCE):
        # An API's address is not a secret (a webhook URL can be): shown whole, unlike `url`.
        config.update(destination.config or {}, base_url=destination.url)
        config["credentials"] = {name: "…" for name in destination.credentials or {}}
    rotated_until = destination.previous_secret_expires_at
    return {
        "id": destination.pk, "kind": destination.kind, "name": destination.name, "url": mask_url(destination.url),
        "events": destination.events, "config": config, "enabled": destination.enabled,
        "disabled_reason": destination.disabled_reason, "consecutive_failures": destination.consecutive_failures,
        "secret_rotated_until": rotated_until if rotated_until and rotated_until > timezone.now() else None,
        "created_at": destination.created_at, "updated_at": destination.updated_at,
    }


def _delivery_data(delivery: Delivery, *, attempts: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": delivery.pk, "destination_id": delivery.destination_id, "summary_id": delivery.job_id,
        "event": delivery.event, "webhook_id": delivery.message_id, "status": delivery_api_status(delivery),
        "attempt_count": delivery.attempt_count, "response_code": delivery.response_code, "error": delivery.error,
        "next_attempt_at": delivery.next_attempt_at, "delivered_at": delivery.delivered_at,
        "created_at": delivery.created_at,
    }
    if not attempts:
        return DeliveryOutput(data).data
    data["attempts"] = [
        {
            "number": a.number, "at": a.started_at, "succeeded": a.succeeded, "status_code": a.status_code,
            "latency_ms": a.latency_ms, "response_body": a.response_body,
            "error": {"code": a.error_code, "message": a.error} if a.error_code else None,
        }
        for a in sorted(delivery.attempts.all(), key=lambda a: a.number)
    ]
    return DeliveryDetailOutput(data).data


class DestinationListCreateView(ApiView):
    required_scopes = {"GET": ApiScope.DESTINATIONS_READ, "POST": ApiScope.DESTINATIONS_WRITE}
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="destinations_create", request=DestinationCreateInput, responses={201: DestinationWithSecretOutput},
        description="Add a destination. A signed webhook's `secret` is in this response only: store it.",
    )
    def post(self, request: Request) -> Response:
        data = DestinationCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        created = destination_create(guild_id=request.auth.guild_id, **destination_changes(data.validated_data))
        body = {**_destination_data(created.destination), "secret": created.secret}
        return Response(DestinationWithSecretOutput(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="destinations_list", responses=DestinationOutput(many=True))
    def get(self, request: Request) -> Response:
        paginator = CursorPage()
        page = paginator.paginate_queryset(destination_list(guild_id=request.auth.guild_id), request, view=self)
        return paginator.get_paginated_response([DestinationOutput(_destination_data(d)).data for d in page or []])


DestinationListCreateView.pagination_class = CursorPage


class DestinationDetailView(ApiView):
    required_scopes = {
        "GET": ApiScope.DESTINATIONS_READ, "PATCH": ApiScope.DESTINATIONS_WRITE, "DELETE": ApiScope.DESTINATIONS_WRITE,
    }
    renderer_classes = [JSONRenderer]

    @extend_schema(operation_id="destinations_retrieve", responses=DestinationOutput)
    def get(self, request: Request, destination_id: str) -> Response:
        destination = destination_get(guild_id=request.auth.guild_id, destination_id=destination_id)
        return Response(DestinationOutput(_destination_data(destination)).data)

    @extend_schema(
        operation_id="destinations_update", request=DestinationUpdateInput, responses=DestinationOutput,
        description="Change some fields (the kind is fixed). Enabling a disabled destination clears its failures.",
    )
    def patch(self, request: Request, destination_id: str) -> Response:
        destination = destination_get(guild_id=request.auth.guild_id, destination_id=destination_id)
        data = DestinationUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        destination = destination_update(destination=destination, changes=destination_changes(data.validated_data))
        return Response(DestinationOutput(_destination_data(destination)).data)

    @extend_schema(operation_id="destinations_destroy", responses={204: None})
    def delete(self, request: Request, destination_id: str) -> Response:
        destination_delete(destination=destination_get(guild_id=request.auth.guild_id, destination_id=destination_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DestinationTestView(ApiView):
    required_scopes = {"POST": ApiScope.DESTINATIONS_WRITE}
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="destinations_test", request=None, responses=DestinationTestOutput,
        description="Send an example summary.completed event (data.test is true) now; the receiver's answer comes "
        "back here (200 whatever the receiver said; `ok` tells). Not logged as a delivery.",
    )
    def post(self, request: Request, destination_id: str) -> Response:
        destination = destination_get(guild_id=request.auth.guild_id, destination_id=destination_id)
        result = destination_test(destination=destination)
        return Response(DestinationTestOutput({
            "ok": result.ok, "webhook_id": result.webhook_id, "status_code": result.status_code,
            "latency_ms": result.latency_ms, "body": result.body,
            "error": {"code": result.error_code, "message": result.error} if result.error_code else None,
        }).data)


class DestinationRotateSecretView(ApiView):
    required_scopes = {"POST": ApiScope.DESTINATIONS_WRITE}
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="destinations_rotate_secret", request=None, responses=DestinationWithSecretOutput,
        description="A new signing secret, shown only in this response. Until `secret_rotated_until` (24 h) every "
        "event carries two signatures, one per secret, so receivers can switch without missing one.",
    )
    def post(self, request: Request, destination_id: str) -> Response:
        destination = destination_get(guild_id=request.auth.guild_id, destination_id=destination_id)
        secret = destination_rotate_secret(destination=destination)
        return Response(DestinationWithSecretOutput({**_destination_data(destination), "secret": secret}).data)


class DeliveryListView(ApiView):
    required_scopes = {"GET": ApiScope.DESTINATIONS_READ}
    renderer_classes = [JSONRenderer]

    @extend_schema(operation_id="deliveries_list", parameters=[DeliveryListFilter], responses=DeliveryOutput(many=True))
    def get(self, request: Request) -> Response:
        filters = DeliveryListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        deliveries = delivery_list(
            guild_id=request.auth.guild_id, destination_id=filters.validated_data.get("destination_id"),
            job_id=filters.validated_data.get("summary_id"), status=filters.validated_data.get("status"),
        )
        paginator = CursorPage()
        page = paginator.paginate_queryset(deliveries, request, view=self)
        return paginator.get_paginated_response([_delivery_data(d, attempts=False) for d in page or []])


DeliveryListView.pagination_class = CursorPage


class DeliveryDetailView(ApiView):
    required_scopes = {"GET": ApiScope.DESTINATIONS_READ}
    renderer_classes = [JSONRenderer]

    @extend_schema(operation_id="deliveries_retrieve", responses=DeliveryDetailOutput)
    def get(self, request: Request, delivery_id: str) -> Response:
        return Response(_delivery_data(delivery_get(guild_id=request.auth.guild_id, delivery_id=delivery_id), attempts=True))


class DeliveryReplayView(ApiView):
    required_scopes = {"POST": ApiScope.DESTINATIONS_WRITE}
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="deliveries_replay", request=None, responses={202: DeliveryDetailOutput},
        description="Send it again: the same payload and webhook-id, a new attempt now (with retries if it fails).",
    )
    def post(self, request: Request, delivery_id: str) -> Response:
        delivery = delivery_get(guild_id=request.auth.guild_id, delivery_id=delivery_id)
        delivery = delivery_replay(delivery=delivery)
        return Response(_delivery_data(delivery_get(guild_id=request.auth.guild_id, delivery_id=delivery.pk),
                                       attempts=True), status=status.HTTP_202_ACCEPTED)


# --- Zapier REST Hooks (/api/v1/hooks) -------------------------------------------------------------------
# A hook is a zapier destination with one event; only zapier destinations are hooks (others are a 404 here).

_SAMPLES_SCHEMA = {"type": "array", "maxItems": SAMPLES, "items": {"$ref": "#/components/schemas/WebhookEvent"}}


def _hook_data(hook: WebhookDestination) -> dict[str, Any]:
    return HookOutput({"id": hook.pk, "target_url": hook.url, "event": hook.events[0], "created_at": hook.created_at}).data


class HookSubscribeView(ApiView):
    required_scopes = {"POST": ApiScope.HOOKS_WRITE}
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="hooks_subscribe", request=HookSubscribeInput, responses={201: HookOutput, 200: HookOutput},
        description="Zapier's performSubscribe: every `event` of the key's guild is POSTed to `target_url` (the "
        "WebhookEvent document, headers webhook-id and webhook-timestamp) until unsubscribed. Subscribing the same "
        "URL and event again answers 200 with the same hook. A 410 Gone from the target unsubscribes it.",
    )
    def post(self, request: Request) -> Response:
        data = HookSubscribeInput(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = hook_subscribe(guild_id=request.auth.guild_id, **data.validated_data)
        return Response(
            _hook_data(subscription.hook), status=status.HTTP_201_CREATED if subscription.created else status.HTTP_200_OK
        )


class HookDetailView(ApiView):
    required_scopes = {"DELETE": ApiScope.HOOKS_WRITE}
    renderer_classes = [JSONRenderer]

    @extend_schema(operation_id="hooks_unsubscribe", responses={204: None},
                   description="Zapier's performUnsubscribe: no more events to this hook.")
    def delete(self, request: Request, hook_id: str) -> Response:
        hook_unsubscribe(hook=hook_get(guild_id=request.auth.guild_id, hook_id=hook_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class HookSamplesView(ApiView):
    required_scopes = {"GET": ApiScope.HOOKS_READ}
    renderer_classes = [JSONRenderer]

    @extend_schema(
        operation_id="hooks_samples", parameters=[HookSamplesFilter], responses={200: _SAMPLES_SCHEMA},
        description="Zapier's performList: a bare array, newest first, of the guild's last 3 events of this type "
        "exactly as a hook receives them; one example event (`data.test` true) while there is none yet.",
    )
    def get(self, request: Request) -> Response:
        filters = HookSamplesFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return Response(hook_samples(guild_id=request.auth.guild_id, event=filters.validated_data["event"]))
