"""Webhook routes: register an endpoint (its signing secret shown once), list, delete, and
see each delivery's attempts. Deliveries are made by the job worker (jobs.webhooks)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import func, select

from api.deps import AppSettings, CurrentUser, Session
from api.errors import ERRORS, ErrorResponse
from api.pagination import Cursor, Limit, Page, paginate
from api.webhooks.schemas import DeliveryOut, WebhookCreated, WebhookIn, WebhookOut
from billing import ledger
from core.errors import Conflict, InvalidInput, NotFound
from core.models import Webhook, WebhookDelivery
from jobs.outbound import PrivateDestination, check_destination
from jobs.webhooks import new_secret

router = APIRouter(tags=["webhooks"], responses=ERRORS)

MAX_WEBHOOKS = 10
WebhookId = Annotated[str, Path(max_length=40, description="A webhook id.")]


def _out(hook: Webhook) -> WebhookOut:
    return WebhookOut(
        id=hook.id, url=hook.url, secret_hint=hook.secret[:10] + "…", created_at=hook.created_at
    )


async def _owned(session: Session, user_id: str, webhook_id: str) -> Webhook:
    hook = await session.get(Webhook, webhook_id)
    if hook is None or hook.user_id != user_id:
        raise NotFound(f"webhook {webhook_id} not found")  # another user's looks like none
    return hook


@router.post("/webhooks", status_code=201, responses={409: {"model": ErrorResponse}})
async def create_webhook(
    body: WebhookIn, session: Session, user: CurrentUser, settings: AppSettings
) -> WebhookCreated:
    """Be told when your jobs finish: each job's end is POSTed to `url`, signed with the
    returned `secret` (Skyie-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">)."""
    await ledger.lock_user(session, user.user_id)  # two creations racing must not both pass
    count = await session.scalar(
        select(func.count()).select_from(Webhook).where(Webhook.user_id == user.user_id)
    )
    if (count or 0) >= MAX_WEBHOOKS:
        raise Conflict(
            f"at most {MAX_WEBHOOKS} webhooks; delete one first", code="too_many_webhooks"
        )
    try:
        await asyncio.to_thread(
            check_destination, body.url, allow_private=settings.webhook_allow_private
        )
    except PrivateDestination as exc:
        raise InvalidInput(str(exc), code="private_destination") from None
    hook = Webhook(user_id=user.user_id, url=body.url, secret=new_secret())
    session.add(hook)
    await session.flush()
    return WebhookCreated(**_out(hook).model_dump(), secret=hook.secret)


@router.get("/webhooks")
async def list_webhooks(
    session: Session, user: CurrentUser, limit: Limit = 20, cursor: Cursor = None
) -> Page[WebhookOut]:
    stmt = select(Webhook).where(Webhook.user_id == user.user_id)
    rows, next_cursor = await paginate(session, stmt, Webhook, limit, cursor)
    return Page[WebhookOut](items=[_out(h) for h in rows], next_cursor=next_cursor)


@router.delete("/webhooks/{webhook_id}", status_code=204)
async def delete_webhook(webhook_id: WebhookId, session: Session, user: CurrentUser) -> Response:
    """Stop sending to it; its pending deliveries are dropped with it."""
    hook = await _owned(session, user.user_id, webhook_id)
    await session.delete(hook)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries")
async def list_deliveries(
    webhook_id: WebhookId,
    session: Session,
    user: CurrentUser,
    limit: Limit = 20,
    cursor: Cursor = None,
    status: Annotated[
        str | None, Query(pattern="^(pending|delivered|failed)$", description="Only these.")
    ] = None,
) -> Page[DeliveryOut]:
    """Each event sent to this webhook, newest first, with its attempts and last answer."""
    await _owned(session, user.user_id, webhook_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    rows, next_cursor = await paginate(session, stmt, WebhookDelivery, limit, cursor)
    items = [DeliveryOut.model_validate(d, from_attributes=True) for d in rows]
    return Page[DeliveryOut](items=items, next_cursor=next_cursor)
