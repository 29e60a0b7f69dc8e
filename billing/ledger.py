"""The credits ledger: append-only entries; the balance is their sum; holds settle exactly once.

Every entry that changes what a person can spend takes their row lock first (`lock_user`), so
on PostgreSQL concurrent spends serialise per person and each sees the others' holds; on
SQLite the same UPDATE takes the database's write lock. Entries caused by something outside
(a month's plan credits, a payment, a refund) carry a unique `ref`: the database refuses a
second one, so a retried or replayed cause is applied once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.errors import Conflict, InsufficientCredits, NotFound
from core.models import CreditEntry, EntryKind, User, utcnow


async def balance(session: AsyncSession, user_id: str) -> int:
    """Spendable credits: grants and purchases less open and captured holds and refunds."""
    total = await session.scalar(
        select(func.coalesce(func.sum(CreditEntry.amount), 0)).where(CreditEntry.user_id == user_id)
    )
    return int(total or 0)


async def lock_user(session: AsyncSession, user_id: str) -> None:
    # The UPDATE takes the user's row lock (PostgreSQL) or the database write lock (SQLite)
    # until commit, so a concurrent spend waits here and then sees this one's hold.
    result = await session.execute(
        update(User).where(User.id == user_id).values(ledger_seq=User.ledger_seq + 1)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"user {user_id} not found")


async def _append(session: AsyncSession, entry: CreditEntry) -> CreditEntry | None:
    """Add `entry`; None when its `ref` is already in the ledger (the cause was applied)."""
    if entry.ref is not None:
        if await session.scalar(select(CreditEntry.id).where(CreditEntry.ref == entry.ref)):
            return None
        try:
            async with session.begin_nested():
                session.add(entry)
                await session.flush()
        except IntegrityError:
            return None  # a concurrent transaction applied the same cause first
        return entry
    session.add(entry)
    await session.flush()
    return entry


async def grant(
    session: AsyncSession,
    user_id: str,
    amount: int,
    *,
    note: str = "",
    kind: EntryKind = EntryKind.grant,
    ref: str | None = None,
    payment_id: str | None = None,
) -> CreditEntry | None:
    """Add credits (a grant, or a purchase). With `ref`, at most once per ref: None if the
    ref was already granted."""
    if amount <= 0:
        raise ValueError("a grant must be positive")
    if kind not in (EntryKind.grant, EntryKind.purchase):
        raise ValueError(f"a grant is a grant or a purchase, not a {kind}")
    await lock_user(session, user_id)
    entry = CreditEntry(
        user_id=user_id, kind=kind.value, amount=amount, note=note, ref=ref, payment_id=payment_id
    )
    return await _append(session, entry)


async def refund(
    session: AsyncSession,
    user_id: str,
    amount: int,
    *,
    ref: str,
    payment_id: str | None = None,
    note: str = "",
) -> CreditEntry | None:
    """Take back `amount` credits of a refunded payment, once per `ref`. The money went back,
    so the credits go even if some were spent: the balance may then fall below zero, and
    nothing can be spent until it is above the price again."""
    if amount <= 0:
        raise ValueError("a refund takes back a positive number of credits")
    await lock_user(session, user_id)
    entry = CreditEntry(
        user_id=user_id,
        kind=EntryKind.refund.value,
        amount=-amount,
        ref=ref,
        payment_id=payment_id,
        note=note,
    )
    return await _append(session, entry)


async def adjust(
    session: AsyncSession, user_id: str, amount: int, *, note: str, ref: str | None = None
) -> CreditEntry | None:
    """An operator's correction, either way. Taking credits away never goes below zero."""
    if amount == 0:
        raise ValueError("an adjustment changes the balance")
    if not note.strip():
        raise ValueError("an adjustment needs a note saying why")
    await lock_user(session, user_id)
    if amount < 0:
        available = await balance(session, user_id)
        if available + amount < 0:
            raise InsufficientCredits(f"cannot take {-amount} credits: the balance is {available}")
    entry = CreditEntry(
        user_id=user_id, kind=EntryKind.adjustment.value, amount=amount, note=note, ref=ref
    )
    return await _append(session, entry)


async def hold(
    session: AsyncSession,
    user_id: str,
    amount: int,
    *,
    job_id: str,
    ttl: timedelta = timedelta(hours=24),
) -> CreditEntry:
    """Reserve `amount` credits for a job or raise InsufficientCredits; the caller commits.
    The hold lapses after `ttl` if nothing settles it (see `expired_holds`)."""
    if amount <= 0:
        raise ValueError("a hold must be positive")
    await lock_user(session, user_id)
    available = await balance(session, user_id)
    if available < amount:
        raise InsufficientCredits(f"this needs {amount} credits and the balance is {available}")
    entry = CreditEntry(
        user_id=user_id,
        kind=EntryKind.hold.value,
        amount=-amount,
        job_id=job_id,
        expires_at=utcnow() + ttl,
    )
    session.add(entry)
    await session.flush()
    return entry


async def _settle(
    session: AsyncSession, hold_id: str, kind: EntryKind, note: str = ""
) -> CreditEntry | None:
    held = await session.get(CreditEntry, hold_id)
    if held is None or held.kind != EntryKind.hold.value:
        raise NotFound(f"hold {hold_id} not found")
    existing = await session.scalar(select(CreditEntry).where(CreditEntry.settles == hold_id))
    if existing is not None:
        if existing.kind == kind.value:
            return None  # already done: settling is idempotent
        raise Conflict(f"hold {hold_id} was already {existing.kind}d")
    amount = 0 if kind is EntryKind.capture else -held.amount
    entry = CreditEntry(
        user_id=held.user_id,
        kind=kind.value,
        amount=amount,
        job_id=held.job_id,
        settles=hold_id,
        note=note,
    )
    try:
        async with session.begin_nested():
            session.add(entry)
            await session.flush()
    except IntegrityError:
        # Another transaction settled it first; the unique `settles` column decided the race.
        winner = await session.scalar(select(CreditEntry).where(CreditEntry.settles == hold_id))
        if winner is not None and winner.kind != kind.value:
            raise Conflict(f"hold {hold_id} was already {winner.kind}d") from None
        return None
    return entry


async def capture(session: AsyncSession, hold_id: str) -> CreditEntry | None:
    """Make a hold final. Returns None if it was already captured."""
    return await _settle(session, hold_id, EntryKind.capture)


async def release(session: AsyncSession, hold_id: str, *, note: str = "") -> CreditEntry | None:
    """Give a hold back. Returns None if it was already released."""
    return await _settle(session, hold_id, EntryKind.release, note)


@dataclass(frozen=True)
class OpenHold:
    id: str
    user_id: str
    job_id: str | None
    amount: int


async def expired_holds(
    session: AsyncSession, *, now: datetime | None = None, limit: int = 200
) -> list[OpenHold]:
    """Holds past their expiry that nothing has settled, oldest first."""
    settlement = aliased(CreditEntry)
    rows = await session.execute(
        select(CreditEntry.id, CreditEntry.user_id, CreditEntry.job_id, CreditEntry.amount)
        .where(
            CreditEntry.kind == EntryKind.hold.value,
            CreditEntry.expires_at < (now or utcnow()),
            ~exists().where(settlement.settles == CreditEntry.id),
        )
        .order_by(CreditEntry.expires_at)
        .limit(limit)
    )
    # In job order: every sweeper locks the jobs in one order, so two never deadlock.
    holds = [OpenHold(r.id, r.user_id, r.job_id, -r.amount) for r in rows]
    return sorted(holds, key=lambda h: h.job_id or "")
