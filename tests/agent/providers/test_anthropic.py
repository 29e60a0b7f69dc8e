"""The Anthropic provider against the fake Messages API: streaming, tool use, caching, errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from agent.providers.anthropic import AnthropicProvider
from agent.providers.base import Completion, Provider, ProviderError, TextDelta, ToolSpec
from tests.agent.anthropic_replay import (
    FakeAnthropic,
    auth_error,
    connection_error,
    dropped,
    forbid_network,
    http_error,
    make_client,
    overloaded,
    rate_limited,
    reply,
    stream_error,
    text,
    thinking,
    timeout_error,
    tool_use,
)

MODEL = "claude-sonnet-4-6"
SYSTEM = "You are Skyie, a video producer."
QUOTE = ToolSpec(
    name="quote",
    description="Price a script before producing it.",
    input_schema={
        "type": "object",
        "properties": {"script": {"type": "string"}, "formats": {"type": "array"}},
        "required": ["script"],
    },
)
PRODUCE = ToolSpec(
    name="produce",
    description="Start a production job.",
    input_schema={"type": "object", "properties": {"quote_id": {"type": "string"}}},
)
HELLO = [{"role": "user", "content": [{"type": "text", "text": "Make me a video"}]}]


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_network(monkeypatch)


def provider_for(fake: FakeAnthropic) -> AnthropicProvider:
    return AnthropicProvider(api_key="unused", model=MODEL, client=make_client(fake))


async def collect(
    provider: Provider,
    messages: list[dict[str, Any]] = HELLO,
    tools: list[ToolSpec] | None = None,
    max_tokens: int = 1024,
) -> tuple[list[TextDelta], Completion]:
    items = [
        item
        async for item in provider.stream(
            system=SYSTEM,
            messages=messages,
            tools=[QUOTE, PRODUCE] if tools is None else tools,
            max_tokens=max_tokens,
        )
    ]
    deltas = [item for item in items[:-1] if isinstance(item, TextDelta)]
    assert len(deltas) == len(items) - 1, "only TextDelta may come before the Completion"
    completion = items[-1]
    assert isinstance(completion, Completion)
    return deltas, completion


async def test_text_streams_as_several_deltas_then_one_completion() -> None:
    fake = FakeAnthropic(reply(text("Here is a thirty second script about solar panels.")))

    deltas, completion = await collect(provider_for(fake))

    assert len(deltas) > 3
    assert "".join(d.text for d in deltas) == "Here is a thirty second script about solar panels."
    assert completion.content == [
        {"type": "text", "text": "Here is a thirty second script about solar panels."}
    ]
    assert completion.stop_reason == "end_turn"
    assert completion.tool_uses == []


async def test_text_is_yielded_before_the_stream_has_finished() -> None:
    fake = FakeAnthropic(reply(text("one two three four")))
    provider = provider_for(fake)

    stream = provider.stream(system=SYSTEM, messages=HELLO, tools=[QUOTE], max_tokens=100)
    first = await anext(stream)

    assert first == TextDelta("one ")
    assert "message_stop" not in fake.sent_events  # the rest is still on the wire
    rest = [item async for item in stream]
    assert isinstance(rest[-1], Completion)
    assert fake.sent_events[-1] == "message_stop"


async def test_tool_use_input_is_reassembled_from_partial_json() -> None:
    script = "[TALKING] Hi, I'm Maya.\n[BROLL: rooftop solar panels | 5s] Make your own power."
    call = tool_use("quote", {"script": script, "formats": ["9:16", "1:1"]}, id="toolu_01")
    fake = FakeAnthropic(reply(text("Let me price that."), call))

    deltas, completion = await collect(provider_for(fake))

    assert "".join(d.text for d in deltas) == "Let me price that."
    assert completion.stop_reason == "tool_use"
    assert completion.tool_uses == [
        {
            "type": "tool_use",
            "id": "toolu_01",
            "name": "quote",
            "input": {"script": script, "formats": ["9:16", "1:1"]},
        }
    ]
    assert completion.content[0] == {"type": "text", "text": "Let me price that."}
    # The input really did arrive in pieces, not in one delta.
    assert fake.sent_events.count("content_block_delta") > 10


async def test_parallel_tool_calls_in_one_message_keep_their_order() -> None:
    fake = FakeAnthropic(
        reply(
            tool_use("quote", {"script": "[TALKING] One."}, id="toolu_a"),
            tool_use("quote", {"script": "[TALKING] Two."}, id="toolu_b"),
            tool_use("produce", {}, id="toolu_c"),
        )
    )

    deltas, completion = await collect(provider_for(fake))

    assert deltas == []
    assert [(b["id"], b["name"], b["input"]) for b in completion.tool_uses] == [
        ("toolu_a", "quote", {"script": "[TALKING] One."}),
        ("toolu_b", "quote", {"script": "[TALKING] Two."}),
        ("toolu_c", "produce", {}),
    ]
    assert completion.stop_reason == "tool_use"


async def test_request_shape_caches_system_and_tools_and_passes_messages_verbatim() -> None:
    history: list[dict[str, Any]] = [
        *HELLO,
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Pricing both."},
                {"type": "tool_use", "id": "toolu_1", "name": "quote", "input": {"script": "x"}},
                {"type": "tool_use", "id": "toolu_2", "name": "produce", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "12 credits"},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "content": "Insufficient credits: 12 needed, 3 available",
                    "is_error": True,
                },
            ],
        },
    ]
    fake = FakeAnthropic(reply(text("You need 9 more credits.")))

    await collect(provider_for(fake), messages=history, max_tokens=777)

    sent = fake.last_request
    assert sent["model"] == MODEL
    assert sent["max_tokens"] == 777
    assert sent["stream"] is True
    assert sent["system"] == [
        {"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}
    ]
    assert sent["tools"] == [
        {"name": "quote", "description": QUOTE.description, "input_schema": QUOTE.input_schema},
        {
            "name": "produce",
            "description": PRODUCE.description,
            "input_schema": PRODUCE.input_schema,
            "cache_control": {"type": "ephemeral"},
        },
    ]
    assert sent["messages"] == history
    assert sent["messages"][2]["content"][1]["is_error"] is True
    auth = fake.headers[-1].get("x-api-key") or fake.headers[-1].get("authorization") or ""
    assert auth.endswith("sk-ant-test")


async def test_rounds_send_identical_cached_prefixes_and_mutate_nothing() -> None:
    history = [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]
    before = copy.deepcopy(history)
    fake = FakeAnthropic(reply(text("Hello.")), reply(text("Again.")))
    provider = provider_for(fake)

    await collect(provider, messages=history, tools=[QUOTE, PRODUCE])
    await collect(provider, messages=history, tools=[PRODUCE, QUOTE])

    assert history == before
    # The breakpoint follows whichever tool is last; it never sticks to a ToolSpec.
    assert [("cache_control" in t) for t in fake.requests[0]["tools"]] == [False, True]
    assert [("cache_control" in t) for t in fake.requests[1]["tools"]] == [False, True]
    assert fake.requests[0]["system"] == fake.requests[1]["system"]
    assert "cache_control" not in QUOTE.input_schema


async def test_without_tools_no_tools_key_is_sent() -> None:
    fake = FakeAnthropic(reply(text("Hello.")))

    await collect(provider_for(fake), tools=[])

    assert "tools" not in fake.last_request


async def test_usage_numbers_are_reported() -> None:
    fake = FakeAnthropic(
        reply(
            text("Cached."),
            input_tokens=42,
            output_tokens=17,
            cache_read_tokens=2048,
            cache_creation_tokens=300,
        )
    )

    _, completion = await collect(provider_for(fake))

    assert completion.input_tokens == 42
    assert completion.output_tokens == 17
    assert completion.cache_read_tokens == 2048
    assert completion.extra["cache_creation_tokens"] == 300
    assert completion.extra["model"] == MODEL
    assert completion.extra["message_id"].startswith("msg_")


async def test_max_tokens_stop_reason_passes_through() -> None:
    fake = FakeAnthropic(reply(text("A script that was cut"), stop_reason="max_tokens"))

    _, completion = await collect(provider_for(fake))

    assert completion.stop_reason == "max_tokens"


async def test_thinking_blocks_are_kept_verbatim_and_not_streamed_as_text() -> None:
    fake = FakeAnthropic(
        reply(
            thinking("The user wants a short video.", signature="sig-123"),
            text("Here you go."),
            tool_use("quote", {"script": "[TALKING] Hi."}, id="toolu_t"),
        )
    )

    deltas, completion = await collect(provider_for(fake))

    assert "".join(d.text for d in deltas) == "Here you go."
    assert completion.content[0] == {
        "type": "thinking",
        "thinking": "The user wants a short video.",
        "signature": "sig-123",
    }
    assert [b["type"] for b in completion.content] == ["thinking", "text", "tool_use"]


@pytest.mark.parametrize(
    ("scripted", "expected"),
    [
        (overloaded(), "Anthropic is overloaded"),
        (auth_error(), "Anthropic rejected the API key"),
        (rate_limited(), "rate limit reached"),
        (http_error(500, "api_error", "Internal server error"), "internal error"),
        (http_error(404, "not_found_error", "model: nope"), f"does not know the model {MODEL!r}"),
        (http_error(400, "invalid_request_error", "prompt is too long"), "prompt is too long"),
    ],
)
async def test_api_errors_become_provider_errors_naming_the_cause(
    scripted: Any, expected: str
) -> None:
    fake = FakeAnthropic(scripted)

    with pytest.raises(ProviderError, match=expected) as caught:
        await collect(provider_for(fake))

    assert f"HTTP {scripted.status} {scripted.error_type}: {scripted.message}" in str(caught.value)
    assert len(fake.requests) == 1  # make_client disables retries


async def test_overloaded_is_retried_by_the_sdk_before_giving_up() -> None:
    retry_now = {"retry-after-ms": "1"}  # keeps the SDK's backoff out of the test's runtime
    fake = FakeAnthropic(
        http_error(529, "overloaded_error", "Overloaded", retry_now),
        http_error(529, "overloaded_error", "Overloaded", retry_now),
        reply(text("Made it.")),
    )
    provider = AnthropicProvider(api_key="x", model=MODEL, client=make_client(fake, max_retries=2))

    _, completion = await collect(provider)

    assert completion.content == [{"type": "text", "text": "Made it."}]
    assert len(fake.requests) == 3


async def test_an_error_inside_a_running_stream_becomes_a_provider_error() -> None:
    fake = FakeAnthropic(stream_error(text("Here is the start of")))
    seen: list[TextDelta | Completion] = []

    with pytest.raises(
        ProviderError, match=r"overloaded \(in the stream overloaded_error: Overloaded\); try again"
    ):
        async for item in provider_for(fake).stream(
            system=SYSTEM, messages=HELLO, tools=[QUOTE], max_tokens=100
        ):
            seen.append(item)

    assert seen and all(isinstance(item, TextDelta) for item in seen)


async def test_a_connection_dropped_mid_stream_becomes_a_provider_error() -> None:
    fake = FakeAnthropic(dropped(text("Half a")))

    with pytest.raises(ProviderError, match="dropped mid-reply"):
        await collect(provider_for(fake))


@pytest.mark.parametrize(
    ("scripted", "expected"),
    [
        (connection_error(), "Could not reach Anthropic"),
        (timeout_error(), "did not answer in time"),
    ],
)
async def test_connection_failures_become_provider_errors(scripted: Any, expected: str) -> None:
    with pytest.raises(ProviderError, match=expected):
        await collect(provider_for(FakeAnthropic(scripted)))


async def test_a_request_the_api_would_reject_fails_loudly() -> None:
    orphan = [
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "?"}],
        }
    ]
    fake = FakeAnthropic(reply(text("never served")))

    with pytest.raises(ProviderError, match="unexpected `tool_use_id`"):
        await collect(provider_for(fake), messages=orphan)

    assert fake.pending == 1


async def test_the_provider_builds_its_own_client_and_never_reaches_the_network() -> None:
    provider = AnthropicProvider(api_key="sk-ant-real-looking", model=MODEL, max_retries=0)

    # forbid_network is active: the real transport refuses, so this proves it was the one used.
    with pytest.raises(ProviderError, match="Could not reach Anthropic"):
        await collect(provider)

    assert provider._client.max_retries == 0
    assert provider._client.api_key == "sk-ant-real-looking"


def test_a_missing_api_key_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="SKYIE_ANTHROPIC_API_KEY"):
        AnthropicProvider(api_key="", model=MODEL)


def test_it_satisfies_the_provider_protocol() -> None:
    provider: Provider = provider_for(FakeAnthropic())
    assert provider.name == "anthropic"


async def test_an_exhausted_script_says_so() -> None:
    fake = FakeAnthropic()

    with pytest.raises(ProviderError, match="FakeAnthropic: no scripted response for request #1"):
        await collect(provider_for(fake))
