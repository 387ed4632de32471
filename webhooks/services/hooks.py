"""Zapier REST Hooks: a Zap subscribes a target URL to one event and unsubscribes it when turned off.

A hook is a `zapier` destination of the key's guild with exactly one event, so everything a destination
gets it gets too: the URL rules (HTTPS, the SSRF guard), encryption at rest, deliveries with retries and
their log. Subscribing is idempotent: the same target URL and event give back the same hook (enabled again
if a 410 had unsubscribed it), because Zapier may repeat a subscribe whose answer it did not get.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction

from guilds.models import Guild
from summarybot.errors import InvalidInput
from webhooks.http import check_url
from webhooks.models import DeliveryEvent, DestinationKind, WebhookDestination
from webhooks.services.destinations import destination_create, destination_delete, destination_enable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Subscription:
    hook: WebhookDestination
    created: bool  # False: the same target URL and event were subscribed already


def hook_subscribe(*, guild_id: int, target_url: str, event: str) -> Subscription:
    if event not in DeliveryEvent.values:
        raise InvalidInput(f"Unknown event {event!r}.", details={"valid_events": list(DeliveryEvent.values)})
    url = check_url(target_url)
    with transaction.atomic():
        # One subscribe at a time per guild: URLs are encrypted (not comparable in SQL), so the check for an
        # existing hook reads them, and two concurrent subscribes must not both miss each other.
        Guild.objects.select_for_update().filter(pk=guild_id).first()
        for hook in WebhookDestination.objects.filter(guild_id=guild_id, kind=DestinationKind.ZAPIER).order_by("pk"):
            if hook.url == url and hook.events == [event]:
                if not hook.enabled:
                    destination_enable(destination=hook)
                return Subscription(hook=hook, created=False)
        created = destination_create(guild_id=guild_id, kind=DestinationKind.ZAPIER, name=f"Zapier ({event})",
                                     url=url, events=[event])
    logger.info("hook subscribed", extra={"guild_id": guild_id, "destination_id": created.destination.pk})
    return Subscription(hook=created.destination, created=True)


def hook_unsubscribe(*, hook: WebhookDestination) -> None:
    """Deleted with its delivery log: Zapier unsubscribes when a Zap is turned off or deleted."""
    destination_delete(destination=hook)
