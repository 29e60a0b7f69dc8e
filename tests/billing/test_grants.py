"""Plan credits: a new account's first month, and the monthly grant, once per account."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from billing import grants, ledger
from core.db import get_database
from core.models import CreditEntry, Subscription, User
from jobs.worker import JobWorker
from tests.conftest import Stack

DECEMBER = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
JANUARY = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)


async def new_user(stack: Stack, plan: str = "free") -> str:
    async with get_database(stack.settings.resolved_database_url).session() as s:
        user = User(email=f"{uuid.uuid4().hex}@example.com", plan=plan)
        s.add(user)
        await s.flush()
        await grants.open_account(s, user, stack.settings)
        return user.id


async def balance(stack: Stack, user_id: str) -> int:
    async with get_database(stack.settings.resolved_database_url).session() as s:
        return await ledger.balance(s, user_id)


async def test_a_new_account_starts_with_the_welcome_credits_for_its_month(stack: Stack) -> None:
    free = await new_user(stack)
    business = await new_user(stack, "business")
    assert await balance(stack, free) == stack.settings.starting_credits
    # This month is covered by the welcome grant: the monthly task adds nothing now.
    await grants.grant_monthly(get_database(stack.settings.resolved_database_url))
    assert await balance(stack, free) == stack.settings.starting_credits
    assert await balance(stack, business) == stack.settings.starting_credits


async def test_each_month_once_and_never_for_a_paying_subscription(stack: Stack) -> None:
    db = get_database(stack.settings.resolved_database_url)
    free, manual_pro, subscribed = await asyncio.gather(
        new_user(stack), new_user(stack, "pro"), new_user(stack, "pro")
    )
    async with db.session() as s:
        s.add(
            Subscription(
                id=f"sub_{uuid.uuid4().hex}", user_id=subscribed, plan="pro", status="active"
            )
        )
    before = {u: await balance(stack, u) for u in (free, manual_pro, subscribed)}

    # Several workers run the task at once: each account still gets December once.
    async def run(now: datetime) -> int:
        return await grants.grant_monthly(db, now=now, batch=3)

    await asyncio.gather(*(run(DECEMBER) for _ in range(4)))
    await run(DECEMBER)
    after = {u: await balance(stack, u) for u in (free, manual_pro, subscribed)}
    assert after[free] - before[free] == 50
    assert after[manual_pro] - before[manual_pro] == 2000
    assert after[subscribed] == before[subscribed]  # Stripe's invoice brings those

    await run(JANUARY)
    assert await balance(stack, free) - after[free] == 50
    async with db.session() as s:
        notes = (
            await s.scalars(
                select(CreditEntry.note)
                .where(CreditEntry.user_id == free, CreditEntry.kind == "grant")
                .order_by(CreditEntry.created_at)
            )
        ).all()
    assert notes[1:] == ["Free plan credits for 2026-12", "Free plan credits for 2027-01"]


async def test_the_worker_runs_the_monthly_grant(stack: Stack) -> None:
    db = get_database(stack.settings.resolved_database_url)
    async with db.session() as s:
        user = User(email=f"{uuid.uuid4().hex}@example.com")  # made before grants existed
        s.add(user)
        await s.flush()
        user_id = user.id
    settings = stack.settings.model_copy(update={"monthly_grants": True})
    with JobWorker(settings, threads=1):
        deadline = time.monotonic() + 20
        while await balance(stack, user_id) == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    assert await balance(stack, user_id) == 50
