"""Job progress: phases, a weighted fraction, an ETA and the queue position, from the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, not_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.events import ProgressEvent
from core.models import Job, JobStatus, JobStep, StepStatus, utcnow

PHASES = {
    "tts": "Voice",
    "keyframe": "Key frames",
    "lipsync": "Talking head",
    "clip": "B-roll clips",
    "music": "Music",
    "captions": "Captions",
    "render": "Render",
    "export": "Export",
}
# Rough relative cost of one step of each kind, so the bar moves at an honest pace.
WEIGHTS = {
    "tts": 1.0,
    "keyframe": 1.0,
    "lipsync": 4.0,
    "clip": 3.0,
    "music": 2.0,
    "captions": 0.5,
    "render": 12.0,
    "export": 10.0,
}


def step_fraction(step: JobStep) -> float:
    if step.status == StepStatus.done.value:
        return 1.0
    if step.status == StepStatus.running.value:
        return min(max(step.progress, 0.0), 0.99)
    return 0.0


def summarize(
    job: Job, steps: Sequence[JobStep], *, queue_position: int = 0, now: datetime | None = None
) -> ProgressEvent:
    now = now or utcnow()
    total = sum(WEIGHTS[s.kind] for s in steps) or 1.0
    fraction = sum(WEIGHTS[s.kind] * step_fraction(s) for s in steps) / total
    phases: dict[str, float] = {}
    for kind, label in PHASES.items():
        of_kind = [s for s in steps if s.kind == kind]
        if of_kind:
            phases[label] = round(sum(step_fraction(s) for s in of_kind) / len(of_kind), 3)
    status = JobStatus(job.status)
    if status is JobStatus.succeeded:
        fraction, phase = 1.0, "Done"
    elif status.finished:
        phase = status.value.capitalize()
    else:
        # In pipeline order, so the label names the earliest unfinished phase, not whichever
        # step has the smallest (random) id.
        rank = {kind: n for n, kind in enumerate(PHASES)}
        ordered = sorted(steps, key=lambda s: rank.get(s.kind, len(rank)))
        running = [s for s in ordered if s.status == StepStatus.running.value]
        waiting = [s for s in ordered if s.status != StepStatus.done.value]
        current = running[0] if running else (waiting[0] if waiting else None)
        phase = (
            job.phase
            if is_gpu_wait(job.phase)
            else (PHASES.get(current.kind, "Working") if current else "Finishing")
        )
        if status is JobStatus.queued and not running:
            phase = "Queued"
    eta: float | None = None
    if job.started_at is not None and 0.03 < fraction < 1.0:
        elapsed = (now - job.started_at).total_seconds()
        eta = round(elapsed / fraction * (1 - fraction), 1)
    return ProgressEvent(
        job_id=job.id,
        status=job.status,
        phase=phase,
        fraction=round(min(fraction, 1.0), 4),
        eta_s=eta,
        queue_position=queue_position,
        phases=phases,
        message=job.error or "",
    )


async def queue_positions(session: AsyncSession, jobs: Sequence[Job]) -> dict[str, int]:
    """How many jobs, anyone's, are queued ahead of each of `jobs` (0 once a job runs), in one
    query: every queued priority job is ahead of a standard one, then the earlier ones in the
    same class. (created_at, id) orders jobs made in the same instant the same way every time."""
    queued = [j.id for j in jobs if j.status == JobStatus.queued.value]
    positions = dict.fromkeys((j.id for j in jobs), 0)
    if not queued:
        return positions
    ahead = aliased(Job)
    count = (
        select(func.count())
        .where(
            ahead.status == JobStatus.queued.value,
            or_(
                and_(ahead.priority, not_(Job.priority)),
                and_(
                    ahead.priority == Job.priority,
                    tuple_(ahead.created_at, ahead.id) < tuple_(Job.created_at, Job.id),
                ),
            ),
        )
        .correlate(Job)
        .scalar_subquery()
    )
    rows = await session.execute(select(Job.id, count).where(Job.id.in_(queued)))
    positions.update({job_id: int(n) for job_id, n in rows})
    return positions


async def steps_by_job(session: AsyncSession, job_ids: Sequence[str]) -> dict[str, list[JobStep]]:
    found: dict[str, list[JobStep]] = {job_id: [] for job_id in job_ids}
    rows = await session.scalars(
        select(JobStep)
        .where(JobStep.job_id.in_(list(job_ids)))
        .order_by(JobStep.id)
        .execution_options(populate_existing=True)
    )
    for step in rows:
        found[step.job_id].append(step)
    return found


async def snapshots(session: AsyncSession, jobs: Sequence[Job]) -> dict[str, ProgressEvent]:
    """Each job's progress as the database has it now: the source of truth behind the events."""
    steps = await steps_by_job(session, [j.id for j in jobs])
    positions = await queue_positions(session, jobs)
    return {j.id: summarize(j, steps[j.id], queue_position=positions[j.id]) for j in jobs}


async def snapshot(session: AsyncSession, job: Job) -> ProgressEvent:
    return (await snapshots(session, [job]))[job.id]


def is_gpu_wait(phase: str) -> bool:
    """Whether a job's phase says it waits for the GPU (unavailable, or a pod starting)."""
    return phase.startswith(("GPU unavailable", "GPU starting"))
