"""The production tools: quote a script; produce it (hold + enqueue in one transaction)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from billing import ledger
from billing.pricing import Quote, quote_production
from core.production import ProductionOptions
from core.script import MAX_SEGMENTS, Script, parse_script
from jobs import service
from tools.assets import portrait_for
from tools.context import ToolContext


class QuoteInput(BaseModel):
    script: str = Field(
        description="The script in text form, with [TALKING] and [BROLL: …] markers.",
        max_length=MAX_SEGMENTS * 1300,
    )
    options: ProductionOptions = Field(
        default_factory=ProductionOptions, description="How to produce it."
    )


class ProduceVideoInput(QuoteInput):
    """Produce a script the person has approved."""


class ProduceVideoResult(BaseModel):
    job_id: str
    credits: int = Field(description="Credits held now and charged when the video is ready.")
    planned_seconds: float
    balance: int = Field(description="Spendable credits left after the hold.")


def parse_and_quote(args: QuoteInput) -> tuple[Script, Quote]:
    script = parse_script(args.script)
    return script, quote_production(script, args.options)


async def quote(ctx: ToolContext, args: QuoteInput) -> Quote:
    """Price a script without spending anything."""
    return parse_and_quote(args)[1]


async def produce_video(ctx: ToolContext, args: ProduceVideoInput) -> ProduceVideoResult:
    """Check the script and avatar, hold the quoted credits and queue the job, all in the
    caller's transaction: if anything fails, nothing is held and nothing is queued."""
    script, priced = parse_and_quote(args)
    portrait = await portrait_for(ctx, args.options.avatar_asset_id)
    job = await service.create_job(
        ctx.session,
        user_id=ctx.user_id,
        script=script,
        options=args.options,
        credits=priced.credits,
        portrait_key=portrait,
        engines=ctx.settings.gpu_engines,
        conversation_id=ctx.conversation_id,
    )
    return ProduceVideoResult(
        job_id=job.id,
        credits=priced.credits,
        planned_seconds=priced.planned_seconds,
        balance=await ledger.balance(ctx.session, ctx.user_id),
    )
