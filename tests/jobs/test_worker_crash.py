"""Kill the worker process in the middle of a job, start another: the job completes, no
finished step runs again, and the credits are captured exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import migrate
from core.events import reset_bus
from core.models import EntryKind, JobStatus, StepStatus
from core.settings import get_settings
from tests.conftest import REDIS_NAMESPACE, REDIS_URL, postgres_url
from tests.jobs.helpers import ledger_of, make_user, steps_of, submit, wait_for

SCRIPT = (
    "[TALKING] Welcome back to the channel.\n"
    "[BROLL: a lighthouse on a cliff at dusk | 2s] Here is the first idea.\n"
    "[BROLL: a busy night market, tracking shot | 2s] And the second one.\n"
    "[TALKING] Thanks for watching.\n"
)


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "worker", "--threads", "1", "--log-level", "INFO"],
        env={**os.environ, **env},
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parents[2],
    )
    return proc


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
async def test_job_survives_a_killed_worker(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_url = (
        postgres_url()
        if database == "postgres"
        else f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    )
    env = {
        "SKYIE_HOME": str(tmp_path / "home"),
        "SKYIE_DATABASE_URL": db_url,
        "SKYIE_BROKER": REDIS_URL,
        "SKYIE_EVENTS": REDIS_URL,
        "SKYIE_STEP_LEASE_S": "2",
        "SKYIE_MONTHLY_GRANTS": "false",  # the test counts credits exactly
        "SKYIE_REDIS_NAMESPACE": REDIS_NAMESPACE,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    reset_bus()
    settings = get_settings()
    migrate.upgrade(db_url)

    user = await make_user(settings, 300)
    started = await submit(settings, user, SCRIPT)
    log = tmp_path / "worker.log"
    first = start_worker(env, log)
    try:
        # Kill it once some steps are finished and another is in flight.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            steps = await steps_of(settings, started.job_id)
            done = [s for s in steps if s.status == StepStatus.done.value]
            running = [s for s in steps if s.status == StepStatus.running.value]
            if len(done) >= 3 and running:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("worker made no progress:\n" + log.read_text())
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    at_kill = await steps_of(settings, started.job_id)
    before = {s.name: s.finished_at for s in at_kill if s.status == StepStatus.done.value}
    in_flight = {s.name for s in at_kill if s.status == StepStatus.running.value}

    second = start_worker(env, log)
    try:
        job = await wait_for(settings, started.job_id, timeout_s=150)
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(15)
        except subprocess.TimeoutExpired:
            second.kill()
    assert job.status == JobStatus.succeeded.value, job.error or log.read_text()[-3000:]
    after = await steps_of(settings, started.job_id)
    for step in after:
        assert step.status == StepStatus.done.value
        if step.name in before:
            # Finished before the kill: never run again, not even re-marked.
            assert step.runs == 1, step.name
            assert step.finished_at == before[step.name], step.name
    for step in after:
        if step.name in in_flight:
            assert step.attempts == 2, f"{step.name} was running at the kill and must be re-run"
    balance, entries = await ledger_of(settings, user)
    captures = [e for e in entries if e.kind == EntryKind.capture.value and e.job_id == job.id]
    assert len(captures) == 1
    assert balance == 300 - started.credits
