"""The production shape, as separate processes on PostgreSQL + Redis: the API, two workers and
the scheduler. Fifty jobs go in over HTTP from free and Pro accounts; one worker is killed
(SIGKILL) in the middle. Every job completes, every step is finished exactly once, only the
steps the dead worker held are run a second time, and every account's credits add up."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from billing import ledger
from core import migrate
from core.db import get_database
from core.events import reset_bus
from core.models import CreditEntry, EntryKind, Job, JobStatus, JobStep, StepStatus, Usage, User
from core.settings import get_settings
from tests.conftest import ADMIN_POSTGRES_URL, REDIS_NAMESPACE, REDIS_URL, SESSION, _admin
from tests.serving import free_port

ROOT = Path(__file__).resolve().parents[2]
JOBS = 50
ACCOUNTS = ["free", "free", "free", "pro", "pro"]  # their plans; jobs go round them
EXTRA_CREDITS = 1000
OPTIONS = {"music": False, "format": "square", "resolution": "720p"}
STEP_DONE = re.compile(r"job\.step_done\b.*\bstep_id=(stp_\w+)")


@dataclass
class Process:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Cluster:
    env: dict[str, str]
    tmp: Path
    api_url: str
    processes: dict[str, Process] = field(default_factory=dict)

    def start(self, name: str, *args: str) -> Process:
        log = self.tmp / f"{name}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", *args],
            env={**os.environ, **self.env},
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        self.processes[name] = Process(name, proc, log)
        return self.processes[name]

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.text()[-3000:]}" for p in self.processes.values())


@pytest.fixture
def database() -> Iterator[str]:
    """A database of this test's own: the scheduler re-sends every queued step it finds, and
    the session's shared database holds other tests' leftovers."""
    name = f"skyie_test_{SESSION}_scale"
    _admin(f'CREATE DATABASE "{name}"')
    url = f"{ADMIN_POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    migrate.upgrade(url)
    yield url
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def cluster(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Cluster]:
    port = free_port()
    env = {
        "SKYIE_HOME": str(tmp_path / "home"),  # the shared volume of the compose file
        "SKYIE_DATABASE_URL": database,
        "SKYIE_BROKER": REDIS_URL,
        "SKYIE_EVENTS": REDIS_URL,
        "SKYIE_REDIS_NAMESPACE": f"{REDIS_NAMESPACE}-{uuid.uuid4().hex[:6]}",
        "SKYIE_SECRET_KEY": "scale-out-test-signing-key-0123456789",
        "SKYIE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SKYIE_STEP_LEASE_S": "6",
        "SKYIE_MONTHLY_GRANTS": "false",  # the test counts credits exactly
        "SKYIE_STARTING_CREDITS": "200",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    reset_bus()
    running = Cluster(env, tmp_path, f"http://127.0.0.1:{port}")
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker", "--no-migrate"]
    running.start("api", *serve)
    for name in ("worker-a", "worker-b"):
        running.start(name, "worker", "--threads", "2", "--no-schedule", "--log-level", "INFO")
    running.start("scheduler", "scheduler", "--log-level", "INFO")
    try:
        yield running
    finally:
        for p in running.processes.values():
            if p.proc.poll() is None:
                p.proc.send_signal(signal.SIGTERM)
        for p in running.processes.values():
            try:
                p.proc.wait(30)
            except subprocess.TimeoutExpired:
                p.proc.kill()
        get_settings.cache_clear()
        reset_bus()


async def api_ready(client: httpx.AsyncClient, cluster: Cluster) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError("the API did not come up:\n" + cluster.logs())


async def open_account(client: httpx.AsyncClient, plan: str) -> tuple[str, dict[str, str]]:
    """Registered over HTTP; the plan and extra credits are set as Stripe's webhook would."""
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    r = await client.post(
        "/v1/auth/register", json={"email": email, "password": "correct horse 42", "name": "Scale"}
    )
    assert r.status_code == 201, r.text
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    me = (await client.get("/v1/me", headers=headers)).json()
    async with get_database().session() as s:
        await s.execute(update(User).where(User.id == me["id"]).values(plan=plan))
        await ledger.grant(s, me["id"], EXTRA_CREDITS)
    return me["id"], headers


async def order(client: httpx.AsyncClient, headers: dict[str, str], n: int) -> dict:
    """A quote and then the job, as a client of the classic form does."""
    # Few words: the test is about the many, not the size of each (distinct words, so no job
    # reuses another's steps).
    body = {"script": f"[TALKING] Video {n}.", "options": OPTIONS}
    r = await client.post("/v1/videos/production", json=body, headers=headers)
    assert r.status_code == 200, r.text
    quote = r.json()["quote"]
    r = await client.post(
        "/v1/videos/production", json={**body, "quote_id": quote["quote_id"]}, headers=headers
    )
    assert r.status_code == 201, r.text
    return dict(r.json()["job"])


async def jobs_by_status(ids: list[str]) -> Counter[str]:
    async with get_database().session() as s:
        rows = await s.scalars(select(Job.status).where(Job.id.in_(ids)))
        return Counter(rows.all())


async def held_by(pid: int) -> list[JobStep]:
    async with get_database().session() as s:
        rows = await s.scalars(
            select(JobStep).where(
                JobStep.status == StepStatus.running.value,
                JobStep.worker_id.like(f"%:{pid}:%"),
            )
        )
        return list(rows.all())


