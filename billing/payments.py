"""Stripe: the SDK configured from settings, and the pages people pay on: Checkout for a plan
(a subscription) or a credit pack (one payment), and the customer portal. What Stripe then
says happened arrives as webhook events (billing.stripe_events)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import stripe
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billing.grants import SUBSCRIBED
from billing.plans import (
    CreditPack,
    PlanSpec,
    credit_pack,
    paid_plan,
    plan_spec,
    price_id,
)
from core.errors import Conflict, InvalidInput, NotFound, Unavailable
from core.logging import get_logger
from core.models import Subscription, User
from core.settings import Settings

log = get_logger("billing.stripe")


class Gateway:
    """The Stripe SDK, configured from settings, used with its async methods."""

    def __init__(self, settings: Settings) -> None:
        if not settings.stripe_secret_key:
            raise NotFound(
                "this studio sells no plans or credits: payments are not set up "
                "(SKYIE_STRIPE_SECRET_KEY is empty)",
                code="billing_disabled",
            )
        self._http = stripe.HTTPXClient(timeout=30)
        base = settings.stripe_api_base.rstrip("/")
        self.client = stripe.StripeClient(
            settings.stripe_secret_key,
            base_addresses={"api": base} if base else None,
            http_client=self._http,
            max_network_retries=2,
        )

    async def close(self) -> None:
        await self._http.close_async()

    async def __aenter__(self) -> Gateway:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def provider_error(exc: stripe.StripeError) -> Unavailable:
    message = getattr(exc, "user_message", None) or str(exc) or type(exc).__name__
    return Unavailable(f"Stripe refused the request: {message}", code="payment_provider_error")


# ---------------------------------------------------------------- checkout and the portal


@dataclass(frozen=True)
class Link:
    id: str
    url: str


def _same_site(url: str, settings: Settings, what: str) -> str:
    """A URL Stripe sends the person back to must be this studio's: no open redirects."""
    home = urlsplit(settings.public_url)
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc) != (home.scheme, home.netloc):
        raise InvalidInput(
            f"{what} must be on this studio ({home.scheme}://{home.netloc}), not {url!r}"
        )
    return url


async def _customer(session: AsyncSession, gateway: Gateway, user: User) -> str:
    """The person's Stripe customer, made on first use. Events find the person by it."""
    if user.stripe_customer_id:
        return user.stripe_customer_id
    params: dict[str, Any] = {"name": user.name, "metadata": {"user_id": user.id}}
    if not user.email.endswith(".invalid"):
        # An account made in a chat has no address yet: Checkout asks for one.
        params["email"] = user.email
    # Two checkouts racing make one customer: Stripe answers the same request twice. The key
    # names the parameters too, so a changed name is a new request, not a refused one.
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    try:
        customer = await gateway.client.v1.customers.create_async(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": f"skyie-customer-{user.id}-{digest}"},
        )
    except stripe.StripeError as exc:
        raise provider_error(exc) from None
    user.stripe_customer_id = customer.id
    await session.flush()
    return customer.id


# A subscription waiting for its first payment (3-D Secure, a retried card) is not active,
# but a second checkout now would end in two subscriptions billed every month.
PENDING = ("incomplete",)


async def active_subscription(
    session: AsyncSession, user_id: str, also: tuple[str, ...] = ()
) -> Subscription | None:
    return await session.scalar(
        select(Subscription)
        .where(Subscription.user_id == user_id, Subscription.status.in_(SUBSCRIBED + also))
        .order_by(Subscription.updated_at.desc())
        .limit(1)
    )


async def checkout(
    session: AsyncSession,
    settings: Settings,
    user: User,
    *,
    plan: str | None = None,
    pack: str | None = None,
    success_url: str | None = None,
    cancel_url: str | None = None,
) -> Link:
    """A Stripe Checkout page for a plan (a subscription) or a credit pack (one payment)."""
    if (plan is None) == (pack is None):
        raise InvalidInput("choose either a plan or a credit pack")
    base = settings.public_url.rstrip("/")
    success = _same_site(success_url or f"{base}/?billing=success", settings, "success_url")
    cancel = _same_site(cancel_url or f"{base}/?billing=cancelled", settings, "cancel_url")
    chosen_plan = paid_plan(plan) if plan is not None else None
    chosen_pack = credit_pack(pack) if pack is not None else None
    if chosen_plan is not None:
        current = await active_subscription(session, user.id, PENDING)
        if current is not None:
            raise Conflict(
                f"this account already subscribes to {plan_spec(current.plan).title}; change "
                "plans in the billing portal",
                code="already_subscribed",
            )
    async with Gateway(settings) as gateway:
        customer = await _customer(session, gateway, user)
        params: dict[str, Any] = {
            "customer": customer,
            "client_reference_id": user.id,
            "success_url": success,
            "cancel_url": cancel,
        }
        if chosen_plan is not None:
            params |= _plan_params(chosen_plan, user, settings)
        else:
            assert chosen_pack is not None
            params |= _pack_params(chosen_pack, user)
        try:
            made = await gateway.client.v1.checkout.sessions.create_async(params=params)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise provider_error(exc) from None
    if not made.url:
        raise Unavailable(
            "Stripe made a checkout session without a page", code="payment_provider_error"
        )
    log.info("billing.checkout", user_id=user.id, plan=plan, pack=pack, session=made.id)
    return Link(id=made.id, url=made.url)


def _plan_params(spec: PlanSpec, user: User, settings: Settings) -> dict[str, Any]:
    metadata = {"user_id": user.id, "kind": "subscription", "plan": spec.name}
    configured = price_id(spec.name, settings)
    item: dict[str, Any] = {"quantity": 1}
    if configured:
        item["price"] = configured
    else:
        item["price_data"] = {
            "currency": "usd",
            "unit_amount": spec.price_cents,
            "recurring": {"interval": "month"},
            "product_data": {
                "name": f"Skyie Studio {spec.title}",
                "metadata": {"plan": spec.name},
            },
        }
    return {
        "mode": "subscription",
        "line_items": [item],
        "metadata": metadata,
        "subscription_data": {"metadata": metadata},
    }


def _pack_params(pack: CreditPack, user: User) -> dict[str, Any]:
    metadata = {
        "user_id": user.id,
        "kind": "pack",
        "pack": pack.name,
        "credits": str(pack.credits),
    }
    return {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": "usd",
                    "unit_amount": pack.price_cents,
                    "product_data": {"name": f"Skyie Studio: {pack.credits} credits"},
                },
            }
        ],
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
    }


async def portal(
    session: AsyncSession, settings: Settings, user: User, *, return_url: str | None = None
) -> Link:
    """Stripe's customer portal: change or cancel the plan, cards, invoices."""
    if not user.stripe_customer_id:
        raise NotFound(
            "this account has no billing history yet: choose a plan or a credit pack first",
            code="no_billing_account",
        )
    back = _same_site(return_url or settings.public_url, settings, "return_url")
    params: dict[str, Any] = {"customer": user.stripe_customer_id, "return_url": back}
    if settings.stripe_portal_configuration:
        params["configuration"] = settings.stripe_portal_configuration
    async with Gateway(settings) as gateway:
        try:
            made = await gateway.client.v1.billing_portal.sessions.create_async(params=params)  # type: ignore[arg-type]
        except stripe.StripeError as exc:
            raise provider_error(exc) from None
    return Link(id=made.id, url=made.url)
