"""The credits ledger: append-only entries; the balance is their sum; holds settle exactly once."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, InsufficientCredits, NotFound
from core.models import CreditEntry, EntryKind, User


async def balance(session: AsyncSession, user_id: str) -> int:
    """Spendable credits: grants and purchases less open and captured holds."""
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


async def grant(
    session: AsyncSession,
    user_id: str,
    amount: int,
    *,
    note: str = "",
    kind: EntryKind = EntryKind.grant,
) -> CreditEntry:
    if amount <= 0:
        raise ValueError("a grant must be positive")
    await lock_user(session, user_id)
    entry = CreditEntry(user_id=user_id, kind=kind.value, amount=amount, note=note)
    session.add(entry)
    await session.flush()
    return entry


async def hold(session: AsyncSession, user_id: str, amount: int, *, job_id: str) -> CreditEntry:
    """Reserve `amount` credits for a job or raise InsufficientCredits; the caller commits."""
    if amount <= 0:
        raise ValueError("a hold must be positive")
    await lock_user(session, user_id)
    available = await balance(session, user_id)
    if available < amount:
        raise InsufficientCredits(f"this needs {amount} credits and the balance is {available}")
    entry = CreditEntry(user_id=user_id, kind=EntryKind.hold.value, amount=-amount, job_id=job_id)
    session.add(entry)
    await session.flush()
    return entry


async def _settle(session: AsyncSession, hold_id: str, kind: EntryKind) -> CreditEntry | None:
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
        user_id=held.user_id, kind=kind.value, amount=amount, job_id=held.job_id, settles=hold_id
    )
    try:
        async with session.begin_nested():
            session.add(entry)
            await session.flush()
    except IntegrityError:
        # Another transaction settled it first; the unique `settles` column decided the race.
        return None
    return entry


async def capture(session: AsyncSession, hold_id: str) -> CreditEntry | None:
    """Make a hold final. Returns None if it was already captured."""
    return await _settle(session, hold_id, EntryKind.capture)


async def release(session: AsyncSession, hold_id: str) -> CreditEntry | None:
    """Give a hold back. Returns None if it was already released."""
    return await _settle(session, hold_id, EntryKind.release)
