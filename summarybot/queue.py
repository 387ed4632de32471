"""django-q2's ORM broker, except that enqueueing leaves the caller's database connection alone.

The stock broker calls `close_old_connections()` whenever it is asked for its queryset, enqueue included.
That is right for the cluster's own long-running loops (dequeue, acknowledge: they have no request around
them to recycle connections), but an enqueue runs inside a caller that already manages its connection (a
web request, the bot's `database_sync_to_async`, a task). There it closed the connection in the middle of
the work when it had reached its maximum age (always, at the age of 0 that web processes use under ASGI),
and the queue insert right after opened a new one: on SQLite a checkpoint and an fsync of the WAL file and
a reconnect for every summary requested over the API.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import OrmQ


class OrmBroker(ORM):
    def __init__(self, list_key: str | None = None) -> None:
        # Broker.__init__ would fetch a connection (closing old ones) that nothing here uses.
        self.list_key = list_key or Conf.CLUSTER_NAME
        self.connection = OrmQ.objects.using(Conf.ORM)
        self.cache = self.get_cache()
        self._info = None

    def enqueue(self, task: Any) -> Any:
        # list_key might be empty (as the stock broker notes) but OrmQ.key may not be null.
        package = OrmQ.objects.using(Conf.ORM).create(
            key=self.list_key or Conf.CLUSTER_NAME, payload=task, lock=timezone.now()
        )
        return package.pk
