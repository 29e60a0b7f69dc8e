"""The credits ledger: holds, exactly-once settlement, and no overdraft under concurrency."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from billing import ledger
from core.db import get_database
from core.errors import Conflict, InsufficientCredits
from core.models import CreditEntry, EntryKind, Job, User
from jobs import service
from tests.conftest import Stack


async def make_user(stack: Stack, credits: int) -> str:
    async with get_database(stack.settings.resolved_database_url).session() as s:
        user = User(email=f"{uuid.uuid4().hex}@example.com")
        s.add(user)
        await s.flush()
        if credits:
            await ledger.grant(s, user.id, credits)
        return user.id


async def test_hold_capture_release(stack: Stack) -> None:
    db = get_database(stack.settings.resolved_database_url)
    user = await make_user(stack, 50)
    async with db.session() as s:
        first = await ledger.hold(s, user, 30, job_id="job_a")
        assert await ledger.balance(s, user) == 20
        with pytest.raises(InsufficientCredits, match="needs 30 credits and the balance is 20"):
            await ledger.hold(s, user, 30, job_id="job_b")
    async with db.session() as s:
        assert await ledger.capture(s, first.id) is not None
        assert await ledger.capture(s, first.id) is None  # idempotent
        with pytest.raises(Conflict):
            await ledger.release(s, first.id)
        assert await ledger.balance(s, user) == 20
        second = await ledger.hold(s, user, 20, job_id="job_c")
    async with db.session() as s:
        assert await ledger.release(s, second.id) is not None
        assert await ledger.release(s, second.id) is None
        assert await ledger.balance(s, user) == 20


async def test_a_failed_transaction_leaves_no_hold(stack: Stack) -> None:
    db = get_database(stack.settings.resolved_database_url)
    user = await make_user(stack, 10)
    with pytest.raises(RuntimeError):
        async with db.session() as s:
            await ledger.hold(s, user, 10, job_id="job_x")
            raise RuntimeError("the job could not be created")
    async with db.session() as s:
        assert await ledger.balance(s, user) == 10


async def test_200_concurrent_spends_with_credits_for_10(stack: Stack) -> None:
    """Exactly 10 of 200 racing spends succeed, and no reader ever sees a negative balance."""
    db = get_database(stack.settings.resolved_database_url)
    user = await make_user(stack, 10)
    seen: list[int] = []
    done = asyncio.Event()

    async def spend(i: int) -> bool:
        try:
            async with db.session() as s:
                await ledger.hold(s, user, 1, job_id=f"job_{i}")
            return True
        except InsufficientCredits:
            return False

    async def watch() -> None:
        while not done.is_set():
            async with db.session(read_only=True) as s:
                seen.append(await ledger.balance(s, user))
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    results = await asyncio.gather(*(spend(i) for i in range(200)))
    done.set()
    await watcher
    assert sum(results) == 10
    assert seen and min(seen) >= 0
    async with db.session() as s:
        assert await ledger.balance(s, user) == 0
        holds = await s.scalar(
            select(func.count())
            .select_from(CreditEntry)
            .where(CreditEntry.user_id == user, CreditEntry.kind == "hold")
        )
        assert holds == 10


async def test_refs_apply_once_even_when_racing(stack: Stack) -> None:
    db = get_database(stack.settings.resolved_database_url)
    user = await make_user(stack, 0)

    async def grant() -> bool:
        async with db.session() as s:
            entry = await ledger.grant(s, user, 500, kind=EntryKind.purchase, ref="payment:x")
            return entry is not None

    results = await asyncio.gather(*(grant() for _ in range(20)))
    assert sum(results) == 1
    async with db.session() as s:
        assert await ledger.balance(s, user) == 500


async def test_refunds_may_leave_a_debt_and_adjustments_never_overdraw(stack: Stack) -> None:
    db = get_database(stack.settings.resolved_database_url)
    user = await make_user(stack, 100)
    async with db.session() as s:
        await ledger.hold(s, user, 80, job_id="job_spent")
    async with db.session() as s:
        # The money went back; so do the credits, spent or not: the balance shows the debt.
        assert await ledger.refund(s, user, 100, ref="refund:p:100") is not None
        assert await ledger.refund(s, user, 100, ref="refund:p:100") is None
        assert await ledger.balance(s, user) == -80
        with pytest.raises(InsufficientCredits, match="needs 1 credits and the balance is -80"):
            await ledger.hold(s, user, 1, job_id="job_more")
    async with db.session() as s:
        await ledger.adjust(s, user, 90, note="goodwill after an outage")
        with pytest.raises(InsufficientCredits, match="cannot take 11 credits"):
            await ledger.adjust(s, user, -11, note="correction")
        await ledger.adjust(s, user, -10, note="correction")
        assert await ledger.balance(s, user) == 0
        with pytest.raises(ValueError, match="note"):
            await ledger.adjust(s, user, 5, note=" ")


async def test_a_lapsed_hold_ends_its_job_and_gives_the_credits_back(stack: Stack) -> None:
    settings = stack.settings
    db = get_database(settings.resolved_database_url)
    user = await make_user(stack, 0)
    async with db.session() as s:
        await ledger.grant(s, user, 100)
        job = Job(user_id=user, script_text="[TALKING] Hi.", credits=30)
        s.add(job)
        await s.flush()
        job.hold_id = (await ledger.hold(s, user, 30, job_id=job.id, ttl=timedelta(0))).id
        orphan = await ledger.hold(s, user, 20, job_id="job_gone", ttl=timedelta(0))
        fresh = await ledger.hold(s, user, 10, job_id="job_fresh")
        job_id = job.id
    async with db.session() as s:
        assert await ledger.balance(s, user) == 40
        assert {h.id for h in await ledger.expired_holds(s)} >= {job.hold_id, orphan.id}
        assert await service.expire_holds(s) >= 2
    async with db.session() as s:
        assert await ledger.balance(s, user) == 90  # only the fresh hold is still out
        ended = await s.get(Job, job_id)
        assert ended is not None and ended.status == "failed"
        assert ended.error is not None and "credit hold" in ended.error
        assert fresh.id not in {h.id for h in await ledger.expired_holds(s)}
        with pytest.raises(Conflict, match="already released"):
            await ledger.capture(s, orphan.id)
        assert await service.expire_holds(s) == 0  # nothing left to lapse
