"""The dashboard's schedule form: it types the input and hands summaries/services/schedules.py exactly the
arguments schedule_create / schedule_update take; what makes a valid schedule is the service's to say."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone as dj_timezone

from guilds.models import SummaryFormat
from summaries.models import Schedule, ScheduleFrequency, ScheduleMode
from summaries.schedule_times import ScheduleTiming, next_fires, timing_of
from summaries.services.dashboard import ScheduleFormChoices
from summarybot.errors import SummaryBotError

PREVIEW_RUNS = 3
WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]
SCOPE_CHANNELS, SCOPE_CATEGORY, SCOPE_WHOLE_GUILD = "channels", "category", "whole_guild"
_TIMING_FIELDS = ("frequency", "every_hours", "cron", "time_of_day", "weekdays", "day_of_month", "timezone")

# Which field a service message is about, for the messages that say so (by the argument's name, or by
# the words the service uses for it); the first that matches wins, anything else goes above the form.
_FIELD_OF_MESSAGE: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (field, re.compile(pattern, re.IGNORECASE))
    for field, pattern in (
        ("discord_channel_id", r"\bdiscord_channel_id\b|channel to post in|post digests in"),
        ("destination_ids", r"\bdestination"),
        ("excluded_channel_ids", r"\bexcluded_channel_ids\b"),
        ("category_id", r"\bcategory\b"),
        ("channel_ids", r"\bchannels?\b \d+|can list at most"),
        ("scope", r"\bscope\b|\bwhole_guild\b"),
        # Before weekdays: a cron message spells out its fields, "minute hour day month weekday".
        ("cron", r"\bcron\b"),
        ("every_hours", r"\bevery_hours\b"),
        ("weekdays", r"\bweekdays?\b"),
        ("day_of_month", r"\bday_of_month\b"),
        ("time_of_day", r"\btime_of_day\b|time of day"),
        ("timezone", r"time zone|\btimezone\b"),
        ("frequency", r"\bfrequency\b"),
        ("lookback_hours", r"\blookback_hours\b"),
        ("min_messages", r"\bmin_messages\b"),
        ("mode", r"\bmode\b"),
        ("format", r"\bformat\b"),
        ("language", r"\blanguage\b"),
        ("name", r"needs a name"),
    )
)


@dataclass(frozen=True, slots=True)
class Preview:
    """The next runs of what the form says (UTC), or why there are none."""

    timezone: str
    runs: list[datetime]
    error: str


class ScheduleForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name")
    scope = forms.ChoiceField(
        label="What to summarize",
        choices=[
            (SCOPE_CHANNELS, "Chosen channels"),
            (SCOPE_CATEGORY, "A category"),
            (SCOPE_WHOLE_GUILD, "The whole server"),
        ],
        widget=forms.RadioSelect,
        initial=SCOPE_CHANNELS,
    )
    channel_ids = forms.TypedMultipleChoiceField(
        coerce=int, required=False, label="Channels", help_text="For chosen channels (Ctrl/⌘ or Shift for several)"
    )
    category_id = forms.TypedChoiceField(coerce=int, empty_value=None, required=False, label="Category")
    excluded_channel_ids = forms.TypedMultipleChoiceField(
        coerce=int, required=False, label="Leave out", help_text="For a category or the whole server"
    )
    frequency = forms.ChoiceField(choices=ScheduleFrequency.choices, label="How often", initial=ScheduleFrequency.DAILY)
    time_of_day = forms.TimeField(
        required=False,
        label="Time of day",
        widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}),
        help_text="Local time; daily, weekly and monthly need it, hourly uses its minute, every N hours starts at it",
    )
    every_hours = forms.IntegerField(required=False, label="Every N hours", help_text="For every N hours")
    weekdays = forms.TypedMultipleChoiceField(
        coerce=int,
        choices=WEEKDAYS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Weekdays",
    )
    day_of_month = forms.IntegerField(
        required=False, label="Day of the month", help_text="For monthly; 29-31 run on the last day of shorter months"
    )
    cron = forms.CharField(
        max_length=100,
        required=False,
        label="Cron expression",
        help_text="For cron: five fields in the schedule's time zone, e.g. 0 9 * * 1-5",
    )
    timezone = forms.ChoiceField(label="Time zone")
    lookback_hours = forms.IntegerField(
        required=False, label="Look back (hours)", help_text="Empty = the time since the previous run"
    )
    min_messages = forms.IntegerField(
        label="Skip below (messages)", initial=5, help_text="A quieter channel is skipped, not summarized"
    )
    mode = forms.ChoiceField(
        choices=ScheduleMode.choices, widget=forms.RadioSelect, label="Digest", initial=ScheduleMode.PER_CHANNEL
    )
    discord_channel_id = forms.TypedChoiceField(
        coerce=int,
        empty_value=None,
        required=False,
        label="Post in",
        help_text="Empty = each channel's own summary in that channel; a combined digest needs one",
    )
    destination_ids = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Also send to",
    )
    format = forms.ChoiceField(
        choices=[("", "Each channel's default"), *SummaryFormat.choices], required=False, label="Format"
    )
    language = forms.CharField(
        max_length=16,
        required=False,
        label="Language",
        help_text="auto, a code like en or pt-BR, or empty = each channel's",
    )

    def __init__(self, *args: Any, choices: ScheduleFormChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._set_choices("channel_ids", choices.channels)
        self._set_choices("excluded_channel_ids", choices.channels)
        self._set_choices("category_id", [("", "—"), *choices.categories])
        self._set_choices("discord_channel_id", [("", "— each channel itself —"), *choices.post_channels])
        self._set_choices("destination_ids", choices.destinations)
        self._set_choices("timezone", [(name, name) for name in sorted(zoneinfo.available_timezones())])

    def _set_choices(self, name: str, choices: list[tuple[Any, str]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(str(value), label) for value, label in choices]

    @classmethod
    def initial_for(cls, schedule: Schedule) -> dict[str, Any]:
        """The form's values for an existing schedule."""
        if schedule.whole_guild:
            scope = SCOPE_WHOLE_GUILD
        elif schedule.category_id is not None:
            scope = SCOPE_CATEGORY
        else:
            scope = SCOPE_CHANNELS
        return {
            "name": schedule.name,
            "scope": scope,
            "channel_ids": schedule.channel_ids or [],
            "category_id": schedule.category_id,
            "excluded_channel_ids": schedule.excluded_channel_ids or [],
            "frequency": schedule.frequency,
            "time_of_day": schedule.time_of_day,
            "every_hours": schedule.every_hours,
            "weekdays": schedule.weekdays or [],
            "day_of_month": schedule.day_of_month,
            "cron": schedule.cron,
            "timezone": schedule.timezone,
            "lookback_hours": schedule.lookback_hours,
            "min_messages": schedule.min_messages,
            "mode": schedule.mode,
            "discord_channel_id": schedule.discord_channel_id,
            "destination_ids": [destination.pk for destination in schedule.destinations.all()],
            "format": schedule.format,
            "language": schedule.language,
        }

    def service_arguments(self) -> dict[str, Any]:
        """The keyword arguments of schedule_create (and schedule_update) after is_valid(): one scope given,
        the other two cleared, so that what is shown is what runs."""
        data = self.cleaned_data
        scope = data["scope"]
        return {
            "name": data["name"],
            "channel_ids": data["channel_ids"] if scope == SCOPE_CHANNELS else [],
            "category_id": data["category_id"] if scope == SCOPE_CATEGORY else None,
            "whole_guild": scope == SCOPE_WHOLE_GUILD,
            "excluded_channel_ids": data["excluded_channel_ids"] if scope != SCOPE_CHANNELS else [],
            "frequency": data["frequency"],
            "every_hours": data["every_hours"],
            "cron": data["cron"],
            "time_of_day": data["time_of_day"],
            "weekdays": data["weekdays"],
            "day_of_month": data["day_of_month"],
            "timezone": data["timezone"],
            "lookback_hours": data["lookback_hours"],
            "format": data["format"],
            "language": data["language"],
            "min_messages": data["min_messages"],
            "mode": data["mode"],
            "discord_channel_id": data["discord_channel_id"],
            "destination_ids": data["destination_ids"],
        }

    def add_service_error(self, exc: SummaryBotError) -> None:
        """Show the service's refusal next to the field it is about, else above the form."""
        details = exc.details if isinstance(exc.details, dict) else {}
        named = [field for field in details if field in self.fields]
        if named:
            for field in named:
                messages = details[field]
                for message in messages if isinstance(messages, list) else [messages]:
                    self.add_error(field, str(message))
            return
        field = next((field for field, pattern in _FIELD_OF_MESSAGE if pattern.search(exc.message)), None)
        self.add_error(field, exc.message)

    def timing(self) -> ScheduleTiming | None:
        """The timing the fields describe, as the service will read it (None while one of them is invalid).
        Usable on a form with errors elsewhere: a preview needs only these fields."""
        data = getattr(self, "cleaned_data", None)
        if data is None or any(field in self.errors for field in _TIMING_FIELDS):
            return None
        return timing_of(
            frequency=data["frequency"],
            timezone=data["timezone"],
            time_of_day=data["time_of_day"],
            every_hours=data["every_hours"],
            weekdays=sorted(set(data["weekdays"])),
            day_of_month=data["day_of_month"],
            cron=(data["cron"] or "").strip(),
        )

    def preview(self, *, now: datetime | None = None) -> Preview:
        """The next PREVIEW_RUNS runs of what is entered, computed as the scheduler does (after is_valid())."""
        timing = self.timing()
        zone = timing.timezone if timing is not None else "UTC"
        if timing is None:
            return Preview(timezone=zone, runs=[], error="Fix the timing fields to see the next runs.")
        try:
            runs = next_fires(timing, after=now or dj_timezone.now(), count=PREVIEW_RUNS)
        except SummaryBotError as exc:
            return Preview(timezone=zone, runs=[], error=exc.message)
        return Preview(timezone=zone, runs=runs, error="")
