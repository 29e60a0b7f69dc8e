"""The fake Messages API itself: plain JSON replies and the request checks the real API makes."""

from __future__ import annotations

from typing import Any, cast

import anthropic
import pytest

from tests.agent.anthropic_replay import (
    FakeAnthropic,
    forbid_network,
    make_client,
    reply,
    text,
    tool_use,
)

MODEL = "claude-sonnet-4-6"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_network(monkeypatch)


async def test_a_non_stream_request_gets_a_json_message() -> None:
    call = tool_use("quote", {"script": "[TALKING] Hi."}, id="toolu_j")
    fake = FakeAnthropic(reply(text("Pricing."), call, input_tokens=7, output_tokens=3))

    message = await make_client(fake).messages.create(
        model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "Price it"}]
    )

    assert message.model == MODEL
    assert message.stop_reason == "tool_use"
    assert [b.type for b in message.content] == ["text", "tool_use"]
    assert message.content[1].to_dict() == call
    assert (message.usage.input_tokens, message.usage.output_tokens) == (7, 3)
    assert "stream" not in fake.last_request


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        (
            [
                {"role": "user", "content": "Go"},
                {"role": "assistant", "content": [tool_use("quote", {}, id="toolu_1")]},
                {"role": "user", "content": [{"type": "text", "text": "and?"}]},
            ],
            "`tool_use` ids were found without `tool_result` blocks immediately after: toolu_1",
        ),
        (
            [
                {"role": "user", "content": "Go"},
                {"role": "assistant", "content": [tool_use("quote", {}, id="toolu_1")]},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Here:"},
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"},
                    ],
                },
            ],
            "`tool_result` blocks must come before other content",
        ),
        ([], "at least one message is required"),
    ],
)
async def test_requests_the_real_api_would_reject_get_its_400(
    messages: list[dict[str, Any]], problem: str
) -> None:
    fake = FakeAnthropic(reply(text("unused")))
    client = make_client(fake)

    with pytest.raises(anthropic.BadRequestError, match=problem):
        await client.messages.create(model=MODEL, max_tokens=5, messages=cast(Any, messages))

    assert fake.pending == 1


async def test_validation_can_be_turned_off() -> None:
    fake = FakeAnthropic(reply(text("served")), validate=False)

    message = await make_client(fake).messages.create(model=MODEL, max_tokens=5, messages=[])

    assert message.content[0].to_dict() == {"type": "text", "text": "served"}
