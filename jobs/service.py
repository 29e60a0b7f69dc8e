"""Job state transitions in the database: create, advance, finish, fail, cancel, recover."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billing import ledger
from billing.plans import PlanLimits, limits_for, plan_spec
from core.db import after_commit
from core.errors import Conflict, NotFound
from core.events import get_bus
from core.logging import get_logger
from core.models import Job, JobStatus, JobStep, StepStatus, Usage, User, utcnow
from core.production import ProductionOptions
from core.script import Script
from core.settings import get_settings
from jobs import broker, webhooks
from jobs.plan import StepSpec, plan_export, plan_job
from jobs.progress import snapshot

log = get_logger("jobs")


async def lock_job(session: AsyncSession, job_id: str) -> Job:
    """Serialise transitions of one job: the UPDATE takes its row lock (PostgreSQL) or the
    write lock (SQLite) before anything is read, so two finishing steps never both miss
    that the job is complete."""
    await session.execute(update(Job).where(Job.id == job_id).values(status=Job.status))
    job = await session.get(Job, job_id, populate_existing=True)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job


async def job_steps(session: AsyncSession, job_id: str) -> Sequence[JobStep]:
    result = await session.scalars(
        select(JobStep)
        .where(JobStep.job_id == job_id)
        .order_by(JobStep.id)
        .execution_options(populate_existing=True)
    )
    return result.all()


def send_after_commit(
    session: AsyncSession, job: Job, step: JobStep, delay_ms: int | None = None
) -> None:
    """Send the step's message once the transaction commits, to the priority queue when its
    job has priority (a message sent earlier could name a step not yet visible)."""
    queue, step_id, priority = step.queue, step.id, job.priority
    after_commit(
        session,
        lambda: broker.current().send(queue, step_id, priority=priority, delay_ms=delay_ms),
    )


async def create_job(
    session: AsyncSession,
    *,
    user_id: str,
    script: Script,
    options: ProductionOptions,
    credits: int,
    portrait_key: str,
    engines: str,
    workflow: str = "production",
    conversation_id: str | None = None,
    voice_reference: str | None = None,
) -> Job:
    """Insert the job and its steps, hold its credits, and queue the steps that can start.
    Messages go to the broker only after the caller's transaction commits."""
    job = Job(
        user_id=user_id,
        conversation_id=conversation_id,
        workflow=workflow,
        script_text=script.to_text(),
        options=options.model_dump(mode="json"),
        credits=credits,
        priority=await has_priority(session, user_id),
    )
    session.add(job)
    await session.flush()
    ttl = timedelta(seconds=get_settings().hold_ttl_s)
    held = await ledger.hold(session, user_id, credits, job_id=job.id, ttl=ttl)
    job.hold_id = held.id
    specs: list[StepSpec] = plan_job(
        script,
        options,
        portrait_key=portrait_key,
        engines=engines,
        voice_reference=voice_reference,
        limits=await plan_limits(session, user_id),
    )
    await _start(session, job, specs)
    log.info("job.created", job_id=job.id, steps=len(specs), credits=credits)
    return job


async def has_priority(session: AsyncSession, user_id: str) -> bool:
    """Whether the person's plan puts their jobs on the priority queues (Pro, Business)."""
    plan = await session.scalar(select(User.plan).where(User.id == user_id))
    return plan_spec(plan or "").priority


async def plan_limits(session: AsyncSession, user_id: str) -> PlanLimits:
    """What the person's plan allows: resolution cap and watermark."""
    user = await session.get(User, user_id)
    return limits_for(user.plan if user else "free", get_settings())


async def create_export_job(
    session: AsyncSession, *, user_id: str, source: Job, formats: list[str]
) -> Job:
    """A free job that exports a finished video to platform formats (CPU only, no hold)."""
    job = Job(
        user_id=user_id,
        conversation_id=source.conversation_id,
        workflow="export",
        script_text=source.script_text,
        options={"source_job_id": source.id, "formats": sorted(set(formats))},
        credits=0,
        priority=await has_priority(session, user_id),
    )
    session.add(job)
    await session.flush()
    preset = str(source.options.get("preset", "fast"))
    limits = await plan_limits(session, user_id)
    await _start(session, job, plan_export(source.output["render_key"], formats, preset, limits))
    return job


