"""The interface between the engine and any chat-completion provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class ChatRequest:
    messages: list[dict[str, str]]
    # {"name": str, "schema": {...}}: strict Structured Outputs where the provider supports it,
    # JSON mode otherwise; the engine validates the reply either way.
    json_schema: dict[str, Any] | None = None
    max_output_tokens: int = 1024
    temperature: float = 0.2
    # The caller's count of the prompt, used by the shared tokens-per-minute limiter.
    estimated_prompt_tokens: int = 0
    purpose: str = "summary"


@dataclass(frozen=True, slots=True)
class ChatResponse:
    content: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"
    # The share of the list price this call is billed at: 0.5 for OpenAI's Batch API, 1 for ordinary calls.
    price_factor: float = 1.0


class ChatProvider(Protocol):
    name: str
    model: str
    context_tokens: int

    async def chat(self, request: ChatRequest) -> ChatResponse: ...

    async def aclose(self) -> None: ...
