"""Chat routes: a turn with the agent (JSON or server-sent events), and conversations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agent.loop import (
    AgentDeps,
    AgentEvent,
    DoneEvent,
    ErrorEvent,
    TextEvent,
    run_turn,
    start_conversation,
)
from agent.providers.base import Provider
from agent.providers.select import make_provider
from agent.writer import PlannerWriter
from api.chat.history import draft_of, render
from api.chat.schemas import ChatIn, ChatOut, ConversationDetail, ConversationOut, DraftIn, DraftOut
from api.deps import AppSettings, AppStorage, CurrentUser, Session
from api.errors import ERRORS
from api.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, paginate
from core.db import get_database
from core.errors import NotFound, SkyieError
from core.logging import get_logger
from core.models import Conversation, Job, Message, Quote, utcnow
from core.production import ProductionOptions
from core.script import parse_script

log = get_logger("api.chat")
router = APIRouter(tags=["chat"], responses=ERRORS)

CHANNEL = "api"
TITLE_CHARS = 80
HISTORY_LIMIT = 200
SSE_EXAMPLE = (
    'event: text\ndata: {"type":"text","text":"Here\'s the script "}\n\n'
    'event: quote\ndata: {"type":"quote","quote_id":"quo_…","credits":24,…}\n\n'
    'event: done\ndata: {"type":"done","conversation_id":"cnv_…","rounds":3,'
    '"stop_reason":"end_turn"}\n\n'
)


def get_provider(request: Request, settings: AppSettings) -> Provider:
    """One provider per app: the Anthropic client keeps its connection pool between turns."""
    provider: Provider | None = getattr(request.app.state, "chat_provider", None)
    if provider is None:
        provider = make_provider(settings)
        request.app.state.chat_provider = provider
    return provider


ChatProvider = Annotated[Provider, Depends(get_provider)]


async def _owned(session: AsyncSession, user_id: str, conversation_id: str) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    # Someone else's conversation is answered exactly like one that does not exist.
    if conversation is None or conversation.user_id != user_id:
        raise NotFound(f"conversation {conversation_id} not found")
    return conversation


def _title(message: str) -> str:
    first = " ".join(message.strip().splitlines()[0].split())
    return first if len(first) <= TITLE_CHARS else first[: TITLE_CHARS - 1].rstrip() + "…"


def _wants_stream(body: ChatIn, request: Request) -> bool:
    return body.stream or "text/event-stream" in request.headers.get("accept", "")


def _frame(event: AgentEvent) -> str:
    return f"event: {event.type}\ndata: {event.model_dump_json()}\n\n"


def reply_of(conversation_id: str, events: list[AgentEvent]) -> ChatOut:
    done = next((e for e in events if isinstance(e, DoneEvent)), None)
    return ChatOut(
        conversation_id=conversation_id,
        text="".join(e.text for e in events if isinstance(e, TextEvent)),
        events=[e for e in events if not isinstance(e, TextEvent | DoneEvent)],
        stop_reason=done.stop_reason if done else "error",
        rounds=done.rounds if done else 0,
    )


async def _stream(
    turn: AsyncIterator[AgentEvent], conversation_id: str, user_id: str
) -> AsyncIterator[str]:
    """The turn as SSE frames. The status is sent already, so a failure becomes an error
    event, and the stream always ends with `done` so clients know when to stop listening."""
    try:
        async for event in turn:
            yield _frame(event)
            if isinstance(event, DoneEvent):
                return
        message = "the assistant stopped without finishing"
    except SkyieError as exc:
        message = exc.message
    except Exception:
        log.exception("chat.stream_failed", conversation_id=conversation_id, user_id=user_id)
        message = "something went wrong on our side; try again"
    finally:
        # A client that hangs up mid-turn closes this stream; close the turn with it, so its
        # open model stream is not left for the garbage collector.
        aclose = getattr(turn, "aclose", None)
        if aclose is not None:
            await aclose()
    yield _frame(ErrorEvent(message=message))
    yield _frame(DoneEvent(conversation_id=conversation_id, rounds=0, stop_reason="error"))


@router.post(
    "/chat",
    response_model=ChatOut,
    responses={
        200: {
            "description": "The turn as JSON, or as server-sent events when streaming: one "
            "`event: <type>` frame per text piece, script, quote, tool, job or error, then "
            "`done`. The `X-Conversation-Id` header names the conversation either way.",
            "content": {
                "text/event-stream": {"schema": {"type": "string"}, "example": SSE_EXAMPLE}
            },
        },
    },
)
async def chat(
    body: ChatIn,
    request: Request,
    response: Response,
    principal: CurrentUser,
    settings: AppSettings,
    storage: AppStorage,
    provider: ChatProvider,
) -> Response | ChatOut:
    """Talk to the studio's assistant: describe a video, change its script, approve its price.

    Without `conversation_id` a new conversation starts. An approval ('yes, make it') of a
    price shown in an earlier turn starts the job and holds its credits."""
    user_id = principal.user_id
    if body.conversation_id is not None:
        # Checked before anything is streamed, so an unknown id is a plain 404.
        async with get_database().session() as s:
            conversation_id = (await _owned(s, user_id, body.conversation_id)).id
    else:
        conversation_id = await start_conversation(user_id, CHANNEL, _title(body.message))
    deps = AgentDeps(settings, storage, provider, PlannerWriter())
    turn = run_turn(conversation_id, body.message, deps, user_id=user_id, channel=CHANNEL)
    if _wants_stream(body, request):
        return StreamingResponse(
            _stream(turn, conversation_id, user_id),
            media_type="text/event-stream",
            # Proxies must pass each frame on as it comes, not buffer the turn.
            headers={
                "X-Conversation-Id": conversation_id,
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            },
        )
    response.headers["X-Conversation-Id"] = conversation_id
    return reply_of(conversation_id, [event async for event in turn])


def _conversation_out(row: Conversation) -> ConversationOut:
    return ConversationOut.model_validate(row, from_attributes=True)


@router.get("/conversations")
async def list_conversations(
    principal: CurrentUser, session: Session, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Page[ConversationOut]:
    """The caller's conversations, newest first, from every channel."""
    stmt = select(Conversation).where(Conversation.user_id == principal.user_id)
    rows, next_cursor = await paginate(session, stmt, Conversation, limit, cursor)
    return Page(items=[_conversation_out(r) for r in rows], next_cursor=next_cursor)


