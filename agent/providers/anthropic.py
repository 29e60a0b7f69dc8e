"""The Anthropic provider: Claude's streamed replies and tool calls through the Messages API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import anthropic
import httpx2
from anthropic.lib.streaming import ParsedMessageStopEvent, TextEvent
from anthropic.types import (
    ContentBlock,
    Message,
    MessageParam,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolParam,
    ToolUseBlock,
)

from agent.providers.base import Block, Completion, ProviderError, TextDelta, ToolSpec
from agent.providers.base import MessageParam as ConversationMessage
from core.logging import get_logger

log = get_logger("agent.anthropic")

# One breakpoint on the last tool and one on the system prompt: the cached prefix is
# tools → system, which is identical across every round and turn of a conversation.
_EPHEMERAL: anthropic.types.CacheControlEphemeralParam = {"type": "ephemeral"}

# What each API error type means for the person waiting on a reply. Keyed by the error body's
# `type`, not the HTTP status, because an error sent inside a running stream arrives on a 200.
_CAUSES: dict[str, tuple[str, str]] = {
    "authentication_error": ("rejected the API key", "check SKYIE_ANTHROPIC_API_KEY"),
    "permission_error": ("refused: the API key may not use this model or feature", ""),
    "billing_error": ("refused the request for a billing problem on the account", ""),
    "not_found_error": ("does not know the requested model or endpoint", "check SKYIE_LLM_MODEL"),
    "rate_limit_error": ("refused the request: rate limit reached", "try again shortly"),
    "overloaded_error": ("is overloaded", "try again in a moment"),
    "api_error": ("had an internal error", "try again in a moment"),
    "timeout_error": ("timed out while answering", "try again"),
    "request_too_large": ("rejected the request as too large", "shorten the conversation"),
    "invalid_request_error": ("rejected the request as invalid", ""),
}
_CAUSES_BY_STATUS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


class AnthropicProvider:
    """Claude with tool use, streamed; failures of any kind surface as `ProviderError`."""

    name = "anthropic"

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        client: anthropic.AsyncAnthropic | None = None,
        max_retries: int = 2,
    ) -> None:
        """`max_retries` configures the client built here; a `client` passed in is used as is."""
        if client is None and not api_key:
            raise ValueError("AnthropicProvider needs an API key (set SKYIE_ANTHROPIC_API_KEY)")
        self.model = model
        # The SDK retries 408/409/429/5xx/529 and connection errors itself, with backoff that
        # honours `retry-after`; we only translate what is left after those retries.
        self._client = client or anthropic.AsyncAnthropic(api_key=api_key, max_retries=max_retries)

    async def stream(
        self,
        *,
        system: str,
        messages: list[ConversationMessage],
        tools: list[ToolSpec],
        max_tokens: int,
    ) -> AsyncIterator[TextDelta | Completion]:
        """Yield TextDelta pieces as text arrives, then exactly one Completion."""
        final: Message | None = None
        try:
            async with self._client.messages.stream(
                model=self.model,
                max_tokens=max_tokens,
                system=[{"type": "text", "text": system, "cache_control": _EPHEMERAL}],
                # Our conversation dicts already are Messages API params; sent verbatim.
                messages=cast(list[MessageParam], messages),
                tools=_tool_params(tools) if tools else anthropic.omit,
            ) as events:
                async for event in events:
                    if isinstance(event, TextEvent) and event.text:
                        yield TextDelta(event.text)
                    elif isinstance(event, ParsedMessageStopEvent):
                        final = event.message
        except anthropic.APIStatusError as err:
            raise _status_error(err, self.model) from err
        except anthropic.APITimeoutError as err:
            log.warning("anthropic.timeout", model=self.model)
            raise ProviderError("Anthropic did not answer in time (request timed out)") from err
        except anthropic.APIConnectionError as err:
            cause = str(err.__cause__ or "") or err.message
            log.warning("anthropic.unreachable", model=self.model, cause=cause)
            raise ProviderError(f"Could not reach Anthropic ({cause})") from err
        except httpx2.TransportError as err:
            # Once a stream has begun, the SDK no longer wraps transport failures.
            log.warning("anthropic.stream_dropped", model=self.model, cause=repr(err))
            detail = f"{type(err).__name__}: {err}"
            raise ProviderError(
                f"The connection to Anthropic dropped mid-reply ({detail})"
            ) from err
        except ValueError as err:
            # The SDK raises ValueError when a tool call's streamed JSON does not parse.
            log.warning("anthropic.malformed", model=self.model, cause=str(err))
            raise ProviderError(f"Anthropic sent a malformed reply: {err}") from err
        except anthropic.AnthropicError as err:
            log.warning("anthropic.client_error", model=self.model, cause=repr(err))
            raise ProviderError(f"The Anthropic client failed: {err}") from err
        if final is None or final.stop_reason is None:
            raise ProviderError("Anthropic's stream ended before the message was complete")
        yield _completion(final)


def _tool_params(tools: list[ToolSpec]) -> list[ToolParam]:
    params: list[ToolParam] = [
        {"name": t.name, "description": t.description, "input_schema": t.input_schema}
        for t in tools
    ]
    params[-1]["cache_control"] = _EPHEMERAL
    return params


def _completion(message: Message) -> Completion:
    usage = message.usage
    return Completion(
        content=[b for b in map(_block_dict, message.content) if b is not None],
        stop_reason=message.stop_reason or "",
        # `input_tokens` is the uncached part of the prompt, as the API counts it; cache writes
        # (billed at a premium) go to `extra` so cost accounting can see them.
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_input_tokens or 0,
        extra={
            "message_id": message.id,
            "model": message.model,
            "cache_creation_tokens": usage.cache_creation_input_tokens or 0,
        },
    )


def _block_dict(block: ContentBlock) -> Block | None:
    """The block as a plain Messages API dict, fit to persist and send back next round."""
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, ToolUseBlock):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    if isinstance(block, ThinkingBlock | RedactedThinkingBlock):
        # Kept verbatim, signature included: with extended thinking the API requires these
        # blocks to be sent back unchanged alongside the tool results of the same turn.
        return block.to_dict(mode="json")
    # Server-tool blocks (web search, code execution) only appear when such tools are
    # requested, which this provider never does.
    return None


def _status_error(err: anthropic.APIStatusError, model: str) -> ProviderError:
    error_type = err.type or _CAUSES_BY_STATUS.get(err.status_code, "")
    if not error_type and err.status_code >= 500:
        error_type = "api_error"
    cause, advice = _CAUSES.get(error_type, ("returned an error", ""))
    if error_type == "not_found_error":
        cause = f"does not know the model {model!r} (or the endpoint)"
    # A status of 200 means the error arrived as an event inside an open stream.
    where = "in the stream" if err.status_code == 200 else f"HTTP {err.status_code}"
    detail = err.api_message or str(err)
    log.warning(
        "anthropic.error",
        model=model,
        status=err.status_code,
        error_type=error_type,
        request_id=err.request_id,
    )
    message = f"Anthropic {cause} ({where} {error_type or 'error'}: {detail})"
    return ProviderError(f"{message}; {advice}" if advice else message)
