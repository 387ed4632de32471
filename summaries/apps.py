from django.apps import AppConfig


class SummariesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "summaries"
    verbose_name = "Summaries"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        post_spawn.connect(_check_llm_on_worker_start, dispatch_uid="summaries.llm_readiness")


def _check_llm_on_worker_start(sender: object, proc_name: str, **kwargs: object) -> None:
    # A misconfigured model or key shows up in the worker's log at start, not at the first job; the
    # answer is cached, so N workers spawning cost one /models request.
    from summaries.llm.readiness import log_llm_readiness

    log_llm_readiness()
