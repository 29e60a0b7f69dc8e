"""Usage routes: the caller's per-job usage and credit ledger, and the operator's summary."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from api.deps import AppSettings, CurrentUser, Session
from api.errors import ERRORS, ErrorResponse
from api.pagination import Cursor, Limit, Page, decode_cursor, encode_cursor
from api.usage.schemas import (
    AdjustmentIn,
    AdjustmentOut,
    AdminSummaryOut,
    JobUsageOut,
    LedgerEntryOut,
)
from billing import ledger, reports
from core.errors import Forbidden, NotFound
from core.models import User
from core.settings import Settings

router = APIRouter(tags=["usage"], responses=ERRORS)

Moment = Annotated[
    datetime | None,
    Query(description="ISO 8601 date and time, e.g. 2025-01-31T00:00:00Z; UTC without an offset."),
]


def _key(cursor: str | None) -> reports.Key | None:
    return decode_cursor(cursor) if cursor is not None else None


def _cursor(key: reports.Key | None) -> str | None:
    return encode_cursor(*key) if key is not None else None


@router.get("/usage")
async def usage(
    session: Session, user: CurrentUser, limit: Limit = 20, cursor: Cursor = None
) -> Page[JobUsageOut]:
    """Each of the caller's jobs, newest first: credits held or charged and GPU time."""
    page = await reports.usage_history(session, user.user_id, limit=limit, before=_key(cursor))
    items = [JobUsageOut.model_validate(row) for row in page.rows]
    return Page[JobUsageOut](items=items, next_cursor=_cursor(page.next_key))


@router.get("/credits/history")
async def credit_history(
    session: Session, user: CurrentUser, limit: Limit = 20, cursor: Cursor = None
) -> Page[LedgerEntryOut]:
    """The caller's credit ledger, newest first, with the balance after each entry."""
    page = await reports.credit_history(session, user.user_id, limit=limit, before=_key(cursor))
    items = [LedgerEntryOut.model_validate(row) for row in page.rows]
    return Page[LedgerEntryOut](items=items, next_cursor=_cursor(page.next_key))


def _is_admin(user: User, settings: Settings) -> bool:
    """The operators named in settings, and the embedded studio's own user. That one has no
    password: an account someone registers with the same email is not it."""
    email = user.email.lower()
    local = email == settings.local_user_email.lower() and user.password_hash is None
    return email in settings.admins or local


async def _require_admin(session: Session, user_id: str, settings: Settings) -> None:
    account = await session.get(User, user_id)
    if account is None:
        raise NotFound(f"user {user_id} not found")
    if not _is_admin(account, settings):
        raise Forbidden("this is for the studio's operators (SKYIE_ADMIN_EMAILS)")


@router.get("/admin/summary", tags=["admin"], responses={403: {"model": ErrorResponse}})
async def admin_summary(
    session: Session,
    user: CurrentUser,
    settings: AppSettings,
    since: Moment = None,
    until: Moment = None,
) -> AdminSummaryOut:
    """Generations, failures, GPU hours, revenue net of refunds and GPU cost against it, in
    [since, until) (by default the last 30 days, at most 366); subscriptions and accounts by
    plan as they stand now. For the accounts in SKYIE_ADMIN_EMAILS and the local user."""
    await _require_admin(session, user.user_id, settings)
    start, end = reports.summary_window(since, until)
    summary = await reports.admin_summary(
        session, since=start, until=end, gpu_hour_usd=settings.gpu_hour_usd
    )
    return AdminSummaryOut.model_validate(summary)


@router.post(
    "/admin/adjustments",
    status_code=201,
    tags=["admin"],
    responses={402: {"model": ErrorResponse}, 403: {"model": ErrorResponse}},
)
async def adjust_credits(
    body: AdjustmentIn, session: Session, user: CurrentUser, settings: AppSettings
) -> AdjustmentOut:
    """An operator's correction to an account's credits, either way, with the reason kept in
    the ledger. Taking credits away never takes the balance below zero."""
    await _require_admin(session, user.user_id, settings)
    target = await session.scalar(select(User).where(User.email == body.email.strip().lower()))
    if target is None:
        raise NotFound(f"no account with the email {body.email!r}")
    entry = await ledger.adjust(session, target.id, body.amount, note=body.note.strip())
    assert entry is not None
    return AdjustmentOut(
        id=entry.id,
        user_id=target.id,
        amount=entry.amount,
        note=entry.note,
        balance=await ledger.balance(session, target.id),
    )
