# Schedules grow into issue 11: multi-channel scopes, more frequencies, a post channel, failure accounting.

import datetime

import django.core.validators
import guilds.models
from django.db import migrations, models


def reshape(apps, schema_editor):
    """Carry schedules made with the first shape over: one channel/category/guild scope and one weekday
    become the lists and flags; a daily or weekly schedule without a time runs at midnight, as before."""
    Schedule = apps.get_model("summaries", "Schedule")
    for schedule in Schedule.objects.all():
        if schedule.scope == "guild":
            schedule.whole_guild = True
        elif schedule.scope == "category":
            schedule.category_id = schedule.channel_id
        elif schedule.channel_id is not None:
            schedule.channel_ids = [schedule.channel_id]
        if schedule.weekday is not None:
            schedule.weekdays = [schedule.weekday]
        if schedule.frequency in ("daily", "weekly") and schedule.time_of_day is None:
            schedule.time_of_day = datetime.time(0, 0)
        schedule.save()


class Migration(migrations.Migration):

    dependencies = [
        ('guilds', '0004_guild_log_channel'),
        ('summaries', '0008_catch_up'),
        ('webhooks', '0002_inbound'),
    ]

    operations = [
        migrations.AddField(
            model_name='schedule',
            name='category_id',
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='schedule',
            name='channel_ids',
            field=models.JSONField(blank=True, default=list, help_text='Channel or thread ids'),
        ),
        migrations.AddField(
            model_name='schedule',
            name='day_of_month',
            field=models.PositiveSmallIntegerField(blank=True, help_text='29-31 run on the last day of shorter months', null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(31)]),
        ),
        migrations.AddField(
            model_name='schedule',
            name='every_hours',
            field=models.PositiveSmallIntegerField(blank=True, null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(168)]),
        ),
        migrations.AddField(
            model_name='schedule',
            name='excluded_channel_ids',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='schedule',
            name='last_outcome_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='schedule',
            name='lookback_hours',
            field=models.PositiveSmallIntegerField(blank=True, help_text='Empty = the time since the previous run', null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(744)]),
        ),
        migrations.AddField(
            model_name='schedule',
            name='min_messages',
            field=models.PositiveIntegerField(default=5, help_text='A channel with fewer messages in the window is skipped, not summarized', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(10000)]),
        ),
        migrations.AddField(
            model_name='schedule',
            name='mode',
            field=models.CharField(choices=[('combined', 'One digest with a section per channel'), ('per_channel', 'One summary per channel')], default='per_channel', max_length=16),
        ),
        migrations.AddField(
            model_name='schedule',
            name='weekdays',
            field=models.JSONField(blank=True, default=list, help_text='0 = Monday … 6 = Sunday'),
        ),
        migrations.AddField(
            model_name='schedule',
            name='whole_guild',
            field=models.BooleanField(default=False),
        ),
        migrations.RenameField(
            model_name='schedule',
            old_name='post_to_channel_id',
            new_name='discord_channel_id',
        ),
        migrations.AlterField(
            model_name='schedule',
            name='discord_channel_id',
            field=models.BigIntegerField(blank=True, help_text='Where to post; empty = each channel itself', null=True),
        ),
        migrations.AlterField(
            model_name='schedule',
            name='format',
            field=models.CharField(blank=True, choices=[('brief', 'Brief'), ('structured', 'Structured'), ('detailed', 'Detailed'), ('technical', 'Technical')], help_text="Empty = the channel's default", max_length=16),
        ),
        migrations.AlterField(
            model_name='schedule',
            name='frequency',
            field=models.CharField(choices=[('hourly', 'Every hour'), ('every_n_hours', 'Every N hours'), ('daily', 'Every day'), ('weekly', 'On chosen days of the week'), ('monthly', 'Once a month'), ('cron', 'Cron expression')], default='daily', max_length=16),
        ),
        migrations.AlterField(
            model_name='schedule',
            name='language',
            field=models.CharField(blank=True, help_text="Empty = the channel's default", max_length=16, validators=[guilds.models.validate_language]),
        ),
        migrations.AlterField(
            model_name='schedule',
            name='time_of_day',
            field=models.TimeField(blank=True, help_text='Local time; for hourly only its minute counts', null=True),
        ),
        migrations.RunPython(reshape, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name='schedule',
            name='summaries_schedule_scope_has_channel',
        ),
        migrations.RemoveConstraint(
            model_name='schedule',
            name='summaries_schedule_weekly_has_day',
        ),
        migrations.RemoveField(
            model_name='schedule',
            name='channel_id',
        ),
        migrations.RemoveField(
            model_name='schedule',
            name='scope',
        ),
        migrations.RemoveField(
            model_name='schedule',
            name='weekday',
        ),
        migrations.AddConstraint(
            model_name='schedule',
            constraint=models.CheckConstraint(condition=models.Q(('whole_guild', True), ('category_id__isnull', False), _negated=True), name='summaries_schedule_one_scope'),
        ),
        migrations.AddConstraint(
            model_name='schedule',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('frequency', 'every_n_hours'), _negated=True), models.Q(('every_hours__gte', 1), ('every_hours__isnull', False), ('every_hours__lte', 168)), _connector='OR'), name='summaries_schedule_every_hours_in_range'),
        ),
        migrations.AddConstraint(
            model_name='schedule',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('frequency__in', ['daily', 'weekly', 'monthly']), _negated=True), ('time_of_day__isnull', False), _connector='OR'), name='summaries_schedule_has_time_of_day'),
        ),
        migrations.AddConstraint(
            model_name='schedule',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('frequency', 'monthly'), _negated=True), models.Q(('day_of_month__gte', 1), ('day_of_month__isnull', False), ('day_of_month__lte', 31)), _connector='OR'), name='summaries_schedule_monthly_has_day'),
        ),
        migrations.AddConstraint(
            model_name='schedule',
            constraint=models.CheckConstraint(condition=models.Q(('lookback_hours__isnull', True), models.Q(('lookback_hours__gte', 1), ('lookback_hours__lte', 744)), _connector='OR'), name='summaries_schedule_lookback_in_range'),
        ),
        migrations.AddConstraint(
            model_name='schedule',
            constraint=models.CheckConstraint(condition=models.Q(('min_messages__gte', 1)), name='summaries_schedule_min_messages_positive'),
        ),
    ]
