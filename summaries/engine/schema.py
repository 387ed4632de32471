"""Structured output: a JSON schema per format, and the validation of what the model sends back.

The schemas are strict-compatible (every property required, additionalProperties false, nullable owner
as a type union), so OpenAI can enforce them; other servers get JSON mode and this validation alone.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

from .formats import FORMATS, Section, SummaryFormat


class SchemaError(ValueError):
    """The reply is not the JSON object the schema describes; the message says where."""


def _item_schema(section: Section) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "text": {"type": "string"},
        "refs": {"type": "array", "items": {"type": "integer"}},
    }
    if section.has_owner:
        properties["owner"] = {"type": ["string", "null"]}
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


@functools.cache
def json_schema(format_name: str) -> dict[str, Any]:
    """The `ChatRequest.json_schema` value for a format ({"name", "schema"})."""
    fmt = FORMATS[format_name]
    properties: dict[str, Any] = {"language": {"type": "string", "description": "ISO 639-1 code"}}
    for section in fmt.model_sections:
        properties[section.name] = {
            "type": "array",
            "description": section.guidance,
            "items": _item_schema(section),
        }
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    return {"name": f"summary_{format_name}", "schema": schema}


@functools.cache
def json_schema_text(format_name: str) -> str:
    return json.dumps(json_schema(format_name)["schema"], separators=(",", ":"))


@dataclass(slots=True)
class DraftItem:
    """A point while the engine works: `refs` are positions (see citations.py), not yet Discord ids."""

    text: str
    refs: list[int] = field(default_factory=list)
    owner: str | None = None
    unverified: bool = False


@dataclass(slots=True)
class Draft:
    language: str
    sections: dict[str, list[DraftItem]]

    def cited(self) -> set[int]:
        return {ref for items in self.sections.values() for item in items for ref in item.refs}


def _strip_fences(text: str) -> str:
    # Some servers in JSON mode still wrap the object in a ```json fence.
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        if stripped.rstrip().endswith("```"):
            stripped = stripped.rstrip()[:-3]
    return stripped


def parse_reply(content: str, fmt: SummaryFormat) -> dict[str, Any]:
    """The reply as a validated dict, or SchemaError. Lenient where it costs nothing: a missing empty
    section, refs written as strings, a missing owner."""
    try:
        data = json.loads(_strip_fences(content))
    except json.JSONDecodeError as exc:
        raise SchemaError(f"invalid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(data, dict):
        raise SchemaError("the top level must be an object")
    language = data.get("language", "")
    if not isinstance(language, str):
        raise SchemaError("'language' must be a string")
    for section in fmt.model_sections:
        items = data.get(section.name, [])
        if not isinstance(items, list):
            raise SchemaError(f"'{section.name}' must be an array")
        for number, item in enumerate(items):
            where = f"{section.name}[{number}]"
            if not isinstance(item, dict):
                raise SchemaError(f"{where} must be an object")
            if not isinstance(item.get("text"), str):
                raise SchemaError(f"{where}.text must be a string")
            refs = item.get("refs", [])
            if not isinstance(refs, list):
                raise SchemaError(f"{where}.refs must be an array")
            owner = item.get("owner")
            if owner is not None and not isinstance(owner, str):
                raise SchemaError(f"{where}.owner must be a string or null")
    return data
