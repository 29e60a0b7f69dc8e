"""Plan credits: what a new account starts with, and each month's grant (a scheduled task).

A month's grant names its period in the ledger (`plan:<user>:<YYYY-MM>`), so however many
workers run the task, and however often, each account gets each month's credits once.
Accounts paying through Stripe get theirs when the invoice is paid (see `billing.stripe`),
not here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from billing import ledger
from billing.plans import plan_spec
from core.db import Database
from core.errors import NotFound
from core.models import CreditEntry, Subscription, User, utcnow
from core.settings import Settings

# Stripe statuses in which the subscription, not this task, provides the month's credits.
SUBSCRIBED = ("active", "trialing", "past_due")


def period_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def period_ref(user_id: str, period: str) -> str:
    return f"plan:{user_id}:{period}"


async def open_account(session: AsyncSession, user: User, settings: Settings) -> None:
    """The new account's first month: the operator's welcome amount stands in for this
    month's plan credits (the monthly task starts with the next month)."""
    amount = settings.starting_credits
    if amount:
        ref = period_ref(user.id, period_of(utcnow()))
        await ledger.grant(session, user.id, amount, note="welcome credits", ref=ref)


async def grant_monthly(db: Database, *, now: datetime | None = None, batch: int = 200) -> int:
    """Give every account without a paying subscription this month's plan credits, once.
    Each batch is its own transaction, so people's spends wait on a batch at most, and one
    account's failure loses nobody else's credits. Returns how many accounts got them."""
    period = period_of(now or utcnow())
    granted = 0
    while True:
        async with db.session() as session:
            done, more = await _grant_batch(session, period, batch)
        granted += done
        if not more:
            return granted


async def _grant_batch(session: AsyncSession, period: str, batch: int) -> tuple[int, bool]:
    ref = literal("plan:") + User.id + literal(f":{period}")
    rows = (
        await session.execute(
            select(User.id, User.plan)
            .where(
                ~exists().where(CreditEntry.ref == ref),
                ~exists().where(
                    Subscription.user_id == User.id, Subscription.status.in_(SUBSCRIBED)
                ),
            )
            .order_by(User.id)
            .limit(batch)
        )
    ).all()
    granted = 0
    for user_id, plan in rows:
        spec = plan_spec(plan)
        try:
            async with session.begin_nested():
                # A concurrent run granted it first: the ref's unique index refuses this one.
                if await ledger.grant(
                    session,
                    user_id,
                    spec.monthly_credits,
                    note=f"{spec.title} plan credits for {period}",
                    ref=period_ref(user_id, period),
                ):
                    granted += 1
        except NotFound:
            continue  # the account was deleted since the batch was read
    return granted, len(rows) == batch
