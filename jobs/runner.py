"""Running one step: claim it, reuse or make its artifact, heartbeat, then advance its job."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta

from dramatiq.middleware import TimeLimitExceeded
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Database, after_commit, get_database
from core.errors import InvalidInput
from core.logging import get_logger
from core.models import Job, JobStatus, JobStep, StepStatus, utcnow
from core.settings import get_settings
from core.storage import Storage, get_storage
from gpu.client import GpuRequestError, GpuTaskFailed, GpuUnavailable
from gpu.pods import GpuHostStarting
from jobs import broker, service
from jobs.gpu_host import gpu_host
from jobs.progress import is_gpu_wait
from jobs.service import MAX_ATTEMPTS
from jobs.steps import HANDLERS, StepContext, make_gpu_client
from media.ffmpeg import MediaError

log = get_logger("jobs.runner")

GPU_WAIT_MS = 10_000
TWIN_WAIT_MS = 2_000
# Errors that the same inputs would raise again: retrying wastes GPU time.
PERMANENT = (InvalidInput, GpuTaskFailed, GpuRequestError, MediaError)


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
    # No other GPU step of the job has started: the GPU server runs this one ahead of others,
    # and a long queue is worth another pod (decided here, under the job's lock, so two steps
    # claimed at once cannot both be first or both miss it).
    first_gpu: bool = False
    # The job's owner is on a plan with priority: the GPU server runs its steps ahead of others.
    paid_priority: bool = False


class Deferred(Exception):
    """Another worker is making the same artifact right now: try again shortly."""

    def __init__(self, queue: str, priority: bool) -> None:
        super().__init__(queue)
        self.queue, self.priority = queue, priority


class InFlight:
    """The steps this process is running, by thread, so that a stopping worker can hand back
    those of its threads that outlast the grace period. A run handed back is never finished:
    its late result would race the worker that took the step over (which may be another
    thread of this same process, hence runs are told apart by thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[tuple[str, int], tuple[Claimed, str]] = {}
        self._handed_back: set[tuple[str, int]] = set()

    def add(self, step: Claimed, me: str) -> None:
        with self._lock:
            self._running[step.id, threading.get_ident()] = (step, me)

    def remove(self, step_id: str) -> None:
        run = (step_id, threading.get_ident())
        with self._lock:
            self._running.pop(run, None)
            self._handed_back.discard(run)

    def handed_back(self, step_id: str) -> bool:
        """Whether this thread's run of the step was handed back."""
        with self._lock:
            return (step_id, threading.get_ident()) in self._handed_back

    def count(self, threads: Collection[int] | None = None) -> int:
        with self._lock:
            return sum(1 for _, t in self._running if threads is None or t in threads)

    def take(self, threads: Collection[int] | None = None) -> list[tuple[Claimed, str]]:
        """The runs on `threads` (all if None), marked handed back (the threads may still be
        working on them)."""
        with self._lock:
            taken = {
                run: claimed
                for run, claimed in self._running.items()
                if threads is None or run[1] in threads
            }
            self._handed_back.update(taken)
            return list(taken.values())


in_flight = InFlight()


async def claim(db: Database, step_id: str, me: str) -> Claimed | None:
    """Take a queued step for this worker; None if another has it, or its job has ended.

    Locks the job before the step, the same order as every other transition, so a claim and
    a cancel on PostgreSQL never deadlock.
    """
    async with db.session() as s:
        job_id = await s.scalar(select(JobStep.job_id).where(JobStep.id == step_id))
        if job_id is None:
            return None
        job = await service.lock_job(s, job_id)
        step = await s.get(JobStep, step_id, populate_existing=True)
        if step is None or step.status != StepStatus.queued.value:
            return None
        if JobStatus(job.status).finished:
            step.status = StepStatus.cancelled.value
            return None
        now = utcnow()
        twin = await s.scalar(
            select(JobStep.id).where(
                JobStep.content_key == step.content_key,
                JobStep.id != step.id,
                JobStep.status == StepStatus.running.value,
                JobStep.heartbeat_at > now - timedelta(seconds=get_settings().step_lease_s),
            )
        )
        if twin is not None:
            # The same inputs are being made elsewhere: wait for that artifact, never pay twice.
            raise Deferred(step.queue, job.priority)
        steps = await service.job_steps(s, job.id)
        first_gpu = step.queue == "gpu" and not any(
            st.queue == "gpu" and st.started_at is not None and st.id != step.id for st in steps
        )
        # Read at each claim: an upgrade speeds up the rest of a job already under way (its
        # next steps take the priority queue; the GPU server runs this one ahead of others).
        job.priority = await service.has_priority(s, job.user_id)
        paid_priority = job.priority and step.queue == "gpu"
        step.status, step.worker_id = StepStatus.running.value, me
        step.attempts += 1
        step.heartbeat_at = step.started_at = now
        step.progress = 0.0
        if job.status == JobStatus.queued.value:
            job.status, job.started_at = JobStatus.running.value, now
        if is_gpu_wait(job.phase):
            job.phase = "Working"
        siblings = {st.name: st.content_key for st in steps}
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
            first_gpu=first_gpu,
            paid_priority=paid_priority,
        )


