"""Stripe's webhook events: verified, then applied exactly once.

Webhook events arrive at least once and in any order. Three rules make every purchase land
exactly once whatever happens:

- An event id is recorded in the same transaction as its effects: a redelivery finds it and
  changes nothing (a concurrent one waits on the row and then finds it).
- Credits for money name the payment in the ledger (`payment:<id>`), and a payment is one
  row per paid Stripe object however many events speak of it: a pack's checkout and a
  subscription's invoice each grant once, even when both their events come.
- State is read from Stripe, not from the event: a subscription event only says "look
  again", so an old `updated` arriving after a newer one cannot roll the plan back. Refunds
  carry the cumulative amount refunded, so they are applied as "refunded so far", never
  added up; a refund that comes before its purchase is kept on the payment's row and taken
  when the purchase arrives.

Everything about one person happens under their ledger lock (`ledger.lock_user`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import stripe
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from billing import ledger
from billing.payments import Gateway, active_subscription, provider_error
from billing.plans import PLANS, plan_for_price, plan_spec
from core.errors import Conflict, InvalidInput, NotFound
from core.logging import get_logger
from core.models import EntryKind, Payment, Plan, StripeEvent, Subscription, User, utcnow
from core.settings import Settings

log = get_logger("billing.stripe")

Obj = dict[str, Any]

# Invoices that start or renew a subscription carry a whole month of the plan's credits;
# a mid-period upgrade's prorated invoice carries credits in proportion to what was paid.
FULL_PERIOD_INVOICES = ("subscription_create", "subscription_cycle")


class BadSignature(InvalidInput):
    status_code = 400
    code = "bad_signature"


def verify(payload: bytes, signature: str | None, settings: Settings) -> Obj:
    """The event in `payload` if Stripe signed it with this endpoint's secret, recently."""
    if not settings.stripe_webhook_secret:
        raise NotFound(
            "this studio takes no Stripe webhooks (SKYIE_STRIPE_WEBHOOK_SECRET is empty)",
            code="billing_disabled",
        )
    try:
        # With a tolerance the signed timestamp must be recent: an old delivery captured
        # and sent again is refused (the event id would also refuse its effects).
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"),
            signature,
            settings.stripe_webhook_secret,
            tolerance=stripe.Webhook.DEFAULT_TOLERANCE,
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise BadSignature(f"the Stripe signature does not match this body: {exc}") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise BadSignature("the body is not a Stripe event")
    return event


async def handle_event(session: AsyncSession, settings: Settings, event: Obj) -> str:
    """Apply one verified event in the caller's transaction; returns what happened. Raises
    when Stripe should deliver it again later (the transaction then rolls back)."""
    try:
        async with session.begin_nested():
            session.add(StripeEvent(id=event["id"], type=str(event.get("type", ""))))
            await session.flush()
    except IntegrityError:
        return "duplicate"
    handler = HANDLERS.get(str(event.get("type")))
    if handler is None:
        return "ignored"
    obj = event.get("data", {}).get("object", {})
    async with _Lazy(settings) as gateway:
        outcome = await handler(session, settings, gateway, obj)
    log.info("billing.event", event_id=event["id"], type=event.get("type"), outcome=outcome)
    return outcome


