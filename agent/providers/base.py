"""The provider contract: what the agent loop asks of an LLM, in the Messages API's shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

# Message and block dicts follow the Anthropic Messages API, which is also what we persist:
#   {"role": "user" | "assistant", "content": [block, ...]}
#   {"type": "text", "text": "..."}
#   {"type": "tool_use", "id": "toolu_…", "name": "quote", "input": {...}}
#   {"type": "tool_result", "tool_use_id": "toolu_…", "content": "...", "is_error": bool}
Block = dict[str, Any]
MessageParam = dict[str, Any]


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the model sees it; `input_schema` is generated from the tool's pydantic model."""

    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class TextDelta:
    """A piece of assistant text, streamed as it arrives."""

    text: str


@dataclass(frozen=True)
class Completion:
    """The whole assistant message of one round: always the last thing a stream yields."""

    content: list[Block]
    stop_reason: str  # "end_turn" | "tool_use" | "max_tokens" | ...
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tool_uses(self) -> list[Block]:
        return [b for b in self.content if b.get("type") == "tool_use"]


class ProviderError(Exception):
    """The provider could not answer (network, auth, overload); the message says which."""


class Provider(Protocol):
    name: str

    def stream(
        self,
        *,
        system: str,
        messages: list[MessageParam],
        tools: list[ToolSpec],
        max_tokens: int,
    ) -> AsyncIterator[TextDelta | Completion]:
        """Yield TextDelta pieces as text arrives, then exactly one Completion."""
        ...
