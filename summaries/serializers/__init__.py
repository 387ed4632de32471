"""The REST API's shapes (DRF serializers), one module per resource: `summaries` (summaries and usage),
`schedules`; `common` holds what they share (snowflakes, inputs that refuse unknown fields)."""
