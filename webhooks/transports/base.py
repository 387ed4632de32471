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

from webhooks.models import WebhookDestination
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

    def deliver(self, message: OutboundMessage) -> Receipt:
        raise NotImplementedError
