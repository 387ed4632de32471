"""Shapes every resource of the REST API shares: Discord ids, and input objects that refuse unknown fields.

Snowflakes are accepted as numbers or strings and returned as strings (JavaScript loses precision above
2^53).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MAX_SNOWFLAKE = 2**63 - 1


@extend_schema_field({"type": "string", "pattern": "^[0-9]+$", "example": "1100000000000000001"})
class SnowflakeField(serializers.Field):
    default_error_messages = {"invalid": "Must be a Discord id (a positive integer, as a number or a string)."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        text = str(data).strip()
        # ASCII digits only: str.isdigit() also accepts "²" or "١", which int() refuses or reads otherwise.
        if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_SNOWFLAKE:
            self.fail("invalid")
        return int(text)

    def to_representation(self, value: int) -> str:
        return str(value)


class StrictInput(serializers.Serializer):
    """A JSON object with only the serializer's fields: a misspelled or read-only field is refused by name
    instead of silently ignored."""

    # Fields a client reads back but cannot set: refused with a message saying so.
    read_only_names: tuple[str, ...] = ()

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({"non_field_errors": ["The body must be a JSON object."]})
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({
                name: ["Read-only field." if name in self.read_only_names else "Unknown field."] for name in unknown
            })
        return super().to_internal_value(data)
