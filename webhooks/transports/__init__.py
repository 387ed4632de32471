"""One transport class per destination kind, chosen from one table: a new kind is one class and one entry.

A kind without a class here is refused with a clear message when a destination of it is created.
"""

from __future__ import annotations

from summarybot.errors import InvalidInput
from webhooks.models import DestinationKind, WebhookDestination
from webhooks.transports.base import Receipt, Transport
from webhooks.transports.confluence import ConfluenceTransport
from webhooks.transports.discord import DiscordChannelTransport, DiscordWebhookTransport
from webhooks.transports.notion import NotionTransport
from webhooks.transports.signed_webhook import SignedWebhookTransport
from webhooks.transports.zapier import ZapierHookTransport

TRANSPORTS: dict[str, type[Transport]] = {
    DestinationKind.WEBHOOK: SignedWebhookTransport,
    DestinationKind.DISCORD_CHANNEL: DiscordChannelTransport,
    DestinationKind.DISCORD_WEBHOOK: DiscordWebhookTransport,
    DestinationKind.NOTION: NotionTransport,
    DestinationKind.CONFLUENCE: ConfluenceTransport,
    DestinationKind.ZAPIER: ZapierHookTransport,
}


def supported_kinds() -> list[str]:
    return [str(kind) for kind in TRANSPORTS]


def transport_for(destination: WebhookDestination) -> Transport:
    cls = TRANSPORTS.get(destination.kind)
    if cls is None:
        raise InvalidInput(
            f"Destinations of kind {destination.kind!r} are not available yet; use one of: {', '.join(supported_kinds())}."
        )
    return cls(destination)


__all__ = ["TRANSPORTS", "Receipt", "Transport", "supported_kinds", "transport_for"]
