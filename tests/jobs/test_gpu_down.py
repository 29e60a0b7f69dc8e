"""A GPU that cannot be reached: the job waits with a clear state, nothing fails, nothing is
charged, and cancelling gives every credit back."""

from __future__ import annotations

import asyncio
import time

import pytest

from core.db import get_database
from core.models import Job, JobStatus, StepStatus
from core.settings import get_settings
from jobs.service import cancel_job
from jobs.worker import JobWorker
from tests.conftest import Stack
from tests.jobs.helpers import ledger_of, make_user, steps_of, submit


async def test_steps_wait_for_an_unreachable_gpu(
    sqlite_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKYIE_GPU_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    get_settings.cache_clear()
    settings = get_settings()
    user = await make_user(settings, 100)
    started = await submit(settings, user)
    db = get_database(settings.resolved_database_url)
    with JobWorker(settings):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            async with db.session() as s:
                job = await s.get(Job, started.job_id)
                assert job is not None
                if job.phase.startswith("GPU unavailable"):
                    break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"job never reported the GPU as unavailable (phase {job.phase!r})")
        assert job.status in (JobStatus.queued.value, JobStatus.running.value)
        steps = await steps_of(settings, started.job_id)
        assert not any(s.status == StepStatus.failed.value for s in steps)
        assert all(s.attempts <= 1 for s in steps), "waiting for the GPU must not use up retries"
        async with db.session() as s:
            await cancel_job(s, started.job_id, user_id=user)
    balance, entries = await ledger_of(settings, user)
    assert balance == 100
    assert [e.kind for e in entries if e.job_id == started.job_id] == ["hold", "release"]
