"""JSON: the stored shape (SummaryResult.to_dict), plus the rendered Markdown for convenience."""

from __future__ import annotations

import json
from typing import Any

from ..types import SummaryResult
from .markdown import render_markdown


def render_json_dict(result: SummaryResult, *, title: str | None = None) -> dict[str, Any]:
    return result.to_dict() | {"markdown": render_markdown(result, title=title)}


def render_json(result: SummaryResult, *, title: str | None = None, indent: int | None = 2) -> str:
    return json.dumps(render_json_dict(result, title=title), ensure_ascii=False, indent=indent)