@router.get("/conversations/{conversation_id}")
async def get_conversation(
    conversation_id: str, principal: CurrentUser, session: Session
) -> ConversationDetail:
    """A conversation's current draft and its latest messages, as a person would read them."""
    row = await _owned(session, principal.user_id, conversation_id)
    latest = (
        await session.scalars(
            select(Message)
            .where(Message.conversation_id == row.id)
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(HISTORY_LIMIT)
        )
    ).all()
    return ConversationDetail(
        **_conversation_out(row).model_dump(),
        draft=draft_of(row.state),
        messages=render(list(reversed(latest))),
    )


@router.put("/conversations/{conversation_id}/draft")
async def put_draft(
    conversation_id: str, body: DraftIn, principal: CurrentUser, session: Session
) -> DraftOut:
    """Replace the working script with the person's own edit (the script card). The next chat
    turn revises this version; a quote shown for the old one no longer applies."""
    row = await _owned(session, principal.user_id, conversation_id)
    script = parse_script(body.script)
    options = body.options or ProductionOptions.model_validate(row.state.get("options", {}))
    state = {k: v for k, v in row.state.items() if k != "quote_id"}
    row.state = {
        **state,
        "script": script.to_text(),
        "options": options.model_dump(mode="json"),
    }
    row.updated_at = utcnow()
    draft = draft_of(row.state)
    assert draft is not None
    return draft


@router.delete("/conversations/{conversation_id}", status_code=204)
async def delete_conversation(
    conversation_id: str, principal: CurrentUser, session: Session
) -> Response:
    """Forget a conversation and its messages. Its jobs and the quotes they were priced by
    stay: they are the record of what was produced and charged."""
    row = await _owned(session, principal.user_id, conversation_id)
    await session.execute(
        update(Quote).where(Quote.conversation_id == row.id).values(conversation_id=None)
    )
    await session.execute(
        update(Job).where(Job.conversation_id == row.id).values(conversation_id=None)
    )
    await session.execute(delete(Message).where(Message.conversation_id == row.id))
    await session.delete(row)
    return Response(status_code=204)
