"""Job tools: how a job is doing, and cancelling it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.errors import NotFound
from core.models import Job
from jobs.progress import summarize
from jobs.service import cancel_job as cancel
from jobs.service import job_steps
from tools.context import ToolContext
from tools.registry import ToolInput, tool


class JobInput(ToolInput):
    job_id: str = Field(max_length=40, description="A job id from produce_video.")


class JobStatusOutput(BaseModel):
    job_id: str
    status: str
    phase: str
    progress: float
    eta_s: float | None = None
    phases: dict[str, float] = Field(default_factory=dict)
    error: str | None = None
    ready: bool = Field(description="The finished video can be downloaded or exported.")


async def _own_job(ctx: ToolContext, job_id: str) -> Job:
    job = await ctx.session.get(Job, job_id)
    if job is None or job.user_id != ctx.user_id:
        raise NotFound(f"job {job_id} not found")  # another user's job looks the same as none
    return job


async def status_of(ctx: ToolContext, job: Job) -> JobStatusOutput:
    event = summarize(job, await job_steps(ctx.session, job.id))
    return JobStatusOutput(
        job_id=job.id,
        status=job.status,
        phase=event.phase,
        progress=event.fraction,
        eta_s=event.eta_s,
        phases=event.phases,
        error=job.error,
        ready=job.status == "succeeded",
    )


@tool("job_status", "How a video job is doing: phase, progress, time left, or its error.")
async def job_status(ctx: ToolContext, args: JobInput) -> JobStatusOutput:
    return await status_of(ctx, await _own_job(ctx, args.job_id))


@tool("cancel_job", "Cancel a running job; its held credits are given back.")
async def cancel_job(ctx: ToolContext, args: JobInput) -> JobStatusOutput:
    await _own_job(ctx, args.job_id)
    return await status_of(ctx, await cancel(ctx.session, args.job_id, user_id=ctx.user_id))
