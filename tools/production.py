"""Spending tools: quote a script, and produce it only against a quote the person has seen."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import select, update

from billing import ledger
from billing.pricing import LineItem, quote_for
from core.errors import Conflict, InvalidInput, NotFound
from core.models import Conversation, Job, JobStep, Quote, utcnow
from core.production import ProductionOptions, VideoFormat, VoiceEngine
from core.script import (
    MAX_BROLL_S,
    MAX_PROMPT_CHARS,
    MAX_SEGMENTS,
    MAX_TEXT_CHARS,
    MIN_BROLL_S,
    BrollSegment,
    Script,
    TalkingSegment,
    parse_script,
)
from jobs import service
from jobs.plan import plan_job
from jobs.service import plan_limits
from tools.assets import portrait_for, voice_reference
from tools.context import ToolContext
from tools.drafting import MAX_SCRIPT_CHARS, current_draft
from tools.plan_limits import check_caller_plan
from tools.registry import ToolInput, tool

QUOTE_TTL = timedelta(minutes=30)
STALE_QUOTE = "the script changed since this price was shown"


class QuoteOutput(BaseModel):
    quote_id: str = Field(description="Pass this to produce the video once the person approves.")
    credits: int
    planned_seconds: float
    items: list[LineItem]
    expires_at: datetime
    balance: int = Field(description="The person's spendable credits now.")


class JobStarted(BaseModel):
    job_id: str
    credits: int = Field(description="Credits held now and charged when the video is ready.")
    planned_seconds: float
    balance: int = Field(description="Spendable credits left after the hold.")


async def make_quote(
    ctx: ToolContext, script: Script, options: ProductionOptions, *, workflow: str = "production"
) -> QuoteOutput:
    """Price `script` and record the quote, so a later spend is exactly what was shown."""
    await check_caller_plan(ctx, options)
    portrait = await portrait_for(ctx, options.avatar_asset_id)  # a bad avatar fails first
    reference = await voice_reference(ctx, options.voice)
    reused, music_reused = await _already_made(ctx, script, options, portrait, reference)
    priced = quote_for(workflow, script, options, reused=reused, music_reused=music_reused)
    row = Quote(
        user_id=ctx.user_id,
        conversation_id=ctx.conversation_id,
        turn=ctx.turn,
        workflow=workflow,
        script_text=script.to_text(),
        options=options.model_dump(mode="json"),
        credits=priced.credits,
        expires_at=utcnow() + QUOTE_TTL,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    if ctx.conversation_id:
        conversation = await ctx.session.get(Conversation, ctx.conversation_id)
        if conversation is not None:
            conversation.state = {**conversation.state, "quote_id": row.id}
    return QuoteOutput(
        quote_id=row.id,
        credits=priced.credits,
        planned_seconds=priced.planned_seconds,
        items=priced.items,
        expires_at=row.expires_at,
        balance=await ledger.balance(ctx.session, ctx.user_id),
    )


async def _already_made(
    ctx: ToolContext,
    script: Script,
    options: ProductionOptions,
    portrait: str,
    reference: str | None,
) -> tuple[frozenset[int], bool]:
    """Segments (and music) whose GPU steps this person's earlier jobs already produced."""
    steps = plan_job(
        script,
        options,
        portrait_key=portrait,
        engines=ctx.settings.gpu_engines,
        voice_reference=reference,
        limits=await plan_limits(ctx.session, ctx.user_id),
    )
    gpu = [s for s in steps if s.queue == "gpu"]
    done = set(
        await ctx.session.scalars(
            select(JobStep.content_key)
            .join(Job, Job.id == JobStep.job_id)
            .where(
                Job.user_id == ctx.user_id,
                JobStep.status == "done",
                JobStep.content_key.in_([s.content_key for s in gpu]),
            )
        )
    )
    reused = {
        index
        for index in range(len(script.segments))
        if all(s.content_key in done for s in gpu if s.name.endswith(f"/{index}"))
    }
    music = [s for s in gpu if s.kind == "music"]
    return frozenset(reused), bool(music) and music[0].content_key in done


