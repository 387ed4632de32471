"""The REST API's shapes for destinations and deliveries. Input serializers check shapes only; the rules
(kinds, URLs, channels, headers, events) are the services'.

A destination's URL can be a credential (whoever has a Zapier or Discord webhook URL can post to it), so
it is written in full and read back masked: scheme, host, and the last four characters.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from summaries.serializers.common import SnowflakeField
from webhooks.models import DeliveryEvent, DestinationKind

API_DELIVERY_STATUSES = ("pending", "succeeded", "retrying", "failed", "dead")


class _StrictInput(serializers.Serializer):
    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["The body must be a JSON object."]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class DestinationConfigInput(_StrictInput):
    channel_id = SnowflakeField(required=False, help_text="discord_channel: the channel (or thread) to post in")
    headers = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=1000, trim_whitespace=False), required=False,
        help_text="webhook: extra request headers (e.g. Authorization), stored encrypted, never shown again",
    )
    # notion and confluence: where the page goes. Checked by the kind's transport (`clean`).
    base_url = serializers.CharField(
        required=False, max_length=2000,
        help_text="notion: the API's address (default https://api.notion.com); confluence: https://<site>"
        ".atlassian.net/wiki or your Data Center's address",
    )
    database_id = serializers.CharField(required=False, max_length=64, help_text="notion: the database's id")
    title_property = serializers.CharField(required=False, max_length=100, help_text='notion: default "Name"')
    date_property = serializers.CharField(required=False, max_length=100, help_text="notion: a date property")
    channel_property = serializers.CharField(required=False, max_length=100, help_text="notion: a text property")
    tags_property = serializers.CharField(required=False, max_length=100, help_text="notion: a multi-select property")
    id_property = serializers.CharField(
        required=False, max_length=100,
        help_text="notion: a text property for the webhook-id; lets a retry find a page whose creation it never heard of",
    )
    space_key = serializers.CharField(required=False, max_length=255, help_text="confluence: the space's key")
    parent_page_id = serializers.CharField(required=False, allow_blank=True, max_length=32,
                                           help_text="confluence: the parent page (optional)")
    deployment = serializers.ChoiceField(choices=["cloud", "datacenter"], required=False, help_text="confluence")


# The settings of `config` kept as the destination's own config (base_url goes to its url).
KIND_CONFIG_KEYS = ("database_id", "title_property", "date_property", "channel_property", "tags_property",
                    "id_property", "space_key", "parent_page_id", "deployment")


class DestinationCreateInput(_StrictInput):
    kind = serializers.ChoiceField(choices=DestinationKind.choices)
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(
        required=False, allow_blank=True, max_length=2000,
        help_text="webhook: your HTTPS endpoint; discord_webhook: https://discord.com/api/webhooks/<id>/<token>",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=DeliveryEvent.choices), required=False, allow_empty=False,
        help_text="Default: [\"summary.completed\"]",
    )
    config = DestinationConfigInput(required=False)
    credentials = serializers.DictField(
        child=serializers.CharField(max_length=1000), required=False, write_only=True,
        help_text="notion: {token}; confluence: {email, api_token} (Cloud) or {personal_token} (Data Center). "
        "Stored encrypted, never shown again",
    )
    enabled = serializers.BooleanField(required=False, default=True)


class DestinationUpdateInput(DestinationCreateInput):
    kind = None  # type: ignore[assignment]  # fixed at creation
    name = serializers.CharField(max_length=100, required=False)
    enabled = serializers.BooleanField(required=False)


def destination_changes(validated: dict[str, Any]) -> dict[str, Any]:
    """The service's keyword arguments from the API's fields (`config` is flattened)."""
    changes = {k: v for k, v in validated.items() if k != "config"}
    config = validated.get("config") or {}
    if "channel_id" in config:
        changes["discord_channel_id"] = config["channel_id"]
    if "headers" in config:
        changes["headers"] = config["headers"]
    if "base_url" in config:
        changes["url"] = config["base_url"]
    kind_config = {key: config[key] for key in KIND_CONFIG_KEYS if key in config}
    if kind_config:
        changes["config"] = kind_config
    return changes


class DestinationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DestinationKind.choices)
    name = serializers.CharField()
    url = serializers.CharField(help_text="Masked: scheme, host and the last four characters")
    events = serializers.ListField(child=serializers.CharField())
    config = serializers.DictField(
        help_text="discord_channel: {channel_id}; webhook: {headers: names only}; notion, confluence: their settings "
        "with base_url, and credentials by name only",
    )
    enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField(allow_blank=True)
    consecutive_failures = serializers.IntegerField()
    secret_rotated_until = serializers.DateTimeField(
        allow_null=True, help_text="Until then the previous secret signs too (a second webhook-signature)"
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class DestinationWithSecretOutput(DestinationOutput):
    secret = serializers.CharField(allow_null=True, help_text="The signing secret (whsec_…): shown only now")


class DestinationTestOutput(serializers.Serializer):
    ok = serializers.BooleanField()
    webhook_id = serializers.CharField()
    status_code = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField()
    body = serializers.CharField(allow_blank=True, help_text="The receiver's answer, truncated")
    error = serializers.DictField(allow_null=True, help_text="{code, message} when it failed")


class DeliveryListFilter(serializers.Serializer):
    destination_id = serializers.IntegerField(required=False, min_value=1)
    summary_id = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(choices=list(API_DELIVERY_STATUSES), required=False)
    cursor = serializers.CharField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100)


class AttemptOutput(serializers.Serializer):
    number = serializers.IntegerField()
    at = serializers.DateTimeField()
    succeeded = serializers.BooleanField()
    status_code = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField(allow_null=True)
    response_body = serializers.CharField(allow_blank=True)
    error = serializers.DictField(allow_null=True, help_text="{code, message}")


class DeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    destination_id = serializers.IntegerField()
    summary_id = serializers.UUIDField()
    event = serializers.ChoiceField(choices=DeliveryEvent.choices)
    webhook_id = serializers.CharField(help_text="The webhook-id header: the same on every attempt and replay")
    status = serializers.ChoiceField(choices=list(API_DELIVERY_STATUSES))
    attempt_count = serializers.IntegerField()
    response_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class DeliveryDetailOutput(DeliveryOutput):
    attempts = AttemptOutput(many=True)


# --- Zapier REST Hooks (/api/v1/hooks) -------------------------------------------------------------------


class HookSubscribeInput(_StrictInput):
    target_url = serializers.CharField(
        max_length=2000, help_text="Zapier's bundle.targetUrl: HTTPS, a public host; stored encrypted"
    )
    event = serializers.ChoiceField(choices=DeliveryEvent.choices)


class HookOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="Keep it to unsubscribe: DELETE /api/v1/hooks/{id}")
    target_url = serializers.CharField()
    event = serializers.ChoiceField(choices=DeliveryEvent.choices)
    created_at = serializers.DateTimeField()


class HookSamplesFilter(serializers.Serializer):
    event = serializers.ChoiceField(choices=DeliveryEvent.choices, required=False, default=DeliveryEvent.SUMMARY_COMPLETED)
