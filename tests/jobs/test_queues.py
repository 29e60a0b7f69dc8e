"""Pro and Business jobs take priority queues on the Redis broker: their messages go there, a
worker may serve only them, queue positions put them first, and an upgrade moves the rest of a
job there."""

from __future__ import annotations

import json

import pytest
import redis
from sqlalchemy import select, update

from core.db import get_database
from core.models import Job, JobStatus, JobStep, StepStatus, User
from core.production import ProductionOptions, Resolution, VideoFormat
from core.settings import Settings
from jobs.progress import queue_positions
from jobs.runner import run_step
from jobs.worker import JobWorker
from tests.conftest import REDIS_URL, Stack
from tests.jobs.helpers import make_user, steps_of, submit, wait_for

SMALL = ProductionOptions(music=False, format=VideoFormat.square, resolution=Resolution.p720)
POSTGRES = pytest.mark.parametrize("stack", ["postgres"], indirect=True)


def queued_in(settings: Settings, queue: str) -> set[str]:
    """The step ids whose messages wait in a Dramatiq queue on Redis."""
    client = redis.Redis.from_url(REDIS_URL)
    key = f"{settings.redis_namespace}:dramatiq:{queue}.msgs"
    return {json.loads(raw)["args"][0] for raw in client.hvals(key)}


async def queued_step_ids(settings: Settings, job_id: str) -> set[str]:
    return {s.id for s in await steps_of(settings, job_id) if s.status == StepStatus.queued.value}


@POSTGRES
async def test_pro_jobs_take_the_priority_queues_and_a_priority_worker_serves_only_them(
    stack: Stack,
) -> None:
    settings = stack.settings
    free = await make_user(settings, 500, plan="free")
    pro = await make_user(settings, 500, plan="pro")
    earlier = await submit(settings, free, "[TALKING] Free and first.", SMALL)
    later = await submit(settings, pro, "[TALKING] Pro and second.", SMALL)

    free_steps = await queued_step_ids(settings, earlier.job_id)
    pro_steps = await queued_step_ids(settings, later.job_id)
    assert free_steps and pro_steps
    assert free_steps <= queued_in(settings, "gpu")
    assert pro_steps <= queued_in(settings, "gpu-priority")
    assert not pro_steps & queued_in(settings, "gpu")

    async with get_database().session() as s:
        ids = [earlier.job_id, later.job_id]
        jobs = (await s.scalars(select(Job).where(Job.id.in_(ids)))).all()
        assert {j.id: j.priority for j in jobs} == {earlier.job_id: False, later.job_id: True}
        # The Pro job is ahead of the free one made before it.
        positions = await queue_positions(s, jobs)
    assert positions == {later.job_id: 0, earlier.job_id: 1}

    with JobWorker(settings, queues={"gpu-priority", "media-priority"}, schedule=False):
        done = await wait_for(settings, later.job_id, timeout_s=120)
        assert done.status == JobStatus.succeeded.value, done.error
    # Nothing of the free job was touched by the priority-only worker.
    assert all(s.started_at is None for s in await steps_of(settings, earlier.job_id))

    with JobWorker(settings, queues={"gpu", "media"}, schedule=False):
        done = await wait_for(settings, earlier.job_id, timeout_s=120)
        assert done.status == JobStatus.succeeded.value, done.error


@POSTGRES
async def test_an_upgrade_moves_the_rest_of_a_job_to_the_priority_queues(stack: Stack) -> None:
    settings = stack.settings
    user = await make_user(settings, 500, plan="starter")
    started = await submit(settings, user, "[TALKING] Upgraded halfway.", SMALL)
    async with get_database().session() as s:
        tts = await s.scalar(
            select(JobStep).where(JobStep.job_id == started.job_id, JobStep.kind == "tts")
        )
        assert tts is not None
        await s.execute(update(User).where(User.id == user).values(plan="business"))
    assert tts.id in queued_in(settings, "gpu")
    await run_step(tts.id)  # what the GPU queue's actor does with the step's message

    lipsync = next(s for s in await steps_of(settings, started.job_id) if s.kind == "lipsync")
    assert lipsync.status == StepStatus.queued.value
    assert lipsync.id in queued_in(settings, "gpu-priority")
    assert lipsync.id not in queued_in(settings, "gpu")
