"""Registers the daily retention run with django-q2's scheduler (any `qcluster` runs it). Idempotent."""

from django.db import migrations

NAME = "summaries: apply each guild's retention"


def register(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME, defaults={"func": "summaries.tasks.apply_retention", "schedule_type": "D", "repeats": -1}
    )


def unregister(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("summaries", "0011_citation_author"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(register, unregister)]