async def start_production(ctx: ToolContext, quote_id: str) -> JobStarted:
    """Hold the quoted credits and queue the job, in the caller's transaction."""
    quote = await ctx.session.get(Quote, quote_id)
    if quote is None or quote.user_id != ctx.user_id:
        raise NotFound(f"quote {quote_id} not found")
    if quote.job_id is not None:
        raise Conflict(f"quote {quote_id} was already used for job {quote.job_id}")
    if quote.expires_at < utcnow():
        raise InvalidInput(f"quote {quote_id} expired; ask for a new quote")
    if ctx.turn is not None and (quote.turn is None or quote.turn >= ctx.turn):
        raise InvalidInput(
            "the person has not approved this quote yet: show the price and wait for their reply"
        )
    if ctx.conversation_id is not None and quote.conversation_id != ctx.conversation_id:
        raise NotFound(f"quote {quote_id} not found")
    if ctx.conversation_id is not None:
        conversation = await ctx.session.get(Conversation, ctx.conversation_id)
        draft = conversation.state.get("script") if conversation is not None else None
        if draft is not None and draft != quote.script_text:
            # The person edited the script (the card, or a revision) after seeing this price.
            raise InvalidInput(
                f"{STALE_QUOTE}: quote {quote_id} priced an earlier version; quote the current "
                "script and show the person the new price before producing",
                code="stale_quote",
            )
    script = parse_script(quote.script_text)
    options = ProductionOptions.model_validate(quote.options)
    await check_caller_plan(ctx, options)  # the plan may have changed since the quote
    job = await service.create_job(
        ctx.session,
        user_id=ctx.user_id,
        script=script,
        options=options,
        credits=quote.credits,
        portrait_key=await portrait_for(ctx, options.avatar_asset_id),
        engines=ctx.settings.gpu_engines,
        workflow=quote.workflow,
        conversation_id=ctx.conversation_id,
        voice_reference=await voice_reference(ctx, options.voice),
    )
    # Conditional: of two approvals racing, one claims the quote and the other rolls back.
    claimed = await ctx.session.execute(
        update(Quote).where(Quote.id == quote.id, Quote.job_id.is_(None)).values(job_id=job.id)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        raise Conflict(f"quote {quote_id} was already used")
    return JobStarted(
        job_id=job.id,
        credits=quote.credits,
        planned_seconds=round(script.planned_seconds, 1),
        balance=await ledger.balance(ctx.session, ctx.user_id),
    )


class QuoteInput(ToolInput):
    script: str | None = Field(
        default=None,
        max_length=MAX_SCRIPT_CHARS,
        description="Script in text form; omit to quote the conversation's current draft.",
    )
    options: ProductionOptions | None = Field(
        default=None, description="Production options; omit to keep the draft's."
    )


@tool("quote", "Price a script in credits. Shows the person the cost; spends nothing.")
async def quote(ctx: ToolContext, args: QuoteInput) -> QuoteOutput:
    draft = await current_draft(ctx)
    if args.script is not None:
        script = parse_script(args.script)
    elif draft is not None:
        script = draft.script
    else:
        raise InvalidInput("there is no script to quote: draft one first or pass `script`")
    options = args.options or (draft.options if draft else ProductionOptions())
    return await make_quote(ctx, script, options)


class ProduceVideoInput(ToolInput):
    quote_id: str = Field(
        max_length=40, description="The id of a quote the person has seen and approved."
    )


@tool(
    "produce_video",
    "Produce the quoted script. Only after the person approved that quote in their own words.",
    spends=True,
)
async def produce_video(ctx: ToolContext, args: ProduceVideoInput) -> JobStarted:
    return await start_production(ctx, args.quote_id)


class WorkflowOutput(BaseModel):
    quote: QuoteOutput | None = Field(default=None, description="Set when no quote_id was given.")
    job: JobStarted | None = Field(default=None, description="Set when a quote_id was given.")


class TalkingHeadInput(ToolInput):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="What the host says.")
    format: VideoFormat = Field(default=VideoFormat.tiktok, description="Target platform format.")
    voice: str = Field(
        default="default", max_length=64, description="Voice name or voice asset id."
    )
    language: str = Field(default="en", max_length=16, description="Spoken language (ISO 639).")
    voice_engine: VoiceEngine = Field(
        default=VoiceEngine.auto, description="Speech engine; auto takes the GPU server's best."
    )
    avatar_asset_id: str | None = Field(default=None, max_length=64, description="Portrait asset.")
    background: bool = Field(default=False, description="Set the host over a generated background.")
    background_prompt: str = Field(
        default="a bright modern studio with soft light",
        min_length=1,
        max_length=300,
        description="What the background shows.",
    )
    quote_id: str | None = Field(
        default=None, max_length=40, description="Omit to get a quote; pass it to produce."
    )


