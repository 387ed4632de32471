"""`python manage.py qcluster`: django-q2's cluster, serving its workers' metrics on METRICS_PORT when set.

The listener must live in the cluster's first process: django-q2's workers are forked and recycled, so no
port of theirs would stay put. This app comes before django_q in INSTALLED_APPS so this command is the one
`qcluster` runs; everything else is django-q2's own.
"""

from __future__ import annotations

import gc
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django_q.management.commands.qcluster import Command as DjangoQClusterCommand

from summarybot.metrics_server import metrics_server_from_settings


class Command(DjangoQClusterCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        if settings.METRICS_PORT is not None and not settings.PROMETHEUS_MULTIPROC_DIR:
            raise CommandError(
                "METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR on a worker: its forked processes count there."
            )
        try:
            metrics_server_from_settings(process="worker")
        except OSError as exc:
            raise CommandError(
                f"Cannot serve metrics on {settings.METRICS_BIND}:{settings.METRICS_PORT}: {exc}"
            ) from None
        # The cluster forks its sentinel, worker, monitor and pusher from this process, and forks a new worker
        # each time one is recycled. A collection in a child walks every object it inherited and writes to
        # their pages, so each child ends up with a private copy of what it could have shared. Frozen objects
        # are never walked: the children keep sharing them (the `gc.freeze` recipe of the gc module's docs).
        gc.freeze()
        super().handle(*args, **options)
