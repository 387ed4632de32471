import logging

from django.apps import AppConfig

logger = logging.getLogger(__name__)


class SummariesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "summaries"
    verbose_name = "Summaries"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        post_spawn.connect(_on_worker_spawn, dispatch_uid="summaries.worker_spawn")


def _on_worker_spawn(sender: object, proc_name: str, **kwargs: object) -> None:
    # Imported here so web and bot processes never load the worker's modules; an exception escaping a
    # post_spawn receiver kills the worker and django-q2 respawns it at once, in a loop.
    try:
        from summaries.tasks import on_worker_spawn
    except Exception:  # noqa: BLE001  see above
        logger.exception("the worker's task module does not import; jobs will fail until it is fixed")
        return
    on_worker_spawn(sender, proc_name=proc_name, **kwargs)
