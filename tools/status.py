"""Job tools: how a job is doing, cancelling it, and retrying one that failed or was cancelled."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy import select

from core.errors import Conflict, NotFound
from core.models import Job, JobStatus
from core.production import ProductionOptions
from core.script import parse_script
from jobs.progress import snapshot
from jobs.service import cancel_job as cancel
from jobs.service import lock_job
from tools.context import ToolContext
from tools.exports import ExportFormat, ExportInput, start_export
from tools.production import make_quote, start_production
from tools.registry import ToolInput, tool

RETRYABLE = (JobStatus.failed.value, JobStatus.cancelled.value)


class JobInput(ToolInput):
    job_id: str = Field(max_length=40, description="A job id from produce_video.")


class JobStatusOutput(BaseModel):
    job_id: str
    status: str
    phase: str
    progress: float
    eta_s: float | None = None
    queue_position: int = Field(default=0, description="Jobs queued ahead of this one.")
    phases: dict[str, float] = Field(default_factory=dict)
    error: str | None = None
    ready: bool = Field(description="The finished video can be downloaded or exported.")


async def own_job(ctx: ToolContext, job_id: str) -> Job:
    job = await ctx.session.get(Job, job_id)
    if job is None or job.user_id != ctx.user_id:
        raise NotFound(f"job {job_id} not found")  # another user's job looks the same as none
    return job


async def status_of(ctx: ToolContext, job: Job) -> JobStatusOutput:
    event = await snapshot(ctx.session, job)
    return JobStatusOutput(
        job_id=job.id,
        status=job.status,
        phase=event.phase,
        progress=event.fraction,
        eta_s=event.eta_s,
        queue_position=event.queue_position,
        phases=event.phases,
        error=job.error,
        ready=job.status == "succeeded",
    )


@tool("job_status", "How a video job is doing: phase, progress, time left, or its error.")
async def job_status(ctx: ToolContext, args: JobInput) -> JobStatusOutput:
    return await status_of(ctx, await own_job(ctx, args.job_id))


@tool("cancel_job", "Cancel a running job; its held credits are given back.")
async def cancel_job(ctx: ToolContext, args: JobInput) -> JobStatusOutput:
    await own_job(ctx, args.job_id)
    return await status_of(ctx, await cancel(ctx.session, args.job_id, user_id=ctx.user_id))


async def retry_job(ctx: ToolContext, job_id: str) -> Job:
    """A new job for a failed or cancelled one's script and options. It is priced by a fresh
    quote, so steps the first run finished (reused by content key) are not paid twice, and its
    credits are checked and held like any other job's."""
    await own_job(ctx, job_id)
    # Under the job's lock: of two retries racing, the second sees the first one's job.
    job = await lock_job(ctx.session, job_id)
    earlier = await ctx.session.scalar(select(Job.id).where(Job.retry_of == job.id))
    if earlier is not None:
        raise Conflict(f"job {job_id} was already retried as {earlier}", code="already_retried")
    if job.status not in RETRYABLE:
        raise Conflict(
            f"job {job_id} is {job.status}: only a failed or cancelled job can be retried",
            code="not_retryable",
        )
    if job.workflow == "export":
        formats = [ExportFormat(f) for f in job.options["formats"]]
        started = await start_export(
            ctx, ExportInput(job_id=job.options["source_job_id"], formats=formats)
        )
        new_id = started.job_id
    else:
        script = parse_script(job.script_text)
        options = ProductionOptions.model_validate(job.options)
        quote = await make_quote(ctx, script, options, workflow=job.workflow)
        new_id = (await start_production(ctx, quote.quote_id)).job_id
    retry = await ctx.session.get(Job, new_id)
    assert retry is not None
    retry.retry_of = job.id
    await ctx.session.flush()
    return retry
