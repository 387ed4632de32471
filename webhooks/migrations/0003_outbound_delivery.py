"""Outbound delivery: destination URLs encrypted at rest, secret rotation, the Discord webhook kind, deliveries
keyed by job (a failed job has no Summary), one per (job, destination, event), and the attempt log.

The URL column is converted without a moment of plaintext-in-an-encrypted-column: a new encrypted column is
filled from the old one, the old one dropped, the new one renamed. Deliveries were never sent before this
migration (nothing sent); any row is given its summary's job, and rows without one are dropped (they could
never be sent or shown). The old status "failed" meant "will retry": it becomes "retrying".
"""

import django.db.models.deletion
import summarybot.db
from django.db import migrations, models


def encrypt_urls(apps, schema_editor):
    Destination = apps.get_model("webhooks", "WebhookDestination")
    for pk, url in Destination.objects.exclude(url="").values_list("pk", "url"):
        Destination.objects.filter(pk=pk).update(url_encrypted=url)  # the field encrypts on the way in


def decrypt_urls(apps, schema_editor):
    Destination = apps.get_model("webhooks", "WebhookDestination")
    for destination in Destination.objects.all():
        Destination.objects.filter(pk=destination.pk).update(url=destination.url_encrypted[:500])


def attach_jobs(apps, schema_editor):
    Delivery = apps.get_model("webhooks", "Delivery")
    for delivery in Delivery.objects.filter(job__isnull=True).select_related("summary"):
        if delivery.summary is not None and delivery.summary.job_id is not None:
            Delivery.objects.filter(pk=delivery.pk).update(job_id=delivery.summary.job_id)
    Delivery.objects.filter(job__isnull=True).delete()
    Delivery.objects.filter(status="failed").update(status="retrying")


class Migration(migrations.Migration):

    dependencies = [
        ('guilds', '0001_initial'),
        ('summaries', '0007_posted_messages'),
        ('webhooks', '0002_inbound'),
    ]

    operations = [
        migrations.CreateModel(
            name='DeliveryAttempt',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('number', models.PositiveIntegerField()),
                ('started_at', models.DateTimeField()),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('succeeded', models.BooleanField(default=False)),
                ('status_code', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('latency_ms', models.PositiveIntegerField(blank=True, null=True)),
                ('response_body', models.TextField(blank=True)),
                ('error_code', models.CharField(blank=True, max_length=64)),
                ('error', models.TextField(blank=True)),
            ],
        ),
        migrations.AddField(
            model_name='delivery',
            name='claim_token',
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='delivery',
            name='claimed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='delivery',
            name='queued_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='delivery',
            name='job',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='summaries.summaryjob'),
        ),
        migrations.RunPython(attach_jobs, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='delivery',
            name='job',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='summaries.summaryjob'),
        ),
        migrations.AddField(
            model_name='delivery',
            name='run_offset',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='webhookdestination',
            name='failing_since',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='webhookdestination',
            name='previous_secret',
            field=summarybot.db.EncryptedTextField(blank=True),
        ),
        migrations.AddField(
            model_name='webhookdestination',
            name='previous_secret_expires_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='status',
            field=models.CharField(choices=[('pending', 'Pending'), ('in_progress', 'Being sent'), ('succeeded', 'Succeeded'), ('retrying', 'Failed, will retry'), ('failed', 'Failed permanently'), ('dead', 'Failed every attempt, gave up')], default='pending', max_length=16),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='summary',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='summaries.summary'),
        ),
        migrations.AlterField(
            model_name='webhookdestination',
            name='kind',
            field=models.CharField(choices=[('webhook', 'Signed webhook (Standard Webhooks)'), ('discord_channel', 'Discord channel'), ('discord_webhook', 'Discord webhook URL'), ('notion', 'Notion'), ('confluence', 'Confluence'), ('zapier', 'Zapier')], max_length=24),
        ),
        migrations.RemoveConstraint(model_name='webhookdestination', name='webhooks_destination_http_needs_url'),
        migrations.AddField(
            model_name='webhookdestination',
            name='url_encrypted',
            field=summarybot.db.EncryptedTextField(blank=True),
        ),
        migrations.RunPython(encrypt_urls, decrypt_urls),
        migrations.RemoveField(model_name='webhookdestination', name='url'),
        migrations.RenameField(model_name='webhookdestination', old_name='url_encrypted', new_name='url'),
        migrations.AlterField(
            model_name='webhookdestination',
            name='url',
            field=summarybot.db.EncryptedTextField(blank=True, help_text='Receiver URL (webhook, Discord webhook, Zapier, Confluence base)'),
        ),
        migrations.AddConstraint(
            model_name='webhookdestination',
            constraint=models.CheckConstraint(condition=models.Q(('kind', 'discord_channel'), ('kind', 'notion'), models.Q(('url', ''), _negated=True), _connector='OR'), name='webhooks_destination_http_needs_url'),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(fields=['destination', '-created_at'], name='webhooks_delivery_dest_idx'),
        ),
        migrations.AddIndex(
            model_name='webhookdestination',
            index=models.Index(fields=['guild', '-created_at'], name='webhooks_destination_guild_idx'),
        ),
        migrations.AddConstraint(
            model_name='delivery',
            constraint=models.UniqueConstraint(fields=('job', 'destination', 'event'), name='webhooks_delivery_unique_event'),
        ),
        migrations.AddField(
            model_name='deliveryattempt',
            name='delivery',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attempts', to='webhooks.delivery'),
        ),
        migrations.AddConstraint(
            model_name='deliveryattempt',
            constraint=models.UniqueConstraint(fields=('delivery', 'number'), name='webhooks_attempt_unique_number'),
        ),
    ]
