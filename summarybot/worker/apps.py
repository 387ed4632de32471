from django.apps import AppConfig


class WorkerConfig(AppConfig):
    """The worker's `qcluster` command: django-q2's, with the metrics listener (listed before django_q to win)."""

    name = "summarybot.worker"
    label = "summarybot_worker"
    verbose_name = "Worker process"
