"""Account tools: the balance, and the person's avatars, voices and videos."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field
from sqlalchemy import select

from billing import ledger
from core.errors import NotFound
from core.models import Asset, Job, JobStatus, User
from tools.context import ToolContext
from tools.registry import ToolInput, tool

BUILT_IN_VOICES = ("default", "female", "female-2", "female-3", "male", "male-2", "male-3")


class NoInput(ToolInput):
    """This tool takes no arguments."""


class BalanceOutput(BaseModel):
    credits: int
    plan: str


@tool("get_balance", "The person's spendable credits and plan.")
async def get_balance(ctx: ToolContext, args: NoInput) -> BalanceOutput:
    user = await ctx.session.get(User, ctx.user_id)
    if user is None:
        raise NotFound("account not found")
    return BalanceOutput(credits=await ledger.balance(ctx.session, ctx.user_id), plan=user.plan)


class AssetKindFilter(StrEnum):
    all = "all"
    avatars = "avatars"
    voices = "voices"
    videos = "videos"


class ListAssetsInput(ToolInput):
    kind: AssetKindFilter = Field(default=AssetKindFilter.all, description="Which assets to list.")


class AssetOut(BaseModel):
    id: str
    kind: str
    name: str


class AssetsOutput(BaseModel):
    avatars: list[AssetOut] = Field(default_factory=list)
    voices: list[AssetOut] = Field(default_factory=list)
    videos: list[AssetOut] = Field(default_factory=list)


@tool("list_assets", "The person's avatars, voices (built-in and their own) and finished videos.")
async def list_assets(ctx: ToolContext, args: ListAssetsInput) -> AssetsOutput:
    out = AssetsOutput()
    want = args.kind
    if want in (AssetKindFilter.all, AssetKindFilter.avatars, AssetKindFilter.voices):
        rows = await ctx.session.scalars(
            select(Asset).where(Asset.user_id == ctx.user_id).order_by(Asset.created_at)
        )
        for asset in rows:
            item = AssetOut(id=asset.id, kind=asset.kind, name=asset.filename)
            if asset.kind == "avatar" and want != AssetKindFilter.voices:
                out.avatars.append(item)
            elif asset.kind == "voice" and want != AssetKindFilter.avatars:
                out.voices.append(item)
    if want in (AssetKindFilter.all, AssetKindFilter.voices):
        out.voices = [
            AssetOut(id=v, kind="voice", name=f"built-in {v}") for v in BUILT_IN_VOICES
        ] + out.voices
    if want in (AssetKindFilter.all, AssetKindFilter.videos):
        jobs = await ctx.session.scalars(
            select(Job)
            .where(
                Job.user_id == ctx.user_id,
                Job.status == JobStatus.succeeded.value,
                Job.deleted_at.is_(None),
            )
            .order_by(Job.created_at.desc())
            .limit(50)
        )
        out.videos = [
            AssetOut(id=j.id, kind="video", name=j.script_text.splitlines()[0][:80]) for j in jobs
        ]
    return out