async def _quote_or_produce(
    ctx: ToolContext,
    script: Script,
    options: ProductionOptions,
    workflow: str,
    quote_id: str | None,
) -> WorkflowOutput:
    if quote_id is None:
        return WorkflowOutput(quote=await make_quote(ctx, script, options, workflow=workflow))
    row = await ctx.session.get(Quote, quote_id)
    if row is not None and row.user_id == ctx.user_id and row.script_text != script.to_text():
        raise InvalidInput("this quote was for a different script; ask for a new quote")
    return WorkflowOutput(job=await start_production(ctx, quote_id))


@tool(
    "generate_talking_head",
    "The talking-head form: the host says `text`. Without quote_id returns a quote.",
    spends=True,
)
async def generate_talking_head(ctx: ToolContext, args: TalkingHeadInput) -> WorkflowOutput:
    script = Script(segments=[TalkingSegment(text=args.text)])
    options = ProductionOptions(
        format=args.format,
        voice=args.voice,
        language=args.language,
        avatar_asset_id=args.avatar_asset_id,
        voice_engine=args.voice_engine,
        background=args.background,
        background_prompt=args.background_prompt,
        music=False,
    )
    return await _quote_or_produce(ctx, script, options, "talking_head", args.quote_id)


class Scene(ToolInput):
    prompt: str = Field(
        min_length=1, max_length=MAX_PROMPT_CHARS, description="What the clip shows."
    )
    duration_s: float = Field(default=4.0, ge=MIN_BROLL_S, le=MAX_BROLL_S, description="Seconds.")
    narration: str = Field(
        default="", max_length=MAX_TEXT_CHARS, description="Optional voice-over."
    )


class BrollInput(ToolInput):
    scenes: list[Scene] = Field(
        min_length=1, max_length=MAX_SEGMENTS, description="Clips in order."
    )
    style: str = Field(default="", max_length=120, description="Look applied to every scene.")
    music: bool = Field(default=True, description="Lay a music bed under the clips.")
    music_prompt: str = Field(
        default="upbeat light background music", max_length=200, description="Music style."
    )
    format: VideoFormat = Field(default=VideoFormat.tiktok, description="Target platform format.")
    quote_id: str | None = Field(
        default=None, max_length=40, description="Omit to get a quote; pass it to produce."
    )


@tool(
    "generate_broll",
    "The b-roll form: a sequence of generated clips. Without quote_id returns a quote.",
    spends=True,
)
async def generate_broll(ctx: ToolContext, args: BrollInput) -> WorkflowOutput:
    suffix = f", {args.style}" if args.style else ""
    try:
        script = Script(
            segments=[
                BrollSegment(
                    prompt=(s.prompt + suffix)[:MAX_PROMPT_CHARS],
                    duration_s=s.duration_s,
                    text=s.narration,
                )
                for s in args.scenes
            ]
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    options = ProductionOptions(
        format=args.format, music=args.music, music_prompt=args.music_prompt
    )
    return await _quote_or_produce(ctx, script, options, "broll", args.quote_id)
