"""The delivery sweeper, registered with django-q2's scheduler (run by any `qcluster`)."""

from django.db import migrations

PERIODIC = [
    # name, function, minutes
    ("webhooks: queue due delivery retries", "webhooks.tasks.sweep_deliveries", 1),
]


def register(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, minutes in PERIODIC:
        Schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": "I", "minutes": minutes, "repeats": -1}
        )


def unregister(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name__in=[name for name, _, _ in PERIODIC]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0003_outbound_delivery"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(register, unregister)]