class _Lazy:
    """A Gateway made only if a handler needs to ask Stripe something."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._gateway: Gateway | None = None

    def get(self) -> Gateway:
        if self._gateway is None:
            self._gateway = Gateway(self._settings)
        return self._gateway

    async def __aenter__(self) -> _Lazy:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._gateway is not None:
            await self._gateway.close()


async def _user_for(session: AsyncSession, obj: Obj) -> User | None:
    """Whose object this is: by Stripe customer (made by us), else the ids we put on it."""
    customer = obj.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    if isinstance(customer, str):
        user = await session.scalar(select(User).where(User.stripe_customer_id == customer))
        if user is not None:
            return user
    metadata = obj.get("metadata") or {}
    for user_id in (obj.get("client_reference_id"), metadata.get("user_id")):
        if isinstance(user_id, str) and (user := await session.get(User, user_id)) is not None:
            if isinstance(customer, str) and not user.stripe_customer_id:
                user.stripe_customer_id = customer
            return user
    return None


async def _locked_user(session: AsyncSession, obj: Obj) -> User | None:
    user = await _user_for(session, obj)
    if user is not None:
        await ledger.lock_user(session, user.id)
    return user


def _ts(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if isinstance(value, int) else None


async def _checkout_completed(
    session: AsyncSession, settings: Settings, gateway: _Lazy, obj: Obj
) -> str:
    user = await _locked_user(session, obj)
    if user is None:
        return "ignored: not a customer of this studio"
    if obj.get("mode") == "subscription":
        subscription = obj.get("subscription")
        if isinstance(subscription, dict):
            subscription = subscription.get("id")
        if not isinstance(subscription, str):
            return "ignored: no subscription on the session"
        return await _sync_subscription(session, settings, gateway, user, subscription)
    if obj.get("payment_status") != "paid":
        return "waiting: the payment has not cleared"  # async methods: a later event pays
    metadata = obj.get("metadata") or {}
    if metadata.get("kind") != "pack":
        return "ignored: not a credit pack"
    try:
        credits = int(metadata["credits"])
    except (KeyError, ValueError):
        return "ignored: the session does not say how many credits"
    intent = obj.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    ref = intent if isinstance(intent, str) else str(obj["id"])
    payment = await _payment(session, ref, intent if isinstance(intent, str) else None)
    _paid(payment, user, "pack", str(metadata.get("pack", "")), credits, obj, "amount_total")
    return await _credit(session, payment, f"{credits} credits bought")


def _paid(
    payment: Payment, user: User, kind: str, product: str, credits: int, obj: Obj, amount: str
) -> None:
    payment.user_id = user.id
    payment.kind, payment.product, payment.credits = kind, product, credits
    payment.amount_cents = int(obj.get(amount) or 0)
    payment.currency = str(obj.get("currency") or "usd")
    payment.paid_at = payment.paid_at or utcnow()


async def _payment(session: AsyncSession, stripe_ref: str, intent: str | None) -> Payment:
    """The row of one paid Stripe object, found by its id or its payment intent, or made."""
    keys = [Payment.stripe_ref == stripe_ref]
    if intent:
        keys.append(Payment.payment_intent == intent)
    found = (
        await session.scalars(
            select(Payment).where(or_(*keys)).execution_options(populate_existing=True)
        )
    ).all()
    if found:
        payment = found[0]
        if len(found) > 1:
            # A refund came first and made a row by intent; the purchase made none yet.
            raise Conflict(f"two payment rows for {stripe_ref} / {intent}")
        if payment.stripe_ref != stripe_ref and payment.stripe_ref == intent:
            payment.stripe_ref = stripe_ref  # the purchase names its row
        payment.payment_intent = payment.payment_intent or intent
        return payment
    payment = Payment(stripe_ref=stripe_ref, payment_intent=intent)
    session.add(payment)
    await session.flush()
    return payment


async def _credit(session: AsyncSession, payment: Payment, note: str) -> str:
    """Grant a paid payment's credits (once), then take any refund that came before it."""
    assert payment.user_id is not None and payment.credits is not None
    granted = None
    if payment.credits > 0:
        granted = await ledger.grant(
            session,
            payment.user_id,
            payment.credits,
            kind=EntryKind.purchase,
            note=note,
            ref=f"payment:{payment.id}",
            payment_id=payment.id,
        )
    await _take_refunds(session, payment)
    return f"granted {payment.credits} credits" if granted else "already granted"


async def _take_refunds(session: AsyncSession, payment: Payment) -> None:
    """Take back the credits of what has been refunded so far, less what was taken before."""
    if payment.user_id is None or payment.credits is None or payment.amount_cents <= 0:
        return
    refunded = min(payment.refunded_cents, payment.amount_cents)
    owed = payment.credits * refunded // payment.amount_cents
    if owed > payment.refunded_credits:
        await ledger.refund(
            session,
            payment.user_id,
            owed - payment.refunded_credits,
            ref=f"refund:{payment.id}:{owed}",
            payment_id=payment.id,
            note=f"refund of {refunded / 100:.2f} {payment.currency.upper()}",
        )
        payment.refunded_credits = owed


async def _invoice_paid(session: AsyncSession, settings: Settings, gateway: _Lazy, obj: Obj) -> str:
    user = await _locked_user(session, obj)
    if user is None:
        return "ignored: not a customer of this studio"
    subscription = _invoice_subscription(obj)
    if subscription is None:
        return "ignored: not a subscription invoice"
    await _sync_subscription(session, settings, gateway, user, subscription)
    row = await session.get(Subscription, subscription, populate_existing=True)
    # The invoice's own price decides: a renewal delivered late, after an upgrade, still
    # brings the credits of the plan it charged for. Inline prices cannot be switched in the
    # portal, so for those the subscription's plan is the invoice's.
    plan = plan_for_price(_invoice_price(obj) or "", settings) or (row.plan if row else None)
    if plan is None or plan not in PLANS:
        return "ignored: the subscription sells no plan of this studio"
    spec = plan_spec(plan)
    paid = int(obj.get("amount_paid") or 0)
    if obj.get("billing_reason") in FULL_PERIOD_INVOICES:
        credits = spec.monthly_credits
    else:
        credits = spec.monthly_credits * paid // spec.price_cents if spec.price_cents else 0
    intent = await _invoice_intent(gateway, obj)
    payment = await _payment(session, str(obj["id"]), intent)
    _paid(payment, user, "subscription", spec.name, credits, obj, "amount_paid")
    return await _credit(session, payment, f"{spec.title} plan credits")


def _invoice_price(obj: Obj) -> str | None:
    """The price of the invoice's first subscription line (the plan it charged for)."""
    for line in (obj.get("lines") or {}).get("data") or []:
        details = (line.get("pricing") or {}).get("price_details") or {}
        price = details.get("price") or (line.get("price") or {}).get("id")  # newer, older
        if isinstance(price, dict):
            price = price.get("id")
        if isinstance(price, str):
            return price
    return None


