"""Signed webhooks: the event document POSTed as JSON, signed per Standard Webhooks.

Headers: `webhook-id` (stable for the event and destination: receivers de-duplicate on it),
`webhook-timestamp` (now, per attempt: receivers refuse stale ones), `webhook-signature` (`v1,<base64>`;
during a secret rotation's overlap a second one, space-separated, with the previous secret), plus the
destination's own extra headers.
"""

from __future__ import annotations

from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from webhooks.http import expect_success, outbound_client
from webhooks.payloads import OutboundMessage
from webhooks.transports.base import Receipt, Transport


def signatures(*, secrets: list[str], webhook_id: str, timestamp: object, body: str) -> str:
    return " ".join(Webhook(secret).sign(msg_id=webhook_id, timestamp=timestamp, data=body) for secret in secrets)


class SignedWebhookTransport(Transport):
    kind = "webhook"

    def signing_secrets(self) -> list[str]:
        destination = self.destination
        secrets = [destination.secret]
        expires = destination.previous_secret_expires_at
        if destination.previous_secret and expires is not None and expires > timezone.now():
            secrets.append(destination.previous_secret)
        return secrets

    def deliver(self, message: OutboundMessage) -> Receipt:
        body = message.body()
        now = timezone.now().replace(microsecond=0)
        headers = {
            **{str(k): str(v) for k, v in (self.destination.headers or {}).items()},
            "Content-Type": "application/json",
            "webhook-id": message.webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signatures(
                secrets=self.signing_secrets(), webhook_id=message.webhook_id, timestamp=now, body=body.decode()
            ),
        }
        response = expect_success(outbound_client().post(self.destination.url, content=body, headers=headers))
        return Receipt(status_code=response.status_code, body=response.text())