@asynccontextmanager
async def heartbeat(
    db: Database, step: Claimed, me: str, box: list[float], every_s: float
) -> AsyncIterator[None]:
    """Keep the step's lease alive and its progress visible while the work runs."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
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
            except Exception:
                # A missed beat is survivable (the lease is longer than a few beats); a dead
                # heartbeat task would let the lease lapse while the work goes on.
                log.warning(
                    "job.heartbeat_failed", job_id=step.job_id, step=step.name, exc_info=True
                )

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
        async with heartbeat(db, step, me, box, min(1.0, settings.step_lease_s / 4)):
            host = gpu_host(settings) if step.queue == "gpu" else None
            first = step.first_gpu
            if host is not None:
                # May start a pod; a start that outlasts the wait is GpuHostStarting, which
                # hands the step back to wait (nothing charged) like any unavailable GPU.
                url = await host.ensure_ready(
                    wait_s=min(60.0, settings.step_lease_s / 2),
                    first_step=first,
                )
                await host.note_activity(url=url)
                client = host.client(url)
                began = time.monotonic()
            else:
                client = make_gpu_client(settings)  # CPU steps do not touch the GPU
            async with client as gpu:
                ctx = StepContext(
                    name=step.name,
                    kind=step.kind,
                    params=step.params,
                    deps=step.deps,
                    key=step.content_key,
                    first_gpu=first,
                    paid_priority=step.paid_priority,
                    storage=storage,
                    gpu=gpu,
                    scratch=scratch,
                    progress=lambda f: box.__setitem__(0, min(max(f, 0.0), 1.0)),
                )
                meta = await HANDLERS[step.kind](ctx)
            if host is not None:
                await host.note_activity(url=url, seconds=time.monotonic() - began)
        storage.commit_artifact(step.content_key, scratch, {"step": step.kind, **meta})
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)


async def run_step(step_id: str) -> None:
    """The body of both step actors. Idempotent: safe to receive the same message twice."""
    db, storage, me = get_database(), get_storage(), worker_id()
    try:
        step = await claim(db, step_id, me)
    except Deferred as wait:
        broker.current().send(wait.queue, step_id, priority=wait.priority, delay_ms=TWIN_WAIT_MS)
        return
    if step is None:
        return
    log.info("job.step_started", job_id=step.job_id, step=step.name, attempt=step.attempts)
    in_flight.add(step, me)
    try:
        reused = storage.has_artifact(step.content_key)
        if not reused:
            await _make_artifact(step, storage, db, me)
        if in_flight.handed_back(step.id):
            # The worker is stopping and gave this step to another: that one finishes it (and
            # reuses the artifact just stored, if this run got that far).
            log.info("job.step_handed_back_finished", job_id=step.job_id, step=step.name)
            return
        async with db.session() as s:
            await service.finish_step(s, step.id, reused=reused)
        log.info(
            "job.step_done", job_id=step.job_id, step=step.name, step_id=step.id, reused=reused
        )
    except GpuUnavailable as exc:
        await _wait_for_gpu(db, step, me, exc)
    except (Exception, TimeLimitExceeded) as exc:
        await _failed(db, storage, step, me, exc)
    finally:
        in_flight.remove(step.id)


async def hand_back_in_flight(threads: Collection[int] | None = None) -> int:
    """Give the steps still running on `threads` (all of this process's if None) back to the
    queue; their worker is stopping and its grace period is over. Each is queued again, the
    attempt not counted, its message sent, so another worker takes it now rather than after
    the lease. Returns how many went back."""
    db = get_database()
    handed = 0
    for step, me in in_flight.take(threads):
        try:
            async with db.session() as s:
                job = await service.lock_job(s, step.job_id)
                released = await _release_claim(
                    s, step, me, status=StepStatus.queued.value, attempts=JobStep.attempts - 1
                )
                if released:
                    _send_after_commit(s, step, job.priority)
        except Exception:
            # The others still go back; this one returns after its lease.
            log.exception("job.hand_back_failed", job_id=step.job_id, step=step.name)
            continue
        if released:
            handed += 1
            log.warning("job.step_handed_back", job_id=step.job_id, step=step.name)
    return handed


def _send_after_commit(
    s: AsyncSession, step: Claimed, priority: bool, delay_ms: int | None = None
) -> None:
    after_commit(
        s,
        lambda: broker.current().send(step.queue, step.id, priority=priority, delay_ms=delay_ms),
    )


async def _release_claim(s: AsyncSession, step: Claimed, me: str, **values: object) -> bool:
    """Change a step this worker still holds; False if the lease passed to another worker."""
    result = await s.execute(
        update(JobStep)
        .where(
            JobStep.id == step.id,
            JobStep.worker_id == me,
            JobStep.status == StepStatus.running.value,
        )
        .values(worker_id=None, heartbeat_at=utcnow(), **values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _wait_for_gpu(db: Database, step: Claimed, me: str, exc: GpuUnavailable) -> None:
    # Waiting for the GPU is not the step's fault: the attempt is given back, nothing charged,
    # until the job has waited longer than anyone would (then it fails and releases its hold).
    settings = get_settings()
    reason = str(exc)
    starting = isinstance(exc, GpuHostStarting)
    async with db.session() as s:
        job = await service.lock_job(s, step.job_id)
        waited = (utcnow() - job.created_at).total_seconds()
        if waited > settings.gpu_wait_max_s:
            if await _release_claim(s, step, me, status=StepStatus.failed.value, error=reason):
                await service.fail_job(
                    s, step.job_id, f"the GPU was unavailable for {waited / 60:.0f} min: {reason}"
                )
            return
        if not await _release_claim(
            s, step, me, status=StepStatus.queued.value, attempts=JobStep.attempts - 1
        ):
            return
        if isinstance(exc, GpuHostStarting):
            job.phase = f"GPU starting — ready in about {max(1, round(exc.eta_s))} s"
            delay_ms = int(min(GPU_WAIT_MS, max(1_000, exc.eta_s * 1000)))
        else:
            job.phase, delay_ms = "GPU unavailable — waiting", GPU_WAIT_MS
        await service.publish(s, job)
        _send_after_commit(s, step, job.priority, delay_ms)
    log.warning(
        "job.gpu_starting" if starting else "job.gpu_unavailable",
        job_id=step.job_id,
        step=step.name,
        reason=reason,
    )


async def _failed(
    db: Database, storage: Storage, step: Claimed, me: str, exc: BaseException
) -> None:
    message = str(exc) or type(exc).__name__
    if storage.has_artifact(step.content_key):
        # The work is done and stored; only the bookkeeping failed. Finish it next time.
        permanent = False
    else:
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
        job = await service.lock_job(s, step.job_id)
        status = StepStatus.failed if permanent else StepStatus.queued
        if not await _release_claim(s, step, me, status=status.value, error=message):
            return  # the lease passed to another worker: its outcome is the one that counts
        if permanent:
            await service.fail_job(s, step.job_id, f"{step.name} failed: {message}")
        else:
            _send_after_commit(s, step, job.priority, 1000 * 2**step.attempts)
