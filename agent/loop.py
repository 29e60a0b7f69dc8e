"""The conversation loop: one person's message in, streamed text, tool calls and events out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import select

from agent.prompt import SYSTEM_PROMPT
from agent.providers.base import Completion, MessageParam, Provider, ProviderError, ToolSpec
from core.db import get_database
from core.errors import NotFound
from core.logging import get_logger
from core.models import Conversation, Message, utcnow
from core.settings import Settings
from core.storage import Storage
from tools.context import ScriptWriter, ToolContext
from tools.registry import ToolOutcome, call_tool, tool_definitions

log = get_logger("agent")

MAX_ROUNDS = 8
MAX_TOKENS_PER_ROUND = 2048
MAX_OUTPUT_TOKENS_PER_TURN = 8000
HISTORY_MESSAGES = 60


class TextEvent(BaseModel):
    type: Literal["text"] = "text"
    text: str


class ScriptEvent(BaseModel):
    type: Literal["script"] = "script"
    script: str
    planned_seconds: float
    summary: str = ""


class QuoteEvent(BaseModel):
    type: Literal["quote"] = "quote"
    quote_id: str
    credits: int
    planned_seconds: float
    balance: int
    expires_at: datetime


class ToolEvent(BaseModel):
    type: Literal["tool"] = "tool"
    name: str
    ok: bool
    error: str | None = None


class JobEvent(BaseModel):
    type: Literal["job"] = "job"
    job_id: str
    credits: int


class ErrorEvent(BaseModel):
    type: Literal["error"] = "error"
    message: str


class DoneEvent(BaseModel):
    type: Literal["done"] = "done"
    conversation_id: str
    rounds: int
    stop_reason: str


AgentEvent = TextEvent | ScriptEvent | QuoteEvent | ToolEvent | JobEvent | ErrorEvent | DoneEvent


@dataclass
class AgentDeps:
    settings: Settings
    storage: Storage
    provider: Provider
    writer: ScriptWriter
    max_rounds: int = MAX_ROUNDS
    max_output_tokens: int = MAX_OUTPUT_TOKENS_PER_TURN


async def start_conversation(user_id: str, channel: str, title: str = "") -> str:
    async with get_database().session() as s:
        conversation = Conversation(user_id=user_id, channel=channel, title=title[:200])
        s.add(conversation)
        await s.flush()
        return conversation.id


async def _load(conversation_id: str, user_id: str) -> list[MessageParam]:
    async with get_database().session() as s:
        conversation = await s.get(Conversation, conversation_id)
        if conversation is None or conversation.user_id != user_id:
            raise NotFound(f"conversation {conversation_id} not found")
        rows = (
            await s.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.created_at.desc(), Message.id.desc())
                .limit(HISTORY_MESSAGES)
            )
        ).all()
    history = [{"role": m.role, "content": m.content} for m in reversed(rows)]
    # Start at a plain user message, so no tool_result lacks the tool_use it answers.
    while history and not _is_plain_user(history[0]):
        history.pop(0)
    return history


def _is_plain_user(message: MessageParam) -> bool:
    return message["role"] == "user" and all(b.get("type") == "text" for b in message["content"])


async def _append(
    conversation_id: str, role: str, content: list[dict[str, Any]], *, turn: bool = False
) -> int:
    async with get_database().session() as s:
        conversation = await s.get(Conversation, conversation_id)
        assert conversation is not None
        if turn:
            conversation.turns += 1
        conversation.updated_at = utcnow()
        s.add(Message(conversation_id=conversation_id, role=role, content=content))
        return conversation.turns


def events_for(outcome: ToolOutcome) -> list[AgentEvent]:
    """What a tool's result means to the person watching: a script, a price, a job."""
    events: list[AgentEvent] = [
        ToolEvent(name=outcome.name, ok=not outcome.is_error, error=outcome.error)
    ]
    data = outcome.output.model_dump(mode="json") if outcome.output is not None else {}
    if "script" in data and "planned_seconds" in data:
        events.append(
            ScriptEvent(
                script=data["script"],
                planned_seconds=data["planned_seconds"],
                summary=data.get("summary", ""),
            )
        )
    quote = data.get("quote") if isinstance(data.get("quote"), dict) else data
    if quote and "quote_id" in quote:
        events.append(QuoteEvent.model_validate(quote))
    job = data.get("job") if isinstance(data.get("job"), dict) else data
    if job and "job_id" in job and "credits" in job:
        events.append(JobEvent(job_id=job["job_id"], credits=job["credits"]))
    return events


