"""Billing routes: the plans and packs on sale, Stripe Checkout and the customer portal, and
the endpoint Stripe's webhooks are sent to (signed; no session)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from api.billing.schemas import (
    BillingOut,
    CheckoutIn,
    LinkOut,
    PackOut,
    PlanOut,
    PortalIn,
    SubscriptionOut,
    WebhookAck,
)
from api.deps import AppSettings, CurrentUser, Session
from api.errors import ERRORS, ErrorResponse
from billing import ledger, payments, stripe_events
from billing.plans import PACKS, PLANS
from core.errors import NotFound
from core.models import Subscription, User

router = APIRouter(tags=["billing"], responses=ERRORS)

RESOLUTION = {720: "720p", 1080: "1080p", 2160: "4k"}
# A webhook body is a single event: a few kB; anything far larger is not Stripe's.
MAX_EVENT_BYTES = 1 << 20


async def _user(session: Session, user_id: str) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("account not found")
    return user


@router.get("/billing")
async def billing_overview(
    session: Session, caller: CurrentUser, settings: AppSettings
) -> BillingOut:
    """The caller's plan, credits and subscription, and what is on sale."""
    user = await _user(session, caller.user_id)
    subscription = await session.scalar(
        select(Subscription)
        .where(Subscription.user_id == user.id)
        .order_by(Subscription.updated_at.desc())
        .limit(1)
    )
    return BillingOut(
        enabled=bool(settings.stripe_secret_key),
        plan=user.plan,
        credits=await ledger.balance(session, user.id),
        subscription=None
        if subscription is None
        else SubscriptionOut(
            plan=subscription.plan,
            status=subscription.status,
            current_period_end=subscription.current_period_end,
            cancel_at_period_end=subscription.cancel_at_period_end,
        ),
        plans=[
            PlanOut(
                name=p.name,
                title=p.title,
                price_cents=p.price_cents,
                monthly_credits=p.monthly_credits,
                max_resolution=RESOLUTION[p.max_short_side],
                watermark=p.watermark,
                priority=p.priority,
                api_access=p.api_access,
            )
            for p in PLANS.values()
        ],
        packs=[
            PackOut(name=p.name, credits=p.credits, price_cents=p.price_cents)
            for p in PACKS.values()
        ],
    )


@router.post(
    "/billing/checkout",
    status_code=201,
    responses={409: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
)
async def create_checkout(
    body: CheckoutIn, session: Session, caller: CurrentUser, settings: AppSettings
) -> LinkOut:
    """A Stripe Checkout page: subscribe to a plan, or buy a credit pack. The credits arrive
    when Stripe confirms the payment (its webhook), not when this returns."""
    user = await _user(session, caller.user_id)
    link = await payments.checkout(
        session,
        settings,
        user,
        plan=body.plan,
        pack=body.pack,
        success_url=body.success_url,
        cancel_url=body.cancel_url,
    )
    return LinkOut(id=link.id, url=link.url)


@router.post("/billing/portal", responses={503: {"model": ErrorResponse}})
async def create_portal(
    body: PortalIn, session: Session, caller: CurrentUser, settings: AppSettings
) -> LinkOut:
    """Stripe's customer portal: upgrade, downgrade or cancel the plan; cards and invoices."""
    user = await _user(session, caller.user_id)
    link = await payments.portal(session, settings, user, return_url=body.return_url)
    return LinkOut(id=link.id, url=link.url)


@router.post(
    "/billing/stripe/webhook",
    responses={400: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
)
async def stripe_webhook(request: Request, session: Session, settings: AppSettings) -> WebhookAck:
    """Where Stripe sends its events. Verified by the `Stripe-Signature` header; each event is
    applied once, whatever the order and however often it comes."""
    body = await request.body()
    if len(body) > MAX_EVENT_BYTES:
        raise stripe_events.BadSignature("the body is too large to be a Stripe event")
    event = stripe_events.verify(body, request.headers.get("stripe-signature"), settings)
    return WebhookAck(outcome=await stripe_events.handle_event(session, settings, event))
