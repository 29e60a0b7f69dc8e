"""Helpers for job tests: a user with credits, a submitted job, waiting for it to end."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence

from sqlalchemy import select

from billing import ledger
from core.db import get_database
from core.models import CreditEntry, Job, JobStatus, JobStep, User
from core.production import ProductionOptions
from core.script import parse_script
from core.settings import Settings
from core.storage import get_storage
from tools.context import ToolContext
from tools.production import JobStarted, make_quote, start_production

SHORT_SCRIPT = (
    "[TALKING] Hello there.\n"
    "[BROLL: a red kettle on a stove, steam rising | 1.5s] Tea time.\n"
    "[BROLL: green hills at sunrise, aerial | 1s]\n"
)


async def make_user(settings: Settings, credits: int = 200, plan: str = "starter") -> str:
    """A paying (starter) account unless `plan` says otherwise: full 1080p, no watermark."""
    async with get_database(settings.resolved_database_url).session() as s:
        user = User(email=f"{uuid.uuid4().hex}@example.com", plan=plan)
        s.add(user)
        await s.flush()
        await ledger.grant(s, user.id, credits)
        return user.id


def context(settings: Settings, session: object, user_id: str) -> ToolContext:
    from sqlalchemy.ext.asyncio import AsyncSession

    assert isinstance(session, AsyncSession)
    return ToolContext(
        session=session,
        user_id=user_id,
        channel="test",
        settings=settings,
        storage=get_storage(settings.storage_dir),
    )


async def submit(
    settings: Settings,
    user_id: str,
    script: str = SHORT_SCRIPT,
    options: ProductionOptions | None = None,
) -> JobStarted:
    options = options or ProductionOptions(music=True)
    async with get_database(settings.resolved_database_url).session() as s:
        ctx = context(settings, s, user_id)
        shown = await make_quote(ctx, parse_script(script), options)
        return await start_production(ctx, shown.quote_id)


async def wait_for(settings: Settings, job_id: str, timeout_s: float = 120) -> Job:
    db = get_database(settings.resolved_database_url)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        async with db.session() as s:
            job = await s.get(Job, job_id)
            assert job is not None
            if JobStatus(job.status).finished:
                return job
        await asyncio.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s}s")


async def steps_of(settings: Settings, job_id: str) -> Sequence[JobStep]:
    async with get_database(settings.resolved_database_url).session() as s:
        return (await s.scalars(select(JobStep).where(JobStep.job_id == job_id))).all()


async def ledger_of(settings: Settings, user_id: str) -> tuple[int, list[CreditEntry]]:
    async with get_database(settings.resolved_database_url).session() as s:
        entries = (
            await s.scalars(
                select(CreditEntry)
                .where(CreditEntry.user_id == user_id)
                .order_by(CreditEntry.created_at)
            )
        ).all()
        return await ledger.balance(s, user_id), list(entries)
