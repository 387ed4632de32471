"""The interface every destination kind implements (healthchecks' `Transport` shape).

`deliver()` sends one event and returns the receiver's answer, or raises a SummaryBotError whose
`permanent` flag says whether another attempt could help and whose `retry_after` (when set) says how long
the receiver asked us to wait. Retrying, logging and scheduling belong to the delivery service, once for
every kind: a transport makes exactly one attempt.

Adding a kind (Notion, Confluence, Zapier REST Hooks) is one subclass and one entry in
`webhooks.transports.TRANSPORTS`; those that call HTTP APIs go through `webhooks.http.outbound_client()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from summarybot.errors import InvalidInput
from webhooks.models import Delivery, WebhookDestination
from webhooks.payloads import OutboundMessage


@dataclass(frozen=True, slots=True)
class Receipt:
    status_code: int | None
    body: str = ""


class Transport:
    kind: ClassVar[str]
    # Whether the destination is reached at a URL we must vet (the SSRF guard, HTTPS).
    uses_url: ClassVar[bool] = True

    def __init__(self, destination: WebhookDestination) -> None:
        self.destination = destination

    @classmethod
    def clean(cls, destination: WebhookDestination) -> None:
        """Check and normalize the kind's own settings (`config`, `credentials`) before a save; InvalidInput
        if they are wrong. Kinds without settings of their own take none (a stray one would be kept unused)."""
        if destination.config or destination.credentials:
            raise InvalidInput(f"Destinations of kind {destination.kind!r} take no config settings or credentials.")

    def deliver(self, message: OutboundMessage) -> Receipt:
        raise NotImplementedError

    # Transports whose one attempt makes several requests (a Notion page, then its remaining blocks) keep
    # what they made on the delivery, so that the next attempt continues it instead of making another.
    # Keyed by the webhook-id; a test event has no delivery and nothing is kept.

    @staticmethod
    def remembered(message: OutboundMessage) -> str:
        return Delivery.objects.filter(message_id=message.webhook_id).values_list("external_id", flat=True).first() or ""

    @staticmethod
    def remember(message: OutboundMessage, external_id: str) -> None:
        Delivery.objects.filter(message_id=message.webhook_id).update(external_id=external_id)
