"""Running one step: claim it, reuse or make its artifact, heartbeat, then advance its job."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from sqlalchemy import update

from core.db import Database, get_database
from core.errors import InvalidInput
from core.logging import get_logger
from core.models import Job, JobStatus, JobStep, StepStatus, utcnow
from core.settings import get_settings
from core.storage import Storage, get_storage
from gpu.client import GpuTaskFailed, GpuUnavailable
from jobs import broker, service
from jobs.steps import HANDLERS, StepContext, make_gpu_client
from media.ffmpeg import MediaError

log = get_logger("jobs.runner")

MAX_ATTEMPTS = 3
GPU_WAIT_MS = 10_000
# Errors that the same inputs would raise again: retrying wastes GPU time.
PERMANENT = (InvalidInput, GpuTaskFailed, MediaError)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


@dataclass(frozen=True)
class Claimed:
    id: str
    job_id: str
    name: str
    kind: str
    queue: str
    content_key: str
    params: dict
    deps: dict[str, str]
    attempts: int


async def claim(db: Database, step_id: str, me: str) -> Claimed | None:
    """Take a queued step for this worker; None if another has it, or its job has ended."""
    async with db.session() as s:
        now = utcnow()
        result = await s.execute(
            update(JobStep)
            .where(JobStep.id == step_id, JobStep.status == StepStatus.queued.value)
            .values(
                status=StepStatus.running.value,
                worker_id=me,
                attempts=JobStep.attempts + 1,
                heartbeat_at=now,
                started_at=now,
                progress=0.0,
            )
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return None
        step = await s.get(JobStep, step_id, populate_existing=True)
        assert step is not None
        job = await s.get(Job, step.job_id)
        assert job is not None
        if JobStatus(job.status).finished:
            step.status = StepStatus.cancelled.value
            return None
        if job.status == JobStatus.queued.value:
            job.status, job.started_at = JobStatus.running.value, now
        if job.phase.startswith("GPU unavailable"):
            job.phase = "Working"
        siblings = {st.name: st.content_key for st in await service.job_steps(s, job.id)}
        await service.publish(s, job)
        return Claimed(
            id=step.id,
            job_id=step.job_id,
            name=step.name,
            kind=step.kind,
            queue=step.queue,
            content_key=step.content_key,
            params=dict(step.params),
            deps={d: siblings[d] for d in step.deps},
            attempts=step.attempts,
        )


@asynccontextmanager
async def heartbeat(
    db: Database, step: Claimed, me: str, box: list[float], every_s: float
) -> AsyncIterator[None]:
    """Keep the step's lease alive and its progress visible while the work runs."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(every_s)
            async with db.session() as s:
                await s.execute(
                    update(JobStep)
                    .where(
                        JobStep.id == step.id,
                        JobStep.worker_id == me,
                        JobStep.status == StepStatus.running.value,
                    )
                    .values(heartbeat_at=utcnow(), progress=box[0])
                )
                job = await s.get(Job, step.job_id)
                if job is not None and not JobStatus(job.status).finished:
                    await service.publish(s, job)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def _make_artifact(step: Claimed, storage: Storage, db: Database, me: str) -> None:
    settings = get_settings()
    async with db.session() as s:
        await s.execute(update(JobStep).where(JobStep.id == step.id).values(runs=JobStep.runs + 1))
    box = [0.0]
    scratch = storage.scratch()
    try:
        async with (
            make_gpu_client(settings) as gpu,
            heartbeat(db, step, me, box, min(1.0, settings.step_lease_s / 4)),
        ):
            ctx = StepContext(
                name=step.name,
                kind=step.kind,
                params=step.params,
                deps=step.deps,
                storage=storage,
                gpu=gpu,
                scratch=scratch,
                progress=lambda f: box.__setitem__(0, min(max(f, 0.0), 1.0)),
            )
            meta = await HANDLERS[step.kind](ctx)
        storage.commit_artifact(step.content_key, scratch, {"step": step.kind, **meta})
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)


async def run_step(step_id: str) -> None:
    """The body of both step actors. Idempotent: safe to receive the same message twice."""
    db, storage, me = get_database(), get_storage(), worker_id()
    step = await claim(db, step_id, me)
    if step is None:
        return
    log.info("job.step_started", job_id=step.job_id, step=step.name, attempt=step.attempts)
    try:
        reused = storage.has_artifact(step.content_key)
        if not reused:
            await _make_artifact(step, storage, db, me)
        async with db.session() as s:
            await service.finish_step(s, step.id, reused=reused)
        log.info("job.step_done", job_id=step.job_id, step=step.name, reused=reused)
    except GpuUnavailable as exc:
        await _wait_for_gpu(db, step, str(exc))
    except Exception as exc:
        await _failed(db, step, exc)


async def _wait_for_gpu(db: Database, step: Claimed, reason: str) -> None:
    # Waiting for the GPU is not the step's fault: the attempt is given back, nothing charged.
    async with db.session() as s:
        await s.execute(
            update(JobStep)
            .where(JobStep.id == step.id)
            .values(
                status=StepStatus.queued.value,
                worker_id=None,
                attempts=JobStep.attempts - 1,
                heartbeat_at=utcnow(),
            )
        )
        job = await service.lock_job(s, step.job_id)
        job.phase = "GPU unavailable — waiting"
        await service.publish(s, job)
    log.warning("job.gpu_unavailable", job_id=step.job_id, step=step.name, reason=reason)
    broker.current().send(step.queue, step.id, delay_ms=GPU_WAIT_MS)


async def _failed(db: Database, step: Claimed, exc: Exception) -> None:
    message = str(exc) or type(exc).__name__
    permanent = isinstance(exc, PERMANENT) or step.attempts >= MAX_ATTEMPTS
    log.warning(
        "job.step_failed",
        job_id=step.job_id,
        step=step.name,
        error=message,
        permanent=permanent,
        exc_info=not permanent,
    )
    async with db.session() as s:
        await s.execute(
            update(JobStep)
            .where(JobStep.id == step.id, JobStep.status == StepStatus.running.value)
            .values(
                status=StepStatus.failed.value if permanent else StepStatus.queued.value,
                error=message,
                worker_id=None,
                heartbeat_at=utcnow(),
            )
        )
        if permanent:
            await service.fail_job(s, step.job_id, f"{step.name} failed: {message}")
    if not permanent:
        broker.current().send(step.queue, step.id, delay_ms=1000 * 2**step.attempts)
