"""Priority on the GPU: the steps of a job whose owner's plan has priority reach the GPU server
marked paid, through the real client, header and in-process server; other plans' do not."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.db import get_database
from core.models import JobStep, StepStatus
from core.production import ProductionOptions
from gpu.server.tasks import Task, TaskManager
from jobs.runner import run_step
from tests.conftest import Stack
from tests.jobs.helpers import make_user, submit


async def test_a_plan_with_priority_marks_its_gpu_tasks_paid(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = stack.settings
    queued: dict[str, tuple[bool, bool]] = {}  # idempotency (content) key -> (first, paid)
    submit_task = TaskManager.submit

    def recording(self: TaskManager, *args: Any, **kwargs: Any) -> Task:
        task = submit_task(self, *args, **kwargs)
        queued[kwargs["key"]] = (task.first, task.paid)
        return task

    monkeypatch.setattr(TaskManager, "submit", recording)
    for plan, paid in [("pro", True), ("starter", False), ("free", False)]:
        user = await make_user(settings, 100, plan=plan)
        # Each its own words: the same words would reuse the first job's voice artifact.
        started = await submit(
            settings, user, f"[TALKING] Hello from {plan}.", ProductionOptions(music=False)
        )
        async with get_database().session() as s:
            tts = await s.scalar(
                select(JobStep).where(JobStep.job_id == started.job_id, JobStep.kind == "tts")
            )
        assert tts is not None
        await run_step(tts.id)  # what the GPU queue's actor does with the step's message
        async with get_database().session() as s:
            done = await s.get(JobStep, tts.id, populate_existing=True)
        assert done is not None and done.status == StepStatus.done.value, done and done.error
        assert queued[tts.content_key] == (True, paid), plan
