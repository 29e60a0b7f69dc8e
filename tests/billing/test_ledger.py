"""The credits ledger: holds, exactly-once settlement, and no overdraft under concurrency."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from billing import ledger
from core.db import get_database
from core.errors import Conflict, InsufficientCredits
from core.models import User
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


async def test_concurrent_spends_never_overdraw(stack: Stack) -> None:
    db = get_database(stack.settings.resolved_database_url)
    user = await make_user(stack, 5)

    async def spend(i: int) -> bool:
        try:
            async with db.session() as s:
                await ledger.hold(s, user, 1, job_id=f"job_{i}")
            return True
        except InsufficientCredits:
            return False

    results = await asyncio.gather(*(spend(i) for i in range(20)))
    assert sum(results) == 5
    async with db.session() as s:
        assert await ledger.balance(s, user) == 0
