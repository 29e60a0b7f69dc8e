"""Usage and money reports: a person's per-job usage and ledger, and the operator's summary.

Every figure is computed by the database (keyset pages, grouped sums); nothing here loads a
table into Python. A page is read newest first by the key (created_at, id), which stays
stable while new rows arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from billing.grants import SUBSCRIBED
from core.errors import InvalidInput
from core.models import CreditEntry, Job, JobStatus, Payment, Subscription, Usage, User, utcnow

T = TypeVar("T")
Key = tuple[datetime, str]  # (created_at, id) of a row: where the next page starts

DEFAULT_WINDOW = timedelta(days=30)
MAX_WINDOW = timedelta(days=366)
_OPEN = (JobStatus.queued.value, JobStatus.running.value)
_ENDED = (JobStatus.succeeded.value, JobStatus.failed.value, JobStatus.cancelled.value)


@dataclass(frozen=True)
class Slice(Generic[T]):
    rows: list[T]
    next_key: Key | None  # None on the last page


@dataclass(frozen=True)
class JobUsage:
    job_id: str
    workflow: str
    status: str
    credits_held: int  # reserved by a job still queued or running
    credits_charged: int  # captured on success; a failed or cancelled job's hold went back
    gpu_seconds: float
    created_at: datetime
    finished_at: datetime | None
    deleted: bool  # removed from the library; what it cost stays on record


@dataclass(frozen=True)
class LedgerLine:
    id: str
    kind: str
    amount: int
    balance_after: int
    job_id: str | None
    settles: str | None
    payment_id: str | None
    note: str
    created_at: datetime


@dataclass(frozen=True)
class Revenue:
    currency: str
    payments: int
    gross_cents: int
    refunded_cents: int
    net_cents: int


@dataclass(frozen=True)
class AdminSummary:
    since: datetime
    until: datetime
    new_accounts: int
    generations: int
    generations_by_workflow: dict[str, int]
    failed: int
    cancelled: int
    gpu_hours: float
    credits_charged: int
    revenue: list[Revenue]
    gpu_hour_usd: float
    gpu_cost_cents: int
    gpu_cost_to_revenue: float | None
    active_subscriptions: dict[str, int]
    accounts_by_plan: dict[str, int]


async def usage_history(
    session: AsyncSession, user_id: str, *, limit: int, before: Key | None = None
) -> Slice[JobUsage]:
    """The person's jobs, newest first, each with what it held, charged and ran on the GPU."""
    stmt = (
        select(
            Job.id,
            Job.workflow,
            Job.status,
            Job.credits,
            Job.hold_id,
            Job.created_at,
            Job.finished_at,
            Job.deleted_at,
            Usage.credits_used,
            Usage.gpu_seconds,
        )
        .outerjoin(Usage, Usage.job_id == Job.id)
        .where(Job.user_id == user_id)
    )
    if before is not None:
        stmt = stmt.where(tuple_(Job.created_at, Job.id) < tuple_(*before))
    stmt = stmt.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)
    rows = [
        JobUsage(
            job_id=r.id,
            workflow=r.workflow,
            status=r.status,
            credits_held=r.credits if r.status in _OPEN and r.hold_id else 0,
            # Only a succeeded paid job has a usage row; any other job's hold was released.
            credits_charged=r.credits_used or 0,
            gpu_seconds=float(r.gpu_seconds or 0.0),
            created_at=r.created_at,
            finished_at=r.finished_at,
            deleted=r.deleted_at is not None,
        )
        for r in (await session.execute(stmt)).all()
    ]
    more = len(rows) > limit
    rows = rows[:limit]
    return Slice(rows, (rows[-1].created_at, rows[-1].job_id) if more else None)