async def test_fifty_jobs_survive_a_killed_worker(cluster: Cluster) -> None:
    async with httpx.AsyncClient(base_url=cluster.api_url, timeout=30) as client:
        await api_ready(client, cluster)
        accounts = [await open_account(client, plan) for plan in ACCOUNTS]
        jobs: list[dict] = []
        for n in range(JOBS):
            user_id, headers = accounts[n % len(accounts)]
            jobs.append({**await order(client, headers, n), "user_id": user_id})
        ids = [j["job_id"] for j in jobs]

        # Kill worker A (no goodbye: SIGKILL) once a fifth of the jobs are done and it holds
        # steps in flight.
        victim = cluster.processes["worker-a"]
        deadline = time.monotonic() + 240
        while True:
            assert time.monotonic() < deadline, "no progress:\n" + cluster.logs()
            held = await held_by(victim.proc.pid)
            if (await jobs_by_status(ids))["succeeded"] >= JOBS // 5 and held:
                break
            await asyncio.sleep(0.05)
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(10)
        at_kill = await held_by(victim.proc.pid)  # what it held when it died
        assert at_kill, "the victim held no step at the kill"
        done_at_kill = (await jobs_by_status(ids))["succeeded"]
        assert done_at_kill < JOBS, "every job was done before the kill"

        deadline = time.monotonic() + 400
        while (statuses := await jobs_by_status(ids))["succeeded"] < JOBS:
            finished = sum(n for s, n in statuses.items() if JobStatus(s).finished)
            assert finished == statuses["succeeded"], f"{statuses}\n{cluster.logs()}"
            assert time.monotonic() < deadline, f"{statuses}\n{cluster.logs()}"
            await asyncio.sleep(0.25)

        # The survivor stops gracefully: nothing in flight, nothing handed back.
        survivor = cluster.processes["worker-b"]
        survivor.proc.send_signal(signal.SIGTERM)
        assert survivor.proc.wait(60) == 0, survivor.text()[-3000:]
        assert "worker stopped (0 steps handed back)" in survivor.text()

        # Each finished video can be fetched through the API.
        for job in jobs[:: len(accounts)]:
            headers = next(h for u, h in accounts if u == job["user_id"])
            r = await client.get(f"/v1/jobs/{job['job_id']}/video", headers=headers)
            assert r.status_code == 200 and r.content[4:8] == b"ftyp"

    async with get_database().session() as s:
        steps = list((await s.scalars(select(JobStep).where(JobStep.job_id.in_(ids)))).all())
        saved = {j.id: j for j in (await s.scalars(select(Job).where(Job.id.in_(ids)))).all()}
        entries = list(
            (await s.scalars(select(CreditEntry).where(CreditEntry.job_id.in_(ids)))).all()
        )
        usage = list((await s.scalars(select(Usage).where(Usage.job_id.in_(ids)))).all())
        balances = {u: await ledger.balance(s, u) for u, _ in accounts}

    # Every step was finished exactly once. The survivor logged "step done" once for each step
    # it finished, and nothing was logged twice across both workers (a kill can fall between a
    # step's commit and its log line: such a step of the victim's may have no line at all).
    # Only the steps the dead worker held were started again, once; such a step reuses its
    # artifact if the dead worker had stored it before dying.
    step_done = Counter(
        m.group(1)
        for name in ("worker-a", "worker-b")
        for m in STEP_DONE.finditer(cluster.processes[name].text())
    )
    killed = {s.id: s.runs for s in at_kill}  # a kill may come before a run is counted
    survivor_pid = f":{cluster.processes['worker-b'].proc.pid}:"
    assert len(steps) >= 3 * JOBS
    for step in steps:
        assert step.status == StepStatus.done.value, step.name
        assert step_done[step.id] <= 1, (step.name, step_done[step.id])
        if survivor_pid in (step.worker_id or ""):
            assert step_done[step.id] == 1, step.name
        if step.id in killed:
            assert step.runs - killed[step.id] == (0 if step.reused else 1), step.name
            assert step.attempts == 2, step.name
        else:
            assert (step.runs, step.reused, step.attempts) == (1, False, 1), step.name
    assert set(step_done) <= {s.id for s in steps}
    assert sum(step_done.values()) >= len(steps) - 1

    # Pro jobs took the priority queues; free ones did not.
    plans = {u: plan for (u, _), plan in zip(accounts, ACCOUNTS, strict=True)}
    for job in jobs:
        assert saved[job["job_id"]].priority == (plans[job["user_id"]] == "pro")

    # The ledger: each job held its price once and captured it once; nothing released; every
    # account is down exactly the price of its jobs; one usage row per job.
    for job in jobs:
        mine = [e for e in entries if e.job_id == job["job_id"]]
        kinds = Counter(e.kind for e in mine)
        assert kinds == {EntryKind.hold.value: 1, EntryKind.capture.value: 1}, kinds
        hold = next(e for e in mine if e.kind == EntryKind.hold.value)
        assert hold.amount == -job["credits"] == -saved[job["job_id"]].credits
    for user_id, _ in accounts:
        spent = sum(j["credits"] for j in jobs if j["user_id"] == user_id)
        assert balances[user_id] == 200 + EXTRA_CREDITS - spent
    assert sorted(u.job_id for u in usage) == sorted(ids)