async def _run_tools(
    completion: Completion,
    deps: AgentDeps,
    user_id: str,
    conversation_id: str,
    turn: int,
    channel: str,
) -> tuple[list[dict[str, Any]], list[AgentEvent]]:
    results: list[dict[str, Any]] = []
    events: list[AgentEvent] = []
    # All tool calls of one round share one transaction; jobs are sent when it commits.
    async with get_database().session() as s:
        ctx = ToolContext(
            session=s,
            user_id=user_id,
            channel=channel,
            settings=deps.settings,
            storage=deps.storage,
            conversation_id=conversation_id,
            turn=turn,
            writer=deps.writer,
        )
        for use in completion.tool_uses:
            outcome = await call_tool(ctx, str(use.get("name", "")), use.get("input", {}))
            results.append(
                {
                    "type": "tool_result",
                    "tool_use_id": use["id"],
                    "content": outcome.content(),
                    "is_error": outcome.is_error,
                }
            )
            events.extend(events_for(outcome))
    return results, events


async def run_turn(
    conversation_id: str, message: str, deps: AgentDeps, *, user_id: str, channel: str = "cli"
) -> AsyncIterator[AgentEvent]:
    """Answer one message: stream the model's text, run the tools it calls (identity from the
    session, never from the model), and stop at end_turn or at the round and token bounds."""
    history = await _load(conversation_id, user_id)
    said: list[dict[str, Any]] = [{"type": "text", "text": message}]
    turn = await _append(conversation_id, "user", said, turn=True)
    history.append({"role": "user", "content": said})
    tools = [ToolSpec(**d) for d in tool_definitions()]
    output_tokens = 0
    stop = "end_turn"
    rounds = 0
    for rounds in range(1, deps.max_rounds + 1):  # noqa: B007 - the count is reported
        completion: Completion | None = None
        try:
            async for piece in deps.provider.stream(
                system=SYSTEM_PROMPT, messages=history, tools=tools, max_tokens=MAX_TOKENS_PER_ROUND
            ):
                if isinstance(piece, Completion):
                    completion = piece
                elif piece.text:
                    yield TextEvent(text=piece.text)
        except ProviderError as exc:
            log.warning("agent.provider_failed", error=str(exc))
            yield ErrorEvent(message=f"the assistant is unavailable right now: {exc}")
            stop = "provider_error"
            break
        if completion is None:
            yield ErrorEvent(message="the assistant returned nothing")
            stop = "provider_error"
            break
        output_tokens += completion.output_tokens
        await _append(conversation_id, "assistant", completion.content)
        history.append({"role": "assistant", "content": completion.content})
        stop = completion.stop_reason
        if not completion.tool_uses:
            break
        results, events = await _run_tools(
            completion, deps, user_id, conversation_id, turn, channel
        )
        for event in events:
            yield event
        await _append(conversation_id, "user", results)
        history.append({"role": "user", "content": results})
        if output_tokens >= deps.max_output_tokens:
            stop = "token_limit"
            yield ErrorEvent(message="this turn used its token budget; say 'continue' to go on")
            break
    else:
        stop = "round_limit"
        yield ErrorEvent(
            message=f"stopped after {deps.max_rounds} tool rounds; say 'continue' to go on"
        )
    yield DoneEvent(conversation_id=conversation_id, rounds=rounds, stop_reason=stop)