async def _start(session: AsyncSession, job: Job, specs: list[StepSpec]) -> None:
    """Insert a job's planned steps and queue those with nothing to wait for."""
    for spec in specs:
        session.add(
            JobStep(
                job_id=job.id,
                name=spec.name,
                kind=spec.kind,
                queue=spec.queue,
                content_key=spec.content_key,
                deps=list(spec.deps),
                params=spec.params,
            )
        )
    await session.flush()
    await queue_ready_steps(session, job)


async def queue_ready_steps(session: AsyncSession, job: Job) -> int:
    steps = await job_steps(session, job.id)
    done = {s.name for s in steps if s.status == StepStatus.done.value}
    queued = 0
    for step in steps:
        if step.status == StepStatus.pending.value and all(d in done for d in step.deps):
            step.status = StepStatus.queued.value
            step.heartbeat_at = utcnow()
            send_after_commit(session, job, step)
            queued += 1
    return queued


async def publish(session: AsyncSession, job: Job) -> None:
    event = await snapshot(session, job)
    job.progress, job.phase = event.fraction, event.phase[:40]
    after_commit(session, lambda: get_bus().publish(event))


async def finish_step(session: AsyncSession, step_id: str, *, reused: bool) -> None:
    """Mark a step done and move its job forward; completes the job when it was the last."""
    step = await session.get(JobStep, step_id)
    if step is None:
        return
    job = await lock_job(session, step.job_id)
    step = await session.get(JobStep, step_id, populate_existing=True)
    assert step is not None
    if step.status == StepStatus.done.value:
        return  # another worker finished it after a lease expiry; first one wins
    step.status, step.progress, step.reused = StepStatus.done.value, 1.0, reused
    step.finished_at = utcnow()
    step.error = None
    if JobStatus(job.status).finished:
        return
    # The steps this queues follow the plan as it is now (an upgrade moves them to priority).
    job.priority = await has_priority(session, job.user_id)
    await session.flush()
    steps = await job_steps(session, job.id)
    if all(s.status == StepStatus.done.value for s in steps):
        await _succeed(session, job, steps)
    else:
        await queue_ready_steps(session, job)
    await publish(session, job)


async def _succeed(session: AsyncSession, job: Job, steps: Sequence[JobStep]) -> None:
    job.status = JobStatus.succeeded.value
    job.finished_at = utcnow()
    render = next((s for s in steps if s.kind == "render"), None)
    if render is not None:
        job.output = {
            "render_key": render.content_key,
            "video": "video.mp4",
            "captions": "captions.srt",
        }
    else:
        export = next(s for s in steps if s.kind == "export")
        job.output = {
            "export_key": export.content_key,
            "files": {f: f"{f}.mp4" for f in export.params["formats"]},
            "thumbnail": "thumbnail.jpg",
        }
    charged = job.credits
    if job.hold_id:
        try:
            await ledger.capture(session, job.hold_id)
        except Conflict:
            # The hold lapsed (the job ran past `hold_ttl_s`) and its credits went back
            # before the job could finish: the video is delivered and nothing is charged.
            charged = 0
            log.warning("job.hold_lapsed_before_success", job_id=job.id)
    gpu_seconds = sum(
        (s.finished_at - s.started_at).total_seconds()
        for s in steps
        if s.queue == broker.GPU_QUEUE and s.started_at and s.finished_at and not s.reused
    )
    if job.credits > 0:
        session.add(
            Usage(
                user_id=job.user_id,
                job_id=job.id,
                credits_used=charged,
                gpu_seconds=round(gpu_seconds, 2),
            )
        )
    await webhooks.enqueue(session, job)
    log.info("job.succeeded", job_id=job.id)


