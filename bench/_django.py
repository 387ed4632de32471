"""Django for a benchmark: development settings on a throwaway SQLite file, migrated, logs quiet; and the
environment of a benchmark's child process that runs as production does."""

from __future__ import annotations

import os
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def production_child_env(settings_module: str = "_bench_production_settings") -> dict[str, str]:
    """For a child process (server, worker, bot) on one of bench/'s settings modules, which import
    _bench_production_settings: DEBUG off there, DJANGO_DEBUG=true here only to lend the development secrets."""
    return {
        "DJANGO_SETTINGS_MODULE": settings_module,
        "DJANGO_DEBUG": "true",
        "PYTHONPATH": os.pathsep.join([str(BENCH), str(BENCH.parent)]),
    }


def setup_django(db_path: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "summarybot.settings"
    os.environ.setdefault("DJANGO_DEBUG", "true")
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
