"""Zapier REST Hooks: the event document POSTed as JSON to the target URL a Zap subscribed with.

The body is the signed webhook's, byte for byte (`OutboundMessage.body()`), so a Zap's sample (GET
/api/v1/hooks/samples) and a live event map the same fields. Zapier verifies no signature and the hook has
no secret anyone could verify with, so none is sent; `webhook-id` (stable across retries: a Zap can filter
duplicates on it) and `webhook-timestamp` are, as Standard Webhooks names them.

A 410 Gone is Zapier's "this subscription no longer exists" (the Zap was turned off or deleted without
unsubscribing): `HookGone` tells the delivery service to unsubscribe the hook instead of retrying. Every
other answer follows the usual rules (`expect_success`).
"""

from __future__ import annotations

from django.utils import timezone

from webhooks.http import ReceiverRejected, expect_success, outbound_client
from webhooks.payloads import OutboundMessage
from webhooks.transports.base import Receipt, Transport

GONE = 410


class HookGone(ReceiverRejected):
    """The target answered 410: stop sending to it (the delivery service disables the destination)."""

    code = "hook_gone"
    permanent = True
    unsubscribes = True


class ZapierHookTransport(Transport):
    kind = "zapier"

    def deliver(self, message: OutboundMessage) -> Receipt:
        headers = {
            "Content-Type": "application/json",
            "webhook-id": message.webhook_id,
            "webhook-timestamp": str(int(timezone.now().timestamp())),
        }
        response = outbound_client().post(self.destination.url, content=message.body(), headers=headers)
        if response.status_code == GONE:
            raise HookGone(
                "The Zapier hook answered 410 Gone: the Zap unsubscribed.", status_code=GONE, body=response.text(),
                permanent=True,
            )
        expect_success(response)
        return Receipt(status_code=response.status_code, body=response.text())
