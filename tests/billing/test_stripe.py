"""Stripe, end to end: the real `stripe` library against a local fake of Stripe's API, and
webhook events signed with the library's own scheme, delivered to the app's endpoint."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from api.app import create_app
from billing import ledger
from core.db import get_database
from core.models import CreditEntry, Payment, StripeEvent, User
from tests.api.conftest import Api, Caller, _serve_asgi
from tests.billing.fake_stripe import FakeStripe, signed
from tests.conftest import Stack

SECRET = "whsec_test_secret"
WEBHOOK = "/v1/billing/stripe/webhook"


@dataclass
class Shop:
    api: Api
    stripe: FakeStripe

    async def deliver(self, event: dict[str, Any], secret: str = SECRET) -> Any:
        body, headers = signed(event, secret)
        return await self.api.client.post(WEBHOOK, content=body, headers=headers)

    async def deliver_all(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            r = await self.deliver(event)
            assert r.status_code == 200, r.text

    async def checkout(self, caller: Caller, **body: str) -> str:
        r = await self.api.client.post("/v1/billing/checkout", json=body, headers=caller.headers)
        assert r.status_code == 201, r.text
        assert r.json()["url"].startswith(self.stripe.url)
        session_id: str = r.json()["id"]
        return session_id

    async def balance(self, caller: Caller) -> int:
        async with self.db.session() as s:
            return await ledger.balance(s, caller.id)

    async def plan(self, caller: Caller) -> str:
        async with self.db.session() as s:
            user = await s.get(User, caller.id)
            assert user is not None
            return user.plan

    @property
    def db(self) -> Any:
        return get_database(self.api.settings.resolved_database_url)


@pytest.fixture
async def shop(stack: Stack, fake_stripe: FakeStripe) -> AsyncIterator[Shop]:
    pro, business = fake_stripe.create_price(2900), fake_stripe.create_price(7900)
    settings = stack.settings.model_copy(
        update={
            "stripe_secret_key": "sk_test_fake",
            "stripe_webhook_secret": SECRET,
            "stripe_api_base": fake_stripe.url,
            "stripe_price_pro": pro,
            "stripe_price_business": business,
            "public_url": "http://studio.test",
        }
    )
    async for api in _serve_asgi(create_app(settings, run_worker=False)):
        yield Shop(api, fake_stripe)


async def test_a_credit_pack_arrives_once_when_stripe_says_it_is_paid(shop: Shop) -> None:
    caller = await shop.api.register()
    start = await shop.balance(caller)
    session = await shop.checkout(caller, pack="medium")
    assert await shop.balance(caller) == start  # nothing until Stripe confirms the payment
    sent = next(p for m, path, p in shop.stripe.requests if path == "/v1/checkout/sessions")
    assert sent["mode"] == "payment" and sent["metadata[credits]"] == "600"
    assert sent["client_reference_id"] == caller.id
    events = shop.stripe.complete_checkout(session)
    await shop.deliver_all(events)
    await shop.deliver_all(events)  # Stripe delivers again: nothing more
    assert await shop.balance(caller) == start + 600
    # A second purchase reuses the person's Stripe customer.
    await shop.checkout(caller, pack="small")
    customers = [r for r in shop.stripe.requests if r[1] == "/v1/customers"]
    assert len(customers) == 1


async def test_subscribe_renew_upgrade_cancel(shop: Shop) -> None:
    caller = await shop.api.register()
    start = await shop.balance(caller)
    session = await shop.checkout(caller, plan="pro")
    await shop.deliver_all(shop.stripe.complete_checkout(session))
    assert await shop.plan(caller) == "pro"
    assert await shop.balance(caller) == start + 2000
    overview = (await shop.api.client.get("/v1/billing", headers=caller.headers)).json()
    assert overview["plan"] == "pro" and overview["subscription"]["status"] == "active"
    assert overview["enabled"] is True

    # Subscribing twice is refused: plan changes go through the portal.
    r = await shop.api.client.post(
        "/v1/billing/checkout", json={"plan": "business"}, headers=caller.headers
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_subscribed"
    r = await shop.api.client.post("/v1/billing/portal", json={}, headers=caller.headers)
    assert r.status_code == 200 and r.json()["url"]

    subscription = shop.stripe.subscription_of(session)
    await shop.deliver_all(shop.stripe.renew(subscription))
    assert await shop.balance(caller) == start + 4000

    await shop.deliver_all(
        shop.stripe.change_plan(subscription, shop.api.settings.stripe_price_business)
    )
    assert await shop.plan(caller) == "business"

    await shop.deliver_all(shop.stripe.cancel(subscription, at_period_end=True))
    overview = (await shop.api.client.get("/v1/billing", headers=caller.headers)).json()
    assert overview["plan"] == "business" and overview["subscription"]["cancel_at_period_end"]
    await shop.deliver_all(shop.stripe.cancel(subscription, at_period_end=False))
    assert await shop.plan(caller) == "free"
    # Credits already granted stay: they were paid for.
    assert await shop.balance(caller) == start + 4000


async def test_a_late_renewal_brings_the_credits_of_the_plan_it_charged_for(shop: Shop) -> None:
    caller = await shop.api.register()
    start = await shop.balance(caller)
    session = await shop.checkout(caller, plan="pro")
    await shop.deliver_all(shop.stripe.complete_checkout(session))
    subscription = shop.stripe.subscription_of(session)
    renewal = shop.stripe.renew(subscription)  # Pro's renewal: its delivery is held up...
    upgrade = shop.stripe.change_plan(subscription, shop.api.settings.stripe_price_business)
    await shop.deliver_all(upgrade)  # ...while the person upgrades to Business
    await shop.deliver_all(renewal)
    assert await shop.plan(caller) == "business"
    assert await shop.balance(caller) == start + 2000 + 2000  # two Pro months, as charged


async def test_refunds_take_back_what_was_refunded_even_before_the_purchase(shop: Shop) -> None:
    caller = await shop.api.register()
    start = await shop.balance(caller)
    session = await shop.checkout(caller, pack="large")  # 2000 credits for $45
    bought = shop.stripe.complete_checkout(session)
    intent = shop.stripe.payment_intent_of(session)
    half = shop.stripe.refund(intent, amount=2250)
    rest = shop.stripe.refund(intent)
    # The refunds arrive first, the fuller one before the partial one, then the purchase.
    await shop.deliver_all(rest + half + bought)
    assert await shop.balance(caller) == start
    async with shop.db.session() as s:
        payment = await s.scalar(select(Payment).where(Payment.payment_intent == intent))
        assert payment is not None
        assert (payment.credits, payment.refunded_cents, payment.refunded_credits) == (
            2000,
            4500,
            2000,
        )


async def test_a_bad_signature_is_refused_and_changes_nothing(shop: Shop) -> None:
    caller = await shop.api.register()
    start = await shop.balance(caller)
    events = shop.stripe.complete_checkout(await shop.checkout(caller, pack="small"))
    body, headers = signed(events[-1], SECRET)
    attempts = [
        (
            body,
            {
                **headers,
                "Stripe-Signature": signed(events[-1], "whsec_wrong")[1]["Stripe-Signature"],
            },
        ),
        (body.replace(b'"600"', b'"6000"').replace(b'"200"', b'"20000"'), headers),
        (body, {"Content-Type": "application/json"}),
        (body, signed(events[-1], SECRET, timestamp=1_000_000_000)[1]),  # long ago: a replay
    ]
    for content, hdrs in attempts:
        r = await shop.api.client.post(WEBHOOK, content=content, headers=hdrs)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "bad_signature"
    async with shop.db.session() as s:
        assert await s.get(StripeEvent, events[-1]["id"]) is None
    assert await shop.balance(caller) == start


async def test_1000_replayed_and_reordered_deliveries_grant_each_purchase_once(
    shop: Shop,
) -> None:
    rng = random.Random(8)
    callers = [await shop.api.register() for _ in range(12)]
    start = {c.id: await shop.balance(c) for c in callers}
    expected = dict(start)
    events: list[dict[str, Any]] = []
    for i, caller in enumerate(callers):
        if i % 3 == 0:  # a Pro subscription, renewed once
            session = await shop.checkout(caller, plan="pro")
            events += shop.stripe.complete_checkout(session)
            events += shop.stripe.renew(shop.stripe.subscription_of(session))
            expected[caller.id] += 4000
        pack = ("small", "medium", "large")[i % 3]
        credits = {"small": 200, "medium": 600, "large": 2000}[pack]
        session = await shop.checkout(caller, pack=pack)
        events += shop.stripe.complete_checkout(session)
        expected[caller.id] += credits
        if i % 4 == 1:  # refunded in full
            events += shop.stripe.refund(shop.stripe.payment_intent_of(session))
            expected[caller.id] -= credits
        if i % 3 == 1:  # a second pack of the same size
            session = await shop.checkout(caller, pack=pack)
            events += shop.stripe.complete_checkout(session)
            expected[caller.id] += credits
    deliveries = [events[i % len(events)] for i in range(1000)]
    rng.shuffle(deliveries)
    gate = asyncio.Semaphore(8)

    async def deliver(event: dict[str, Any]) -> int:
        async with gate:
            r = await shop.deliver(event)
            return int(r.status_code)

    statuses = await asyncio.gather(*(deliver(e) for e in deliveries))
    assert set(statuses) == {200}
    # Stripe retries what failed; here nothing did, and every event was seen at least once.
    missing = {e["id"] for e in events} - {e["id"] for e in deliveries}
    for event in events:
        if event["id"] in missing:
            assert (await shop.deliver(event)).status_code == 200
    for caller in callers:
        assert await shop.balance(caller) == expected[caller.id], caller.id
    async with shop.db.session() as s:
        ids = [c.id for c in callers]
        purchases = await s.scalar(
            select(func.count())
            .select_from(CreditEntry)
            .where(CreditEntry.kind == "purchase", CreditEntry.user_id.in_(ids))
        )
        payments = await s.scalar(
            select(func.count()).select_from(Payment).where(Payment.user_id.in_(ids))
        )
        handled = await s.scalar(
            select(func.count())
            .select_from(StripeEvent)
            .where(StripeEvent.id.in_([e["id"] for e in events]))
        )
    assert purchases == payments and handled == len({e["id"] for e in events})
    for i, caller in enumerate(callers):
        assert await shop.plan(caller) == ("pro" if i % 3 == 0 else "free")


async def test_events_of_strangers_are_acknowledged_and_ignored(shop: Shop) -> None:
    stranger = {
        "id": "evt_stranger",
        "object": "event",
        "type": "checkout.session.completed",
        "created": 1,
        "data": {"object": {"id": "cs_x", "object": "checkout.session", "customer": "cus_nobody"}},
    }
    r = await shop.deliver(stranger)
    assert r.status_code == 200 and r.json()["outcome"].startswith("ignored")
    r = await shop.deliver({**stranger, "id": "evt_other", "type": "customer.created"})
    assert r.json()["outcome"] == "ignored"


async def test_without_stripe_keys_billing_says_it_is_not_set_up(api: Api) -> None:
    caller = await api.register()
    r = await api.client.post(
        "/v1/billing/checkout", json={"pack": "small"}, headers=caller.headers
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "billing_disabled"
    r = await api.client.post(WEBHOOK, content=json.dumps({"id": "evt_1"}))
    assert r.status_code == 404 and "takes no Stripe webhooks" in r.text
    overview = (await api.client.get("/v1/billing", headers=caller.headers)).json()
    assert overview["enabled"] is False and len(overview["plans"]) == 4


async def test_bad_checkout_requests_say_what_is_wrong(shop: Shop) -> None:
    caller = await shop.api.register()
    cases = [
        ({"plan": "gold"}, 422, "no paid plan 'gold'"),
        ({"plan": "free"}, 422, "no paid plan 'free'"),
        ({"pack": "huge"}, 422, "no credit pack 'huge'"),
        ({}, 422, "either `plan` or `pack`"),
        ({"pack": "small", "success_url": "https://evil.example/"}, 422, "success_url must be"),
    ]
    for body, status, message in cases:
        r = await shop.api.client.post("/v1/billing/checkout", json=body, headers=caller.headers)
        assert r.status_code == status, r.text
        assert message in r.text
    r = await shop.api.client.post("/v1/billing/portal", json={}, headers=caller.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_billing_account"
