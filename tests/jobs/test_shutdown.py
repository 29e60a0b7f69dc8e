"""Stopping a worker: running steps finish within the grace period; past it they are handed
back to the queue at once (the attempt not counted) and another worker completes the job.
The scheduler's leader lease; the containers' health check."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from cli.main import app
from core.models import JobStatus, StepStatus
from core.production import ProductionOptions, Resolution, VideoFormat
from core.settings import Settings
from jobs import service
from jobs.runner import in_flight
from jobs.scheduler import Leader
from jobs.worker import JobWorker
from tests.conftest import Stack
from tests.jobs.helpers import make_user, steps_of, submit, wait_for

SMALL = ProductionOptions(music=False, format=VideoFormat.square, resolution=Resolution.p720)
# Long enough that the lip-sync step is still running when the worker is told to stop.
SCRIPT = "[TALKING] A worker is asked to stop while this sentence is being lip-synced."


async def running_step(settings: Settings, job_id: str, kind: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for step in await steps_of(settings, job_id):
            if step.kind == kind and step.status == StepStatus.running.value:
                return step.id
        await asyncio.sleep(0.02)
    raise AssertionError(f"no {kind} step started")


async def busy_worker(settings: Settings) -> tuple[str, JobWorker, str]:
    """(job id, a one-thread worker, the id of the lip-sync step it is running now)."""
    user = await make_user(settings, 300)
    job_id = (await submit(settings, user, SCRIPT, SMALL)).job_id
    worker = JobWorker(settings, threads=1).start()
    return job_id, worker, await running_step(settings, job_id, "lipsync")


async def test_a_stopping_worker_lets_its_running_step_finish(stack: Stack) -> None:
    settings = stack.settings
    job_id, worker, step_id = await busy_worker(settings)
    handed = await asyncio.to_thread(worker.stop, 120)
    assert handed == 0
    steps = {s.id: s for s in await steps_of(settings, job_id)}
    assert steps[step_id].status == StepStatus.done.value and steps[step_id].runs == 1
    # It took nothing new: the render waits for the next worker.
    assert not [s for s in steps.values() if s.status == StepStatus.running.value]
    assert any(s.status == StepStatus.queued.value for s in steps.values())

    with JobWorker(settings, threads=1):
        job = await wait_for(settings, job_id)
    assert job.status == JobStatus.succeeded.value, job.error
    assert all(s.runs == 1 for s in await steps_of(settings, job_id))


async def test_past_the_grace_period_a_running_step_is_handed_back(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = stack.settings
    finished: list[str] = []  # step ids, each time a run finishes its step
    finish_step = service.finish_step

    async def counting(session: AsyncSession, step_id: str, *, reused: bool) -> None:
        finished.append(step_id)
        await finish_step(session, step_id, reused=reused)

    monkeypatch.setattr(service, "finish_step", counting)
    job_id, worker, step_id = await busy_worker(settings)
    handed = await asyncio.to_thread(worker.stop, 0)
    assert handed == 1
    step = next(s for s in await steps_of(settings, job_id) if s.id == step_id)
    # Queued again at once, nobody's, and the interrupted attempt does not count against it.
    assert (step.status, step.worker_id, step.attempts) == (StepStatus.queued.value, None, 0)

    # The next worker takes it from the message the hand-back sent (on Redis; the lease here
    # is 30 s, longer than the job), and the first one's thread, still busy, never finishes it.
    with JobWorker(settings, threads=1):
        job = await wait_for(settings, job_id)
    assert job.status == JobStatus.succeeded.value, job.error
    step = next(s for s in await steps_of(settings, job_id) if s.id == step_id)
    assert step.status == StepStatus.done.value and step.attempts == 1
    # Once the first worker's thread is through as well, the step was finished once, by the
    # second worker.
    deadline = time.monotonic() + 60
    while in_flight.count() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not in_flight.count(), "the handed-back run never ended"
    assert finished.count(step_id) == 1


@pytest.mark.parametrize("stack", ["postgres"], indirect=True)
def test_one_scheduler_leads_and_another_takes_over_when_it_goes(stack: Stack) -> None:
    first, second = Leader(stack.settings), Leader(stack.settings)
    try:
        assert first.hold() and not second.hold()
        assert first.hold()  # renewed
        first.release()
        assert second.hold() and not first.hold()
    finally:
        first.release()
        second.release()


def test_the_health_check_reads_the_alive_files_age(tmp_path: Path) -> None:
    runner = CliRunner()
    alive = tmp_path / "alive"
    result = runner.invoke(app, ["alive", str(alive)])
    assert result.exit_code == 1 and "does not exist" in result.output
    alive.touch()
    assert runner.invoke(app, ["alive", str(alive), "--max-age", "60"]).exit_code == 0
    old = time.time() - 120
    os.utime(alive, (old, old))
    result = runner.invoke(app, ["alive", str(alive), "--max-age", "60"])
    assert result.exit_code == 1 and "not healthy" in result.output


@pytest.mark.parametrize("stack", ["postgres"], indirect=True)
def test_a_worker_that_cannot_reach_its_broker_is_not_healthy(stack: Stack) -> None:
    settings = stack.settings.model_copy(update={"broker": "redis://127.0.0.1:1/0"})
    worker = JobWorker(settings, threads=1, schedule=False).start()
    try:
        assert not worker.healthy()
    finally:
        worker.stop(0)
    worker = JobWorker(stack.settings, threads=1, schedule=False).start()
    try:
        assert worker.healthy()
    finally:
        worker.stop(0)


def test_a_scheduler_needs_a_shared_broker(sqlite_stack: Stack) -> None:
    result = CliRunner().invoke(app, ["scheduler"])
    assert result.exit_code == 2 and "shared broker" in result.output


def test_a_worker_refuses_an_unknown_queue(stack: Stack) -> None:
    result = CliRunner().invoke(app, ["worker", "--queue", "video"])
    if stack.name == "sqlite":
        assert result.exit_code == 2 and "shared broker" in result.output
    else:
        assert result.exit_code == 2 and "unknown queue video" in result.output
        assert "gpu-priority" in result.output
