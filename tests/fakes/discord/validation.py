"""Discord's message limits, answered with Discord's own error JSON (400, code 50035 / 50006)."""

from __future__ import annotations

from typing import Any

from .constants import (
    MAX_AUTHOR_NAME,
    MAX_CONTENT,
    MAX_EMBED_DESCRIPTION,
    MAX_EMBED_FIELDS,
    MAX_EMBED_TITLE,
    MAX_EMBED_TOTAL,
    MAX_EMBEDS,
    MAX_FIELD_NAME,
    MAX_FIELD_VALUE,
    MAX_FOOTER,
)


def _too_long(limit: int) -> dict[str, Any]:
    return {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}]}


def _required() -> dict[str, Any]:
    return {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]}


def invalid_form_body(errors: dict[str, Any]) -> dict[str, Any]:
    return {"message": "Invalid Form Body", "code": 50035, "errors": errors}


def _embed_errors(embed: dict[str, Any]) -> tuple[dict[str, Any], int]:
    errors: dict[str, Any] = {}
    total = 0
    title = embed.get("title") or ""
    total += len(title)
    if len(title) > MAX_EMBED_TITLE:
        errors["title"] = _too_long(MAX_EMBED_TITLE)
    description = embed.get("description") or ""
    total += len(description)
    if len(description) > MAX_EMBED_DESCRIPTION:
        errors["description"] = _too_long(MAX_EMBED_DESCRIPTION)
    footer = (embed.get("footer") or {}).get("text") or ""
    total += len(footer)
    if len(footer) > MAX_FOOTER:
        errors["footer"] = {"text": _too_long(MAX_FOOTER)}
    author = (embed.get("author") or {}).get("name") or ""
    total += len(author)
    if len(author) > MAX_AUTHOR_NAME:
        errors["author"] = {"name": _too_long(MAX_AUTHOR_NAME)}
    fields = embed.get("fields") or []
    if len(fields) > MAX_EMBED_FIELDS:
        errors["fields"] = _too_long(MAX_EMBED_FIELDS)
    field_errors: dict[str, Any] = {}
    for index, fld in enumerate(fields):
        name, value = fld.get("name") or "", fld.get("value") or ""
        total += len(name) + len(value)
        one: dict[str, Any] = {}
        if not name:
            one["name"] = _required()
        elif len(name) > MAX_FIELD_NAME:
            one["name"] = _too_long(MAX_FIELD_NAME)
        if not value:
            one["value"] = _required()
        elif len(value) > MAX_FIELD_VALUE:
            one["value"] = _too_long(MAX_FIELD_VALUE)
        if one:
            field_errors[str(index)] = one
    if field_errors and "fields" not in errors:
        errors["fields"] = field_errors
    return errors, total


def message_body_error(
    body: dict[str, Any], *, has_files: bool = False, require_something: bool = True
) -> dict[str, Any] | None:
    """The error JSON Discord answers for this message body, or None when Discord would accept it."""
    content = body.get("content")
    if content is not None and not isinstance(content, str):
        content = str(content)
    embeds = body.get("embeds") or []
    errors: dict[str, Any] = {}
    if content and len(content) > MAX_CONTENT:
        errors["content"] = _too_long(MAX_CONTENT)
    if len(embeds) > MAX_EMBEDS:
        errors["embeds"] = _too_long(MAX_EMBEDS)
    else:
        total = 0
        embed_errors: dict[str, Any] = {}
        for index, embed in enumerate(embeds):
            one, size = _embed_errors(embed)
            total += size
            if one:
                embed_errors[str(index)] = one
        if embed_errors:
            errors["embeds"] = embed_errors
        elif total > MAX_EMBED_TOTAL:
            errors["embeds"] = {
                "_errors": [
                    {
                        "code": "MAX_EMBED_SIZE_EXCEEDED",
                        "message": f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}",
                    }
                ]
            }
    if errors:
        return invalid_form_body(errors)
    if require_something and not (
        content or embeds or has_files or body.get("components") or body.get("sticker_ids") or body.get("poll")
    ):
        return {"message": "Cannot send an empty message", "code": 50006}
    return None


def check_message_body(body: dict[str, Any], *, has_files: bool, require_something: bool = True) -> None:
    """Raise the 400 Discord answers for a message body over its limits (content, embeds)."""
    error = message_body_error(body, has_files=has_files, require_something=require_something)
    if error is not None:
        from .http import ApiError

        details = {k: v for k, v in error.items() if k not in ("code", "message")}
        raise ApiError(400, error["code"], error["message"], details)
