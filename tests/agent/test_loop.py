"""The agent loop: from brief to job, persisted, with the model's mistakes contained."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import select

from agent.loop import (
    AgentDeps,
    AgentEvent,
    DoneEvent,
    ErrorEvent,
    JobEvent,
    QuoteEvent,
    ScriptEvent,
    TextEvent,
    ToolEvent,
    run_turn,
    start_conversation,
)
from agent.providers.base import Completion, MessageParam, TextDelta, ToolSpec
from agent.providers.offline import OfflineProvider
from agent.writer import PlannerWriter
from core.db import get_database
from core.models import Message
from core.storage import get_storage
from tests.conftest import Stack
from tests.jobs.helpers import ledger_of, make_user

BRIEF = "A 20-second vertical video about three ways to save water, with a host"


def deps(stack: Stack, provider: Any = None, **kw: Any) -> AgentDeps:
    return AgentDeps(
        stack.settings,
        get_storage(stack.settings.storage_dir),
        provider or OfflineProvider(),
        PlannerWriter(),
        **kw,
    )


async def say(conversation: str, text: str, d: AgentDeps, user: str) -> list[AgentEvent]:
    return [e async for e in run_turn(conversation, text, d, user_id=user)]


async def test_brief_to_quote_to_approval_to_job(sqlite_stack: Stack) -> None:
    user = await make_user(sqlite_stack.settings, 100)
    conversation = await start_conversation(user, "test")
    first = await say(conversation, BRIEF, deps(sqlite_stack), user)
    script = next(e for e in first if isinstance(e, ScriptEvent))
    quote = next(e for e in first if isinstance(e, QuoteEvent))
    assert script.script.startswith("[TALKING]") and abs(script.planned_seconds - 20) <= 2
    text = "".join(e.text for e in first if isinstance(e, TextEvent))
    assert f"{quote.credits} credits" in text
    assert not any(isinstance(e, JobEvent) for e in first)
    assert (await ledger_of(sqlite_stack.settings, user))[0] == 100

    # A fresh provider and deps: the conversation lives in the database, not in memory.
    second = await say(conversation, "yes, generate it", deps(sqlite_stack), user)
    job = next(e for e in second if isinstance(e, JobEvent))
    assert job.credits == quote.credits
    assert (await ledger_of(sqlite_stack.settings, user))[0] == 100 - quote.credits
    async with get_database().session() as s:
        rows = (
            await s.scalars(select(Message).where(Message.conversation_id == conversation))
        ).all()
    roles = [m.role for m in rows]
    assert roles.count("user") >= 2 and roles.count("assistant") >= 2


async def test_a_question_before_any_video_does_not_spend(sqlite_stack: Stack) -> None:
    user = await make_user(sqlite_stack.settings, 70)
    conversation = await start_conversation(user, "test")
    events = await say(conversation, "what is my balance?", deps(sqlite_stack), user)
    assert "70 credits" in "".join(e.text for e in events if isinstance(e, TextEvent))
    approval = await say(conversation, "yes", deps(sqlite_stack), user)
    assert not any(isinstance(e, JobEvent) for e in approval)


Round = list[dict[str, Any]] | Callable[[list[MessageParam]], list[dict[str, Any]]]


class Scripted:
    """A stand-in model that plays back fixed rounds (or rounds computed from what it was
    sent) and records every request."""

    name = "scripted"

    def __init__(self, rounds: list[Round], repeat_last: bool = False) -> None:
        self.rounds = rounds
        self.repeat_last = repeat_last
        self.seen: list[list[MessageParam]] = []

    async def stream(
        self, *, system: str, messages: list[MessageParam], tools: list[ToolSpec], max_tokens: int
    ) -> AsyncIterator[TextDelta | Completion]:
        self.seen.append([dict(m) for m in messages])
        index = (
            min(len(self.seen) - 1, len(self.rounds) - 1)
            if self.repeat_last
            else len(self.seen) - 1
        )
        round_ = self.rounds[index]
        content = round_(messages) if callable(round_) else round_
        for block in content:
            if block["type"] == "text":
                yield TextDelta(block["text"])
        uses = any(b["type"] == "tool_use" for b in content)
        yield Completion(
            content=content, stop_reason="tool_use" if uses else "end_turn", output_tokens=5
        )


def use(name: str, args: dict[str, Any], n: int) -> dict[str, Any]:
    return {"type": "tool_use", "id": f"toolu_{n}", "name": name, "input": args}


def spend_the_quote_just_made(messages: list[MessageParam]) -> list[dict[str, Any]]:
    """What a greedy model does: read the fresh quote id and spend it straight away."""
    quote_id = json.loads(messages[-1]["content"][0]["content"])["quote_id"]
    return [use("produce_video", {"quote_id": quote_id}, 2)]


async def test_the_model_cannot_approve_its_own_quote(sqlite_stack: Stack) -> None:
    user = await make_user(sqlite_stack.settings, 100)
    conversation = await start_conversation(user, "test")
    await say(conversation, BRIEF, deps(sqlite_stack), user)  # offline: draft + first quote
    greedy = Scripted(
        [[use("quote", {}, 1)], spend_the_quote_just_made, [{"type": "text", "text": "."}]]
    )
    events = await say(conversation, "what would it cost?", deps(sqlite_stack, greedy), user)
    refused = [e for e in events if isinstance(e, ToolEvent) and not e.ok]
    assert refused and "not approved this quote yet" in (refused[0].error or "")
    assert not any(isinstance(e, JobEvent) for e in events)
    assert (await ledger_of(sqlite_stack.settings, user))[0] == 100
    # Once the person answers, the quote they saw can be spent.
    fresh = next(e for e in events if isinstance(e, QuoteEvent))
    approve = Scripted(
        [[use("produce_video", {"quote_id": fresh.quote_id}, 3)], [{"type": "text", "text": "."}]]
    )
    approved = await say(conversation, "yes", deps(sqlite_stack, approve), user)
    assert any(isinstance(e, JobEvent) for e in approved)
    assert (await ledger_of(sqlite_stack.settings, user))[0] == 100 - fresh.credits


async def test_unknown_tools_and_errors_go_back_to_the_model(sqlite_stack: Stack) -> None:
    user = await make_user(sqlite_stack.settings, 100)
    conversation = await start_conversation(user, "test")
    model = Scripted(
        [
            [use("delete_everything", {}, 1), use("get_balance", {"user_id": "someone"}, 2)],
            [use("get_balance", {}, 3)],
            [{"type": "text", "text": "You have 100 credits."}],
        ]
    )
    events = await say(conversation, "balance?", deps(sqlite_stack, model), user)
    second_round = model.seen[1][-1]["content"]
    assert [r["is_error"] for r in second_round] == [True, True]
    assert "unknown tool 'delete_everything'" in second_round[0]["content"]
    assert "Extra inputs" in second_round[1]["content"]
    assert model.seen[2][-1]["content"][0]["is_error"] is False
    assert isinstance(events[-1], DoneEvent) and events[-1].stop_reason == "end_turn"


async def test_the_round_limit_ends_a_runaway_turn(sqlite_stack: Stack) -> None:
    user = await make_user(sqlite_stack.settings, 100)
    conversation = await start_conversation(user, "test")
    looping = Scripted([[use("get_balance", {}, 1)]], repeat_last=True)
    events = await say(conversation, "loop", deps(sqlite_stack, looping, max_rounds=3), user)
    assert len(looping.seen) == 3
    assert any(isinstance(e, ErrorEvent) and "3 tool rounds" in e.message for e in events)
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.stop_reason == "round_limit"


async def test_the_planners_notes_end_as_a_sentence_before_the_price(sqlite_stack: Stack) -> None:
    user = await make_user(sqlite_stack.settings, 100)
    conversation = await start_conversation(user, "test")
    brief = "a 10-second video about tea with a friendly host"
    events = await say(conversation, brief, deps(sqlite_stack), user)
    text = "".join(e.text for e in events if isinstance(e, TextEvent))
    assert "too short" in text and "opens. Here's the script" in text
