"""A delivery whose queued task was lost moves again within about a minute, and never posts twice: the sweep
against the ORM broker's real queue, a real receiver on a socket, a live attempt on another thread."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from django_q.models import OrmQ

from tests.fakes.webhook_receiver import WebhookReceiver
from tests.webhooks.test_deliveries import _one_delivery
from tests.webhooks.test_worker_delivery import run_queued
from webhooks.models import Delivery, DeliveryStatus
from webhooks.services.deliveries import deliveries_sweep, delivery_run


@pytest.fixture(autouse=True)
def _private_receivers(settings):  # type: ignore[no-untyped-def]
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True  # the receivers listen on 127.0.0.1
    settings.DELIVERY_REQUEUE_SECONDS = 60


@pytest.mark.django_db
def test_a_delivery_whose_task_was_lost_is_queued_again_after_a_minute_and_sent_once():
    with WebhookReceiver() as receiver, time_machine.travel(timezone.now(), tick=False) as clock:
        # Not in a committed transaction, so its on_commit enqueue never ran: the task is lost, the queue empty.
        delivery, *_ = _one_delivery(receiver.url)
        assert OrmQ.objects.count() == 0
        clock.shift(timedelta(seconds=30))
        assert deliveries_sweep() == 0  # it may still be on its way to a worker
        clock.shift(timedelta(seconds=31))
        assert deliveries_sweep() == 1
        assert run_queued() == [DeliveryStatus.SUCCEEDED]
        clock.shift(timedelta(minutes=2))
        assert deliveries_sweep() == 0
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempt_count == 1


@pytest.mark.django_db
def test_a_delivery_whose_task_is_still_queued_is_not_doubled_before_the_ten_minute_backstop(
    django_capture_on_commit_callbacks,
):
    with WebhookReceiver() as receiver, time_machine.travel(timezone.now(), tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            delivery, *_ = _one_delivery(receiver.url)
        assert OrmQ.objects.count() == 1
        # A backlog: the task waits its turn. The queue holds as many tasks as are waiting, so none is lost.
        clock.shift(timedelta(minutes=5))
        assert deliveries_sweep() == 0 and OrmQ.objects.count() == 1
        clock.shift(timedelta(minutes=6))
        assert deliveries_sweep() == 1 and OrmQ.objects.count() == 2
        # Both copies run: the first sends, the second finds nothing due.
        assert run_queued() == [DeliveryStatus.SUCCEEDED, "skipped"]
    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_a_sweep_and_a_second_attempt_racing_a_live_attempt_never_post_twice():
    with WebhookReceiver(latency=1.5) as receiver:
        delivery, *_ = _one_delivery(receiver.url)  # committed: its task is on the queue
        # The task waited in the queue longer than the requeue window before a worker took it.
        Delivery.objects.filter(pk=delivery.pk).update(queued_at=timezone.now() - timedelta(minutes=5))
        results: list[str] = []

        def worker() -> None:
            try:
                results.extend(run_queued())
            finally:
                connection.close()

        live = threading.Thread(target=worker)
        live.start()
        deadline = time.monotonic() + 10
        while not Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.IN_PROGRESS).exists():
            assert time.monotonic() < deadline, "the worker never claimed the delivery"
            time.sleep(0.02)
        # While the receiver is still answering: the sweep queues nothing, a second task sends nothing.
        assert deliveries_sweep() == 0
        assert OrmQ.objects.count() == 0
        assert delivery_run(delivery_id=delivery.pk) == "skipped"
        live.join(timeout=30)
        assert results == [DeliveryStatus.SUCCEEDED]
        assert deliveries_sweep() == 0
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempt_count == 1
