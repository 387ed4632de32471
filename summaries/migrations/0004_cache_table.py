"""The database cache's table, so that `migrate` alone sets up a database.

Without it every worker died at spawn with "no such table: summarybot_cache" until an operator ran
`createcachetable`, a step no Docker entrypoint or release job runs. The table is created whatever cache
backend is configured at migrate time: a deployment that drops REDIS_URL later needs no other step.
`createcachetable` stays harmless: it skips a table that exists.
"""

from django.conf import settings
from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations


def _table_names() -> set[str]:
    names = {getattr(settings, "DATABASE_CACHE_TABLE", "summarybot_cache")}
    for config in settings.CACHES.values():
        if config.get("BACKEND") == "django.core.cache.backends.db.DatabaseCache":
            names.add(config["LOCATION"])
    return names


def create_cache_tables(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    for name in sorted(_table_names()):
        command.create_table(schema_editor.connection.alias, name, dry_run=False)


def drop_cache_tables(apps, schema_editor):
    existing = set(schema_editor.connection.introspection.table_names())
    for name in sorted(_table_names() & existing):
        schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [("summaries", "0003_worker_schedules")]

    operations = [migrations.RunPython(create_cache_tables, drop_cache_tables)]