def _invoice_subscription(obj: Obj) -> str | None:
    details = ((obj.get("parent") or {}).get("subscription_details") or {}).get("subscription")
    subscription = details or obj.get("subscription")  # before API version 2025-03-31
    if isinstance(subscription, dict):
        subscription = subscription.get("id")
    return subscription if isinstance(subscription, str) else None


async def _invoice_intent(gateway: _Lazy, obj: Obj) -> str | None:
    """The payment intent that paid an invoice: on the invoice in older API versions, in its
    payments list in newer ones (not included in events, so asked for)."""
    direct = obj.get("payment_intent")
    if isinstance(direct, str):
        return direct
    payments = (obj.get("payments") or {}).get("data")
    if payments is None:
        try:
            listed = await gateway.get().client.v1.invoice_payments.list_async(
                params={"invoice": str(obj["id"])}
            )
        except stripe.StripeError as exc:
            raise provider_error(exc) from None
        payments = [p.to_dict() for p in listed.data]
    # The paid attempt first: an invoice may also list failed or canceled ones.
    for item in sorted(payments, key=lambda p: p.get("status") != "paid"):
        intent = (item.get("payment") or {}).get("payment_intent")
        if isinstance(intent, dict):
            intent = intent.get("id")
        if isinstance(intent, str):
            return intent
    return None  # paid without a card payment (credit balance, 100% off): nothing to refund


async def _subscription_changed(
    session: AsyncSession, settings: Settings, gateway: _Lazy, obj: Obj
) -> str:
    user = await _locked_user(session, obj)
    if user is None:
        return "ignored: not a customer of this studio"
    return await _sync_subscription(session, settings, gateway, user, str(obj["id"]))


async def _sync_subscription(
    session: AsyncSession, settings: Settings, gateway: _Lazy, user: User, subscription_id: str
) -> str:
    """Read the subscription as it is now and put the person on the plan it sells. Runs
    under the person's lock, so of two events handled at once the later reads later."""
    try:
        current = await gateway.get().client.v1.subscriptions.retrieve_async(subscription_id)
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404:
            return "ignored: Stripe has no such subscription"
        raise provider_error(exc) from None
    except stripe.StripeError as exc:
        raise provider_error(exc) from None
    data = current.to_dict()
    plan = _plan_of(data, settings)
    if plan is None:
        return "ignored: the subscription sells no plan of this studio"
    items = (data.get("items") or {}).get("data") or [{}]
    row = await session.get(Subscription, subscription_id, populate_existing=True)
    if row is None:
        row = Subscription(id=subscription_id, user_id=user.id)
        session.add(row)
    row.plan, row.status = plan, str(data.get("status"))
    row.current_period_end = _ts(items[0].get("current_period_end"))
    row.cancel_at_period_end = bool(data.get("cancel_at_period_end"))
    row.updated_at = utcnow()
    await session.flush()
    active = await active_subscription(session, user.id)
    was, user.plan = user.plan, active.plan if active is not None else Plan.free.value
    if was != user.plan:
        log.info("billing.plan_changed", user_id=user.id, was=was, now=user.plan)
    return f"plan {user.plan} (subscription {row.status})"


def _plan_of(subscription: Obj, settings: Settings) -> str | None:
    """The plan a subscription sells: the operator's price ids first, then what our checkout
    wrote on an inline price, then the subscription's own metadata."""
    items = (subscription.get("items") or {}).get("data") or []
    price = (items[0].get("price") or {}) if items else {}
    for candidate in (
        plan_for_price(str(price.get("id") or ""), settings),
        (price.get("metadata") or {}).get("plan"),
        (subscription.get("metadata") or {}).get("plan"),
    ):
        if candidate in PLANS and plan_spec(str(candidate)).price_cents:
            return str(candidate)
    return None


async def _charge_refunded(
    session: AsyncSession, settings: Settings, gateway: _Lazy, obj: Obj
) -> str:
    intent = obj.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    if not isinstance(intent, str):
        return "ignored: the charge has no payment intent"
    user = await _locked_user(session, obj)
    if user is None:
        return "ignored: not a customer of this studio"
    payment = await _payment(session, intent, intent)
    if payment.user_id is None:
        payment.user_id = user.id
        payment.amount_cents = int(obj.get("amount") or 0)
        payment.currency = str(obj.get("currency") or "usd")
    payment.refunded_cents = max(payment.refunded_cents, int(obj.get("amount_refunded") or 0))
    before = payment.refunded_credits
    await _take_refunds(session, payment)
    if payment.credits is None:
        # Normal when events cross; if it stays so, the purchase never reached this studio.
        log.warning("billing.refund_before_purchase", payment_intent=intent, user_id=user.id)
        return "kept: the refund waits for its purchase"
    return f"took back {payment.refunded_credits - before} credits"


HANDLERS = {
    "checkout.session.completed": _checkout_completed,
    "checkout.session.async_payment_succeeded": _checkout_completed,
    "invoice.paid": _invoice_paid,
    "customer.subscription.created": _subscription_changed,
    "customer.subscription.updated": _subscription_changed,
    "customer.subscription.deleted": _subscription_changed,
    "charge.refunded": _charge_refunded,
}
