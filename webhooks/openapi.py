"""The outbound webhook payload in the OpenAPI document.

OpenAPI's `webhooks` section exists only from 3.1; this project publishes 3.0.3 (its fuzzer and clients
read that), so the event is a documented schema component, `WebhookEvent`, added by a drf-spectacular
postprocessing hook. The shape is `webhooks.payloads`' (version 1).
"""

from __future__ import annotations

from typing import Any

_NULLABLE_STRING = {"type": "string", "nullable": True}

WEBHOOK_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "What a signed-webhook destination receives: POST, JSON, headers `webhook-id` (the same on every retry "
        "and replay of one event to one destination: de-duplicate on it), `webhook-timestamp` (Unix seconds) "
        "and `webhook-signature` (`v1,<base64 HMAC-SHA256 of \"id.timestamp.body\">` with the destination's "
        "`whsec_` secret; after a rotation, for 24 h, two space-separated signatures). Verify with any Standard "
        "Webhooks library. Answer 2xx within 15 s; other 4xx (except 408, 409, 425, 429) are not retried; "
        "5xx, 408/409/425/429 and timeouts are retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h "
        "(longer when Retry-After on 429/503 asks)."
    ),
    "required": ["type", "version", "timestamp", "data"],
    "properties": {
        "type": {"type": "string", "enum": ["summary.completed", "summary.failed"]},
        "version": {"type": "integer", "enum": [1]},
        "timestamp": {"type": "string", "format": "date-time", "description": "When the event happened"},
        "data": {
            "type": "object",
            "required": ["id", "guild_id", "channel_id", "status", "format", "language", "window", "markdown",
                         "items", "usage", "error", "created_at", "completed_at"],
            "properties": {
                "id": {"type": "string", "format": "uuid", "description": "GET /api/v1/summaries/{id}"},
                "guild_id": {"type": "string", "pattern": "^[0-9]+$"},
                "channel_id": {**_NULLABLE_STRING, "description": "null for a summary of posted messages"},
                "status": {"type": "string", "enum": ["done", "partial", "failed"]},
                "format": {"type": "string"},
                "language": {"type": "string"},
                "window": {
                    "type": "object", "nullable": True,
                    "properties": {
                        "start": {"type": "string", "format": "date-time", "nullable": True},
                        "end": {"type": "string", "format": "date-time", "nullable": True},
                        "message_count": {"type": "integer"},
                        "first_message_id": _NULLABLE_STRING,
                        "last_message_id": _NULLABLE_STRING,
                    },
                },
                "markdown": _NULLABLE_STRING,
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/SummaryItemOutput"}},
                "usage": {
                    "type": "object", "nullable": True,
                    "properties": {
                        "prompt_tokens": {"type": "integer"}, "completion_tokens": {"type": "integer"},
                        "llm_calls": {"type": "integer"}, "cost_usd": {"type": "string", "format": "decimal"},
                        "model": {"type": "string"},
                    },
                },
                "error": {
                    "type": "object", "nullable": True,
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                },
                "created_at": {"type": "string", "format": "date-time"},
                "completed_at": {"type": "string", "format": "date-time", "nullable": True},
                "test": {"type": "boolean", "description": "Present and true only in a test event"},
            },
        },
    },
}


def add_webhook_event(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["WebhookEvent"] = WEBHOOK_EVENT_SCHEMA
    return result
