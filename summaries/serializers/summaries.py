"""The REST API's shapes for summaries: what a request may say, and what a summary looks like.

Input serializers only parse and check shapes; the rules (channel settings, limits, idempotency) are the
service's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from guilds.models import SummaryFormat, validate_language
from summaries.engine.posted import PostedMessage
from summaries.selectors import API_STATUSES
from summaries.serializers.common import MAX_SNOWFLAKE, SnowflakeField, StrictInput
from summaries.window import SummaryWindow
from summarybot.errors import InvalidInput


def _posted_messages(value: list[Any]) -> list[PostedMessage]:
    """The posted list, checked whole (errors name the message's index), in timestamp order."""
    limit = settings.SUMMARY_MAX_WINDOW_MESSAGES
    if not value:
        raise serializers.ValidationError("The list of messages is empty.")
    if len(value) > limit:
        raise serializers.ValidationError(f"At most {limit:,} messages can be posted in one request.")
    parsed = PostedMessageInput(data=value, many=True)
    if not parsed.is_valid():
        errors = parsed.errors
        by_index = errors.items() if isinstance(errors, dict) else enumerate(errors)
        raise serializers.ValidationError({str(index): error for index, error in by_index if error})
    ids = [item["id"] for item in parsed.validated_data if item.get("id")]
    if len(ids) != len(set(ids)):
        raise serializers.ValidationError("Two messages have the same id; ids must be unique.")
    if ids and len(ids) != len(value):
        raise serializers.ValidationError("Give every message an id, or none.")
    messages = [
        PostedMessage(author=item["author"], content=item["content"], timestamp=item["timestamp"], id=item.get("id", ""))
        for item in parsed.validated_data
    ]
    # The engine reads a conversation in time order; a stable sort keeps the given order of equal times.
    return sorted(messages, key=lambda message: message.timestamp)


def _time_or_id(value: Any, field: str) -> datetime | int:
    """`after`/`before`: a message id (digits) or an ISO 8601 time (no offset means UTC)."""
    if isinstance(value, int) and not isinstance(value, bool) or isinstance(value, str) and value.strip().isdigit():
        return SnowflakeField().run_validation(value)
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        raise serializers.ValidationError({field: "Must be a message id or an ISO 8601 time."})
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


MAX_POSTED_CONTENT = 4000
MAX_POSTED_ID = 64


class PostedMessageInput(serializers.Serializer):
    """One message of a conversation that is not on Discord."""

    author = serializers.CharField(max_length=100, help_text="Who wrote it (a name)")
    content = serializers.CharField(max_length=MAX_POSTED_CONTENT, allow_blank=True, trim_whitespace=False)
    timestamp = serializers.DateTimeField(default_timezone=UTC, help_text="ISO 8601; no offset means UTC")
    id = serializers.CharField(
        required=False, max_length=MAX_POSTED_ID, help_text="Your id for it: citations name it (default: its position)"
    )


_POSTED_MESSAGE_SCHEMA = {
    "type": "object",
    "required": ["author", "content", "timestamp"],
    "properties": {
        "author": {"type": "string", "minLength": 1, "maxLength": 100},
        "content": {"type": "string", "maxLength": MAX_POSTED_CONTENT},
        "timestamp": {"type": "string", "format": "date-time"},
        "id": {"type": "string", "maxLength": MAX_POSTED_ID, "description": "Your id for it; citations name it"},
    },
}


@extend_schema_field({
    "oneOf": [
        {"type": "integer", "minimum": 1, "description": "How many of the channel's latest messages"},
        {"type": "array", "items": _POSTED_MESSAGE_SCHEMA, "minItems": 1,
         "description": "Messages to summarize instead of a channel"},
    ]
})
class CountOrMessagesField(serializers.JSONField):
    pass


class SummaryCreateInput(StrictInput):
    """One channel and one window: `hours`, or `messages` (a count), or `after` (with an optional `before`);
    none of them means the last messages (200). `before` alone ends a count or hours window at a message.
    Or, instead of a channel, `messages` as a list: the conversation to summarize, posted in the request."""

    channel_id = SnowflakeField(required=False, help_text="A channel or thread of the key's server")
    hours = serializers.IntegerField(required=False, min_value=1, max_value=168)
    messages = CountOrMessagesField(
        required=False,
        help_text="A count of the channel's latest messages, or a list of messages to summarize instead of a channel",
    )
    after = serializers.JSONField(required=False, help_text="A message id or an ISO time: start after it")
    before = serializers.JSONField(required=False, help_text="A message id or an ISO time: end before it")
    format = serializers.ChoiceField(choices=SummaryFormat.choices, required=False)
    language = serializers.CharField(required=False, max_length=16, validators=[validate_language])

    def validate_messages(self, value: Any) -> int | list[PostedMessage]:
        if isinstance(value, list):
            return _posted_messages(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise serializers.ValidationError("Must be a positive count of messages, or a list of messages.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if isinstance(attrs.get("messages"), list):
            return self._posted(attrs)
        if "channel_id" not in attrs:
            raise serializers.ValidationError({"channel_id": "Name a channel, or post a list of messages."})
        return self._channel(attrs)

    def _posted(self, attrs: dict[str, Any]) -> dict[str, Any]:
        clashing = sorted({"channel_id", "hours", "after", "before"} & set(attrs))
        if clashing:
            raise serializers.ValidationError(
                {name: "Posted messages are summarized whole: no channel or window with them." for name in clashing}
            )
        posted = attrs["messages"]
        return {
            "channel_id": None,
            "window": SummaryWindow.count(len(posted)),
            "posted": posted,
            "format": attrs.get("format"),
            "language": attrs.get("language"),
        }

    def _channel(self, attrs: dict[str, Any]) -> dict[str, Any]:
        after = _time_or_id(attrs["after"], "after") if "after" in attrs else None
        before = _time_or_id(attrs["before"], "before") if "before" in attrs else None
        hours, count = attrs.get("hours"), attrs.get("messages")
        if after is not None and hours is not None:
            raise serializers.ValidationError({"after": "Give one window: hours, or after/before, not both."})
        if isinstance(after, datetime) != isinstance(before, datetime) and after is not None and before is not None:
            raise serializers.ValidationError({"before": "after and before must both be times or both message ids."})
        if isinstance(before, datetime) and after is None:
            raise serializers.ValidationError({"before": "A time for before needs a time for after."})
        before_id = before if isinstance(before, int) else None
        try:
            if isinstance(after, datetime):
                window = SummaryWindow.range(after, before if isinstance(before, datetime) else None, limit=count)
            elif after is not None:
                # `after` is exclusive; a from-message window includes its first message.
                window = SummaryWindow.from_message(after + 1, limit=count, before_message_id=before_id)
            elif hours is not None:
                window = SummaryWindow.hours(hours, limit=count, before_message_id=before_id)
            else:
                window = SummaryWindow.count(count, before_message_id=before_id)
        except InvalidInput as exc:
            raise serializers.ValidationError({"non_field_errors": [exc.message]}) from None
        return {
            "channel_id": attrs["channel_id"],
            "window": window,
            "format": attrs.get("format"),
            "language": attrs.get("language"),
        }


class SummaryListFilter(serializers.Serializer):
    channel_id = SnowflakeField(required=False)
    status = serializers.ChoiceField(choices=list(API_STATUSES), required=False)
    since = serializers.DateTimeField(required=False, help_text="Only summaries asked for at or after this time")
    schedule_id = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_SNOWFLAKE, help_text="Only the summaries this schedule's runs made"
    )
    cursor = serializers.CharField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100)


class SummaryItemOutput(serializers.Serializer):
    section = serializers.CharField()
    text = serializers.CharField()
    message_ids = serializers.ListField(child=serializers.CharField(), help_text="Cited Discord message ids")
    links = serializers.ListField(child=serializers.URLField(), help_text="Jump links to the cited messages")
    owner = serializers.CharField(allow_null=True)
    unverified = serializers.BooleanField()


class UsageOutput(serializers.Serializer):
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    llm_calls = serializers.IntegerField()
    cost_usd = serializers.DecimalField(max_digits=12, decimal_places=6)
    model = serializers.CharField()


class ErrorOutput(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class SummaryBriefOutput(serializers.Serializer):
    """A summary in a list: fetch it by id for its markdown and items."""

    id = serializers.UUIDField()
    url = serializers.URLField()
    channel_id = SnowflakeField(allow_null=True, help_text="null for a summary of posted messages")
    schedule_id = serializers.IntegerField(allow_null=True, help_text="The schedule whose run made it, else null")
    status = serializers.ChoiceField(choices=list(API_STATUSES))
    progress = serializers.IntegerField(min_value=0, max_value=100)
    format = serializers.CharField()
    language = serializers.CharField()
    usage = UsageOutput(allow_null=True)
    error = ErrorOutput(allow_null=True)
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)


class SummaryOutput(SummaryBriefOutput):
    markdown = serializers.CharField(allow_null=True)
    items = SummaryItemOutput(many=True)


class MonthUsageOutput(serializers.Serializer):
    month_start = serializers.DateField()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    tokens = serializers.IntegerField()
    llm_calls = serializers.IntegerField()
    summaries = serializers.IntegerField()
    cost_usd = serializers.DecimalField(max_digits=14, decimal_places=6)
    token_budget = serializers.IntegerField(allow_null=True)
    tokens_left = serializers.IntegerField(allow_null=True)
    cost_budget_usd = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
