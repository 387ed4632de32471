"""Registers the daily deletion of old member activity with django-q2's scheduler (any `qcluster` runs it)."""

from django.db import migrations

NAME = "guilds: forget member activity older than 30 days"


def register(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME, defaults={"func": "guilds.tasks.forget_old_activity", "schedule_type": "D", "repeats": -1}
    )


def unregister(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("guilds", "0002_channel_activity"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(register, unregister)]
