"""The REST API's shapes for schedules: what a definition may say, and what a schedule looks like.

Input serializers check each field's shape and name the field that is wrong; what makes a whole schedule
(one scope, what each frequency needs, channels of this server) is summaries/services/schedules.py's to
say, in a message.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from guilds.models import SummaryFormat, validate_language, validate_timezone
from summaries.models import Schedule, ScheduleFrequency, ScheduleMode
from summaries.schedule_times import MAX_EVERY_HOURS, MAX_LOOKBACK_HOURS
from summaries.selectors import schedule_scope_label
from summaries.serializers.common import MAX_SNOWFLAKE, SnowflakeField, StrictInput
from summaries.services.schedules import MAX_MESSAGES_THRESHOLD, MAX_SCOPE_CHANNELS

# Excluded from a category or the whole server: generous, but bounded like every list we accept.
MAX_EXCLUDED_CHANNELS = 500
MAX_DESTINATIONS = 50

_TIME_OF_DAY = re.compile(r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$")


@extend_schema_field({"type": "string", "pattern": _TIME_OF_DAY.pattern, "example": "09:00"})
class TimeOfDayField(serializers.Field):
    """A local wall-clock time, "HH:MM" (24-hour)."""

    default_error_messages = {"invalid": 'Must be a time of day as "HH:MM" (24-hour).'}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or not _TIME_OF_DAY.match(data.strip()):
            self.fail("invalid")
        return data.strip()

    def to_representation(self, value: time) -> str:
        return value.strftime("%H:%M")


def _snowflake_list(help_text: str, max_length: int) -> serializers.ListField:
    return serializers.ListField(child=SnowflakeField(), required=False, max_length=max_length, help_text=help_text)


class ScheduleInput(StrictInput):
    """A schedule's definition: POST needs `name` and `frequency`, PATCH takes any of the fields. This checks
    each field's shape; what makes a whole schedule (one scope, what each frequency needs, channels of this
    server) is the service's to say."""

    read_only_names = ("id", "scope", "paused_reason", "consecutive_failures", "next_run_at", "last_run_at")

    name = serializers.CharField(max_length=100)
    channel_ids = _snowflake_list("The channels or threads to summarize (one scope of three)", MAX_SCOPE_CHANNELS)
    category_id = SnowflakeField(required=False, allow_null=True, help_text="A category's text channels (one scope of three)")
    whole_guild = serializers.BooleanField(required=False, help_text="The whole server (one scope of three)")
    excluded_channel_ids = _snowflake_list("Left out of a category or whole-server scope", MAX_EXCLUDED_CHANNELS)
    frequency = serializers.ChoiceField(choices=ScheduleFrequency.choices)
    every_hours = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_EVERY_HOURS, help_text="For every_n_hours"
    )
    cron = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="For cron: five fields, in the schedule's time zone"
    )
    time_of_day = TimeOfDayField(
        required=False, allow_null=True, help_text="Local time; daily, weekly and monthly need it, hourly reads its minute"
    )
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), required=False, max_length=7,
        help_text="For weekly: 0 = Monday … 6 = Sunday",
    )
    day_of_month = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=31, help_text="For monthly; 29-31 mean the last day of shorter months"
    )
    timezone = serializers.CharField(
        required=False, max_length=64, validators=[validate_timezone], help_text="IANA name (default: the server's)"
    )
    lookback_hours = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_LOOKBACK_HOURS,
        help_text="How far back each run reads (default: the time since the previous slot)",
    )
    format = serializers.ChoiceField(
        choices=SummaryFormat.choices, required=False, allow_blank=True, help_text="Empty: each channel's default"
    )
    language = serializers.CharField(
        required=False, allow_blank=True, max_length=16, validators=[validate_language],
        help_text="auto, a code, or empty for each channel's default",
    )
    min_messages = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_MESSAGES_THRESHOLD, help_text="Quieter channels are skipped (default 5)"
    )
    mode = serializers.ChoiceField(choices=ScheduleMode.choices, required=False)
    discord_channel_id = SnowflakeField(
        required=False, allow_null=True, help_text="Where to post the digests (default: each channel itself)"
    )
    destination_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_SNOWFLAKE), required=False, max_length=MAX_DESTINATIONS,
    )
    enabled = serializers.BooleanField(required=False, help_text="false pauses it, true resumes it")


class ScheduleUpdatedEventInput(ScheduleInput):
    """The data of an inbound `schedule.updated` event: which schedule, and the fields to change as PATCH
    takes them (read with partial=True)."""

    schedule_id = serializers.IntegerField(min_value=1, max_value=MAX_SNOWFLAKE)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "schedule_id" not in attrs:
            raise serializers.ValidationError({"schedule_id": ["This field is required."]})
        return attrs


class ScheduleListFilter(serializers.Serializer):
    enabled = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: running ones; false: paused ones"
    )
    cursor = serializers.CharField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100)


class SchedulePauseInput(StrictInput):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Shown with it (default: paused by an admin)"
    )


class ScheduleOutput(serializers.Serializer):
    """A schedule as the API shows it: its definition, a readable scope, and the state its runs keep."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    scope = serializers.SerializerMethodField(help_text='Readable: "#general, #dev", "category Projects", "whole server"')
    channel_ids = serializers.ListField(child=SnowflakeField())
    category_id = SnowflakeField(allow_null=True)
    whole_guild = serializers.BooleanField()
    excluded_channel_ids = serializers.ListField(child=SnowflakeField())
    frequency = serializers.ChoiceField(choices=ScheduleFrequency.choices)
    every_hours = serializers.IntegerField(allow_null=True)
    cron = serializers.CharField(allow_blank=True)
    time_of_day = TimeOfDayField(allow_null=True)
    weekdays = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=6))
    day_of_month = serializers.IntegerField(allow_null=True)
    timezone = serializers.CharField()
    lookback_hours = serializers.IntegerField(allow_null=True)
    format = serializers.CharField(allow_blank=True)
    language = serializers.CharField(allow_blank=True)
    min_messages = serializers.IntegerField()
    mode = serializers.ChoiceField(choices=ScheduleMode.choices)
    discord_channel_id = SnowflakeField(allow_null=True)
    destination_ids = serializers.SerializerMethodField()
    enabled = serializers.BooleanField()
    paused_reason = serializers.CharField(allow_blank=True, help_text="Why it is paused (empty when it runs)")
    consecutive_failures = serializers.IntegerField(help_text="Failed runs in a row; at 3 it pauses itself")
    next_run_at = serializers.DateTimeField(allow_null=True)
    last_run_at = serializers.DateTimeField(allow_null=True)

    def get_scope(self, schedule: Schedule) -> str:
        return schedule_scope_label(schedule)

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_destination_ids(self, schedule: Schedule) -> list[int]:
        return sorted(destination.pk for destination in schedule.destinations.all())


class ScheduleRunOutput(serializers.Serializer):
    schedule_id = serializers.IntegerField()
    slot = serializers.DateTimeField(help_text="The run's moment: its summaries cover the period that ends then")
    summary_ids = serializers.ListField(
        child=serializers.UUIDField(),
        help_text="The run's summaries made so far (usually none yet: the run is queued); see summaries_url",
    )
    summaries_url = serializers.URLField(help_text="The schedule's summaries, newest first")
