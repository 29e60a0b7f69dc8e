"""The agent loop on the real `anthropic` SDK, against a local fake of the Messages API."""

from __future__ import annotations

import pytest

from agent.loop import (
    AgentDeps,
    AgentEvent,
    DoneEvent,
    ErrorEvent,
    JobEvent,
    QuoteEvent,
    ScriptEvent,
    TextEvent,
    run_turn,
    start_conversation,
)
from agent.providers.anthropic import AnthropicProvider
from agent.writer import PlannerWriter
from core.storage import get_storage
from tests.agent.anthropic_replay import (
    FakeAnthropic,
    forbid_network,
    make_client,
    overloaded,
    reply,
    text,
    tool_use,
)
from tests.conftest import Stack
from tests.jobs.helpers import ledger_of, make_user

BRIEF = "A 20-second vertical video about three ways to save water, with a host"
MODEL = "claude-test-model"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    forbid_network(monkeypatch)


def deps(stack: Stack, fake: FakeAnthropic, **kw: object) -> AgentDeps:
    provider = AnthropicProvider(api_key="sk-test", model=MODEL, client=make_client(fake))
    return AgentDeps(
        stack.settings, get_storage(stack.settings.storage_dir), provider, PlannerWriter(), **kw
    )  # type: ignore[arg-type]


async def say(conversation: str, message: str, d: AgentDeps, user: str) -> list[AgentEvent]:
    return [e async for e in run_turn(conversation, message, d, user_id=user, channel="web")]


async def test_brief_draft_quote_approval_job(sqlite_stack: Stack) -> None:
    user = await make_user(sqlite_stack.settings, 100)
    conversation = await start_conversation(user, "web")
    fake = FakeAnthropic(
        reply(text("Let me draft that."), tool_use("draft_script", {"brief": BRIEF})),
        reply(tool_use("quote", {})),
        reply(text("Here it is. Shall I make it?")),
    )
    first = await say(conversation, BRIEF, deps(sqlite_stack, fake), user)
    assert any(isinstance(e, ScriptEvent) for e in first)
    quote = next(e for e in first if isinstance(e, QuoteEvent))
    assert "".join(e.text for e in first if isinstance(e, TextEvent)).startswith("Let me draft")

    sent = fake.requests[0]
    assert sent["model"] == MODEL and sent["stream"] is True
    assert sent["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert sent["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    names = {t["name"] for t in sent["tools"]}
    assert {"draft_script", "quote", "produce_video", "revise_script"} <= names
    # Identity never travels as a tool argument: no schema even has a field for it.
    assert all("user_id" not in t["input_schema"].get("properties", {}) for t in sent["tools"])
    results = fake.requests[1]["messages"][-1]["content"]
    assert results[0]["type"] == "tool_result" and results[0]["is_error"] is False

    # Turn 2: the model first sends a wrong quote id, reads the error, and recovers.
    fake.add(
        reply(tool_use("produce_video", {"quote_id": "quo_madeup"}), tool_use("make_coffee", {})),
        reply(tool_use("produce_video", {"quote_id": quote.quote_id})),
        reply(text("On it!")),
    )
    second = await say(conversation, "Yes please, generate it.", deps(sqlite_stack, fake), user)
    errors = fake.requests[4]["messages"][-1]["content"]
    assert [r["is_error"] for r in errors] == [True, True]
    assert "not found" in errors[0]["content"] and "unknown tool" in errors[1]["content"]
    job = next(e for e in second if isinstance(e, JobEvent))
    assert job.credits == quote.credits
    assert (await ledger_of(sqlite_stack.settings, user))[0] == 100 - quote.credits
    # The whole conversation went back to the model on every round, tool results included.
    history = fake.requests[-1]["messages"]
    assert history[0]["content"][0]["text"] == BRIEF
    assert isinstance(second[-1], DoneEvent) and second[-1].stop_reason == "end_turn"


async def test_the_round_limit_stops_a_model_that_never_finishes(sqlite_stack: Stack) -> None:
    user = await make_user(sqlite_stack.settings, 100)
    conversation = await start_conversation(user, "web")
    fake = FakeAnthropic(*[reply(tool_use("get_balance", {})) for _ in range(3)])
    events = await say(conversation, "balance?", deps(sqlite_stack, fake, max_rounds=3), user)
    assert len(fake.requests) == 3
    assert any(isinstance(e, ErrorEvent) and "3 tool rounds" in e.message for e in events)
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.stop_reason == "round_limit"
    # The next turn starts cleanly from the saved history.
    fake.add(reply(text("You have 100 credits.")))
    after = await say(conversation, "and now?", deps(sqlite_stack, fake), user)
    assert isinstance(after[-1], DoneEvent) and after[-1].stop_reason == "end_turn"


async def test_an_overloaded_api_is_reported_and_nothing_is_spent(sqlite_stack: Stack) -> None:
    user = await make_user(sqlite_stack.settings, 100)
    conversation = await start_conversation(user, "web")
    fake = FakeAnthropic(overloaded())
    events = await say(conversation, BRIEF, deps(sqlite_stack, fake), user)
    error = next(e for e in events if isinstance(e, ErrorEvent))
    assert "overloaded" in error.message.lower()
    assert (await ledger_of(sqlite_stack.settings, user))[0] == 100
