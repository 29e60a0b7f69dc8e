"""The classic forms: quote and produce a talking head, b-roll or whole script, validate a script.

Each form calls the same tool the agent calls, as the authenticated user, so prices, credit
checks and quote rules are one code path whichever way a person asks.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import APIRouter, Response
from pydantic import BaseModel

from api.deps import AppSettings, AppStorage, CurrentUser, Session, Tools, tool_context
from api.errors import ERRORS, ErrorResponse
from api.videos.schemas import (
    ProductionIn,
    QuoteIn,
    ScriptIn,
    SegmentOut,
    ValidationOut,
)
from core.errors import InvalidInput, NotFound, SkyieError
from core.models import Quote
from core.script import BrollSegment, parse_script
from tools.context import ToolContext
from tools.drafting import ValidateScriptInput, ValidationOutput
from tools.production import (
    BrollInput,
    JobStarted,
    ProduceVideoInput,
    QuoteInput,
    QuoteOutput,
    TalkingHeadInput,
    WorkflowOutput,
)
from tools.registry import ToolOutcome, call_tool

router = APIRouter(tags=["videos"], responses=ERRORS)

M = TypeVar("M", bound=BaseModel)

_SPENDING: dict[int | str, dict[str, Any]] = {
    201: {"model": WorkflowOutput, "description": "The job started; its credits are held."},
    402: {"model": ErrorResponse, "description": "Not enough credits for this quote."},
    409: {"model": ErrorResponse, "description": "The quote was already used."},
}


def tool_error(outcome: ToolOutcome) -> SkyieError:
    """The tool's failure with the status it had inside the tool (402, 404, 409, 422...)."""
    if outcome.cause is not None:
        return outcome.cause
    error = SkyieError(outcome.error or f"{outcome.name} failed", code=outcome.code)
    error.status_code = outcome.status_code
    return error


async def run_tool(ctx: ToolContext, name: str, args: BaseModel, expect: type[M]) -> M:
    outcome = await call_tool(ctx, name, args)
    if outcome.output is None:
        raise tool_error(outcome)
    if not isinstance(outcome.output, expect):
        raise TypeError(f"tool {name} returned {type(outcome.output).__name__}")
    return outcome.output


def _answer(out: WorkflowOutput, response: Response) -> WorkflowOutput:
    # A quote is only a price (200); a started job is a new resource (201).
    response.status_code = 201 if out.job is not None else 200
    return out


@router.post("/videos/talking-head", responses=_SPENDING)
async def talking_head(body: TalkingHeadInput, response: Response, ctx: Tools) -> WorkflowOutput:
    """The host says `text`. Without `quote_id`: the price. With it: the job."""
    out = await run_tool(ctx, "generate_talking_head", body, WorkflowOutput)
    return _answer(out, response)


@router.post("/videos/broll", responses=_SPENDING)
async def broll(body: BrollInput, response: Response, ctx: Tools) -> WorkflowOutput:
    """A sequence of generated clips. Without `quote_id`: the price. With it: the job."""
    out = await run_tool(ctx, "generate_broll", body, WorkflowOutput)
    return _answer(out, response)


async def _check_quote_matches(session: Session, user_id: str, body: ProductionIn) -> None:
    """A quote pays for exactly the script and options it priced, never for an edited one."""
    assert body.quote_id is not None
    quote = await session.get(Quote, body.quote_id)
    if quote is None or quote.user_id != user_id:
        raise NotFound(f"quote {body.quote_id} not found")
    if parse_script(body.script).to_text() != quote.script_text:
        raise InvalidInput(
            f"quote {quote.id} was for a different script; ask for a new quote for this one"
        )
    if body.options is not None and body.options.model_dump(mode="json") != quote.options:
        raise InvalidInput(
            f"quote {quote.id} was for different options; ask for a new quote for these"
        )


@router.post("/videos/production", responses=_SPENDING)
async def production(
    body: ProductionIn,
    response: Response,
    principal: CurrentUser,
    session: Session,
    settings: AppSettings,
    storage: AppStorage,
) -> WorkflowOutput:
    """A whole script with [TALKING] and [BROLL: …] markers. Without `quote_id`: the price.
    With it (and the same script): the job, with the quoted credits held."""
    ctx = tool_context(session, principal, settings, storage)
    if body.quote_id is None:
        args = QuoteInput(script=body.script, options=body.options)
        return _answer(
            WorkflowOutput(quote=await run_tool(ctx, "quote", args, QuoteOutput)), response
        )
    await _check_quote_matches(session, principal.user_id, body)
    produce = ProduceVideoInput(quote_id=body.quote_id)
    job = await run_tool(ctx, "produce_video", produce, JobStarted)
    return _answer(WorkflowOutput(job=job), response)


@router.post("/quotes")
async def create_quote(
    body: QuoteIn,
    principal: CurrentUser,
    session: Session,
    settings: AppSettings,
    storage: AppStorage,
) -> QuoteOutput:
    """Price a script. Spends nothing; the quote is valid for 30 minutes."""
    ctx = tool_context(session, principal, settings, storage)
    args = QuoteInput(script=body.script, options=body.options)
    return await run_tool(ctx, "quote", args, QuoteOutput)


def _segments(script_text: str) -> list[SegmentOut]:
    return [
        SegmentOut(
            index=index,
            kind=segment.kind,
            text=segment.text,
            prompt=segment.prompt if isinstance(segment, BrollSegment) else None,
            duration_s=segment.duration_s if isinstance(segment, BrollSegment) else None,
            planned_seconds=round(segment.planned_seconds, 1),
        )
        for index, segment in enumerate(parse_script(script_text).segments, start=1)
    ]


@router.post("/scripts/validate")
async def validate_script(
    body: ScriptIn,
    principal: CurrentUser,
    session: Session,
    settings: AppSettings,
    storage: AppStorage,
) -> ValidationOut:
    """Check a script's markers and limits. Answers 200 either way: `valid` says which, and
    `errors` names every problem by line and column."""
    ctx = tool_context(session, principal, settings, storage)
    checked = await run_tool(
        ctx, "validate_script", ValidateScriptInput(script=body.script), ValidationOutput
    )
    if not checked.valid:
        return ValidationOut(valid=False, errors=checked.issues)
    return ValidationOut(
        valid=True, segments=_segments(body.script), planned_seconds=checked.planned_seconds
    )
