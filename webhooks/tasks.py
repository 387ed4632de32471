"""django-q2 entry points for deliveries: sync functions taking primitive ids, each calling one service."""

from __future__ import annotations

from webhooks.services.deliveries import deliveries_sweep, delivery_run


def send_delivery(delivery_id: int) -> str:
    return delivery_run(delivery_id=delivery_id)


def sweep_deliveries() -> int:
    """Every minute: queue due retries, take back deliveries whose worker died mid-attempt."""
    return deliveries_sweep()