async def fail_job(
    session: AsyncSession, job_id: str, reason: str, *, status: JobStatus = JobStatus.failed
) -> Job:
    """End a job that cannot finish: stop its waiting steps and give its credits back."""
    job = await lock_job(session, job_id)
    if JobStatus(job.status).finished:
        return job
    job.status, job.error, job.finished_at = status.value, reason, utcnow()
    await session.execute(
        update(JobStep)
        .where(
            JobStep.job_id == job_id,
            JobStep.status.in_([StepStatus.pending.value, StepStatus.queued.value]),
        )
        .values(status=StepStatus.cancelled.value)
    )
    if job.hold_id:
        await ledger.release(session, job.hold_id, note=reason[:200])
    await webhooks.enqueue(session, job)
    await publish(session, job)
    log.info("job.ended", job_id=job_id, status=status.value, reason=reason)
    return job


async def cancel_job(session: AsyncSession, job_id: str, *, user_id: str) -> Job:
    job = await session.get(Job, job_id)
    if job is None or job.user_id != user_id:
        raise NotFound(f"job {job_id} not found")
    return await fail_job(session, job_id, "cancelled by the user", status=JobStatus.cancelled)


async def expire_holds(session: AsyncSession) -> int:
    """End the jobs whose credit hold lapsed, giving the credits back; a lapsed hold with no
    job left to end is released as it is. Returns how many holds were released. Each hold is
    its own savepoint: one that a finishing job settled meanwhile is skipped, not fatal."""
    released = 0
    hours = get_settings().hold_ttl_s / 3600
    reason = f"the job ran past its credit hold ({hours:g} h); its credits were given back"
    for held in await ledger.expired_holds(session):
        try:
            async with session.begin_nested():
                job = None
                if held.job_id:
                    with contextlib.suppress(NotFound):  # a hold of a job since deleted
                        job = await lock_job(session, held.job_id)
                if job is not None and not JobStatus(job.status).finished:
                    await fail_job(session, job.id, reason)
                else:
                    await ledger.release(session, held.id, note="the hold lapsed")
        except Conflict:
            continue  # captured by its job's success after we looked: nothing to give back
        released += 1
        log.warning("job.hold_lapsed", hold_id=held.id, job_id=held.job_id)
    return released


MAX_ATTEMPTS = 3


async def recover(
    session: AsyncSession, *, lease_s: float, requeue_all_queued: bool = False
) -> int:
    """Re-send steps whose worker vanished (running, silent past the lease) and steps whose
    message may be lost (queued long ago, or all queued ones when the broker is fresh).
    A step that has lost its worker MAX_ATTEMPTS times fails its job instead: it is likely
    what kills the worker. Duplicated messages are harmless (claiming is conditional)."""
    cutoff = utcnow() - timedelta(seconds=lease_s)
    stale = [JobStep.status == StepStatus.running.value, JobStep.heartbeat_at < cutoff]
    waiting = [JobStep.status == StepStatus.queued.value]
    if not requeue_all_queued:
        waiting.append(JobStep.heartbeat_at < cutoff)
    candidates = [
        *(await session.scalars(select(JobStep).where(*stale))).all(),
        *(await session.scalars(select(JobStep).where(*waiting))).all(),
    ]
    recovered = 0
    for step in candidates:
        job = await lock_job(session, step.job_id)  # job before step, as everywhere
        was = step.status
        conditions = [JobStep.id == step.id, JobStep.status == was]
        if was == StepStatus.running.value:
            conditions.append(JobStep.heartbeat_at < cutoff)
        give_up = was == StepStatus.running.value and step.attempts >= MAX_ATTEMPTS
        result = await session.execute(
            update(JobStep)
            .where(*conditions)
            .values(
                status=(StepStatus.failed if give_up else StepStatus.queued).value,
                worker_id=None,
                heartbeat_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            continue  # it moved on since the select
        if give_up:
            reason = f"{step.name} lost its worker {step.attempts} times"
            await fail_job(session, step.job_id, reason)
            log.warning("job.step_abandoned", job_id=step.job_id, step=step.name)
            continue
        log.info("job.step_recovered", job_id=step.job_id, step=step.name, was=was)
        send_after_commit(session, job, step)
        recovered += 1
    return recovered
