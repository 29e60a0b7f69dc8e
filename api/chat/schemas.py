"""What the conversational endpoint takes and answers: a turn, its events, conversations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent.loop import ErrorEvent, JobEvent, QuoteEvent, ScriptEvent, ToolEvent
from core.production import ProductionOptions
from tools.drafting import MAX_SCRIPT_CHARS

MAX_MESSAGE_CHARS = 4000


class ChatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(
        min_length=1,
        max_length=MAX_MESSAGE_CHARS,
        description="What the person says: a brief, a change, an approval, a question.",
    )
    conversation_id: str | None = Field(
        default=None, max_length=40, description="Continue this conversation; omit to start one."
    )
    stream: bool = Field(
        default=False,
        description="Answer as server-sent events (also when 'Accept: text/event-stream').",
    )

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the message is empty; say what video you want")
        return value


# Text arrives joined in `ChatOut.text`; everything else the turn produced is listed in order.
ReplyEvent = Annotated[
    ScriptEvent | QuoteEvent | ToolEvent | JobEvent | ErrorEvent, Field(discriminator="type")
]


class ChatOut(BaseModel):
    conversation_id: str
    text: str = Field(description="The assistant's reply, as one text.")
    events: list[ReplyEvent] = Field(
        description="Scripts proposed, quotes shown, tools run, jobs started and errors, in order."
    )
    stop_reason: str = Field(
        description="end_turn, or why the turn stopped early: provider_error, round_limit, ..."
    )
    rounds: int = Field(description="Model calls this turn took.")


class ConversationOut(BaseModel):
    id: str
    title: str
    channel: str = Field(description="Where it was started: api, web, telegram, cli.")
    turns: int
    created_at: datetime
    updated_at: datetime


class DraftOut(BaseModel):
    script: str = Field(description="The working script, in text form.")
    options: dict[str, Any] = Field(default_factory=dict, description="Its production options.")
    quote_id: str | None = Field(default=None, description="The latest quote shown, if any.")


class HistoryItem(BaseModel):
    role: Literal["user", "assistant", "tool"]
    text: str = Field(description="What was said, or a one-line summary of a tool's result.")
    tool: str | None = Field(default=None, description="The tool, for role 'tool'.")
    ok: bool | None = Field(default=None, description="Whether the tool succeeded.")
    created_at: datetime


class ConversationDetail(ConversationOut):
    draft: DraftOut | None = Field(default=None, description="The current draft, if any.")
    messages: list[HistoryItem] = Field(description="The latest messages, oldest first.")


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    script: str = Field(
        min_length=1, max_length=MAX_SCRIPT_CHARS, description="The edited script, in text form."
    )
    options: ProductionOptions | None = Field(
        default=None, description="Production options; omit to keep the draft's."
    )