async def credit_history(
    session: AsyncSession, user_id: str, *, limit: int, before: Key | None = None
) -> Slice[LedgerLine]:
    """The person's ledger entries, newest first, each with the balance right after it."""
    stmt = select(CreditEntry).where(CreditEntry.user_id == user_id)
    if before is not None:
        stmt = stmt.where(tuple_(CreditEntry.created_at, CreditEntry.id) < tuple_(*before))
    stmt = stmt.order_by(CreditEntry.created_at.desc(), CreditEntry.id.desc()).limit(limit + 1)
    entries = list((await session.scalars(stmt)).all())
    more = len(entries) > limit
    entries = entries[:limit]
    if not entries:
        return Slice([], None)
    # One sum gives the balance after the page's newest entry; each older one is that
    # balance less the amounts of the entries above it.
    newest = entries[0]
    balance = await session.scalar(
        select(func.coalesce(func.sum(CreditEntry.amount), 0)).where(
            CreditEntry.user_id == user_id,
            tuple_(CreditEntry.created_at, CreditEntry.id) <= tuple_(newest.created_at, newest.id),
        )
    )
    running = int(balance or 0)
    lines = []
    for entry in entries:
        lines.append(
            LedgerLine(
                id=entry.id,
                kind=entry.kind,
                amount=entry.amount,
                balance_after=running,
                job_id=entry.job_id,
                settles=entry.settles,
                payment_id=entry.payment_id,
                note=entry.note,
                created_at=entry.created_at,
            )
        )
        running -= entry.amount
    last = entries[-1]
    return Slice(lines, (last.created_at, last.id) if more else None)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def summary_window(
    since: datetime | None, until: datetime | None, *, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The [since, until) a summary covers: `until` defaults to now and `since` to 30 days
    before it. A time without an offset is taken as UTC."""
    try:
        until = _utc(until) if until is not None else (now or utcnow())
        since = _utc(since) if since is not None else until - DEFAULT_WINDOW
    except OverflowError:
        raise InvalidInput(
            "since and until must lie between the years 1 and 9999 in UTC", code="invalid_window"
        ) from None
    if until <= since:
        raise InvalidInput(
            f"until ({until.isoformat()}) must be later than since ({since.isoformat()})",
            code="invalid_window",
        )
    if until - since > MAX_WINDOW:
        raise InvalidInput(
            f"the window from {since.isoformat()} to {until.isoformat()} is "
            f"{(until - since).days} days; at most {MAX_WINDOW.days} days per summary",
            code="invalid_window",
        )
    return since, until


async def admin_summary(
    session: AsyncSession, *, since: datetime, until: datetime, gpu_hour_usd: float
) -> AdminSummary:
    """What the studio did and earned in [since, until): jobs by the time they ended,
    payments by the time they were paid. Plans and subscriptions are as they stand now.

    A generation is a paid job that succeeded (free exports are not counted). GPU cost is
    in US cents; its ratio to revenue uses the USD revenue net of refunds, and is None when
    there is none."""
    jobs = await session.execute(
        select(
            Job.status,
            Job.workflow,
            func.count(Job.id),
            func.coalesce(func.sum(Usage.credits_used), 0),
            func.coalesce(func.sum(Usage.gpu_seconds), 0.0),
        )
        .outerjoin(Usage, Usage.job_id == Job.id)
        .where(
            Job.finished_at >= since,
            Job.finished_at < until,
            Job.status.in_(_ENDED),
            or_(Job.status != JobStatus.succeeded.value, Job.credits > 0),
        )
        .group_by(Job.status, Job.workflow)
    )
    by_workflow: dict[str, int] = {}
    ended = dict.fromkeys(_ENDED, 0)
    credits_charged, gpu_seconds = 0, 0.0
    for status, workflow, count, credits, seconds in jobs.all():
        ended[status] += count
        credits_charged += int(credits)
        gpu_seconds += float(seconds)
        if status == JobStatus.succeeded.value:
            by_workflow[workflow] = by_workflow.get(workflow, 0) + count

    payments = await session.execute(
        select(
            Payment.currency,
            func.count(Payment.id),
            func.coalesce(func.sum(Payment.amount_cents), 0),
            func.coalesce(func.sum(Payment.refunded_cents), 0),
        )
        .where(Payment.paid_at >= since, Payment.paid_at < until)
        .group_by(Payment.currency)
        .order_by(Payment.currency)
    )
    revenue = [
        Revenue(
            currency=currency,
            payments=count,
            gross_cents=int(gross),
            refunded_cents=int(refunded),
            net_cents=int(gross) - int(refunded),
        )
        for currency, count, gross, refunded in payments.all()
    ]

    new_accounts = await session.scalar(
        select(func.count(User.id)).where(User.created_at >= since, User.created_at < until)
    )
    subscriptions = await session.execute(
        select(Subscription.plan, func.count(Subscription.id))
        .where(Subscription.status.in_(SUBSCRIBED))
        .group_by(Subscription.plan)
    )
    plans = await session.execute(select(User.plan, func.count(User.id)).group_by(User.plan))

    gpu_hours = gpu_seconds / 3600
    gpu_cost_cents = round(gpu_hours * gpu_hour_usd * 100)
    usd = next((r.net_cents for r in revenue if r.currency.lower() == "usd"), 0)
    return AdminSummary(
        since=since,
        until=until,
        new_accounts=int(new_accounts or 0),
        generations=ended[JobStatus.succeeded.value],
        generations_by_workflow=dict(sorted(by_workflow.items())),
        failed=ended[JobStatus.failed.value],
        cancelled=ended[JobStatus.cancelled.value],
        gpu_hours=round(gpu_hours, 4),
        credits_charged=credits_charged,
        revenue=revenue,
        gpu_hour_usd=gpu_hour_usd,
        gpu_cost_cents=gpu_cost_cents,
        gpu_cost_to_revenue=round(gpu_cost_cents / usd, 4) if usd > 0 else None,
        active_subscriptions={plan: n for plan, n in sorted(subscriptions.all())},
        accounts_by_plan={plan: n for plan, n in sorted(plans.all())},
    )
