"""Export tool: a finished video cut into platform formats, free of charge."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from core.errors import Conflict, NotFound
from core.models import Job, JobStatus
from jobs.service import create_export_job
from tools.context import ToolContext
from tools.registry import ToolInput, tool


class ExportFormat(StrEnum):
    tiktok = "tiktok"
    reels = "reels"
    shorts = "shorts"
    youtube = "youtube"
    instagram = "instagram"
    square = "square"
    x = "x"


class ExportInput(ToolInput):
    job_id: str = Field(max_length=40, description="A finished video job.")
    formats: list[ExportFormat] = Field(
        min_length=1,
        max_length=len(ExportFormat),
        description="Platform formats: tiktok, reels, shorts (1080x1920), youtube (1920x1080), "
        "instagram (1080x1350), square (1080x1080), x (1280x720).",
    )


class ExportStarted(BaseModel):
    job_id: str = Field(description="The export job; its status is under job_status.")
    formats: list[ExportFormat]


@tool("export_video", "Export a finished video to platform formats in one pass (no credits).")
async def export_video(ctx: ToolContext, args: ExportInput) -> ExportStarted:
    return await start_export(ctx, args)


async def start_export(ctx: ToolContext, args: ExportInput) -> ExportStarted:
    """The export_video tool's work, typed for callers other than the model (the API)."""
    source = await ctx.session.get(Job, args.job_id)
    if source is None or source.user_id != ctx.user_id:
        raise NotFound(f"job {args.job_id} not found")
    if source.status != JobStatus.succeeded.value or "render_key" not in source.output:
        # The job's state, not the request, is what is wrong: 409, and the same ask works later.
        raise Conflict(
            f"job {args.job_id} has no finished video to export yet", code="not_finished"
        )
    formats = sorted({f.value for f in args.formats})
    job = await create_export_job(ctx.session, user_id=ctx.user_id, source=source, formats=formats)
    return ExportStarted(job_id=job.id, formats=[ExportFormat(f) for f in formats])
