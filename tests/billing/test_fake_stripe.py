"""The fake Stripe, driven by the real `stripe` library the way the app drives Stripe."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
import stripe
from stripe.params.checkout import SessionCreateParams, SessionCreateParamsLineItem

from tests.billing.fake_stripe import FakeStripe, fake_stripe, signed  # noqa: F401

MONTH = 30 * 86_400
INLINE = {"currency": "usd", "unit_amount": 500, "product_data": {"name": "Pack"}}
RECURRING = {**INLINE, "recurring": {"interval": "month"}}


def checkout(**changes: Any) -> SessionCreateParams:
    """A valid one-time purchase with `changes` applied; the library drops a None."""
    params = {
        "mode": "payment",
        "success_url": "https://studio.test/ok",
        "cancel_url": "https://studio.test/back",
        "line_items": [{"price_data": INLINE, "quantity": 1}],
        **changes,
    }
    return cast(SessionCreateParams, params)


def connect(fake: FakeStripe, http: stripe.HTTPXClient, key: str) -> stripe.StripeClient:
    """The client exactly as the app builds it."""
    return stripe.StripeClient(
        key, base_addresses={"api": fake.url}, http_client=http, max_network_retries=0
    )


@pytest.fixture
def fake(fake_stripe: FakeStripe) -> FakeStripe:  # noqa: F811
    return fake_stripe


@pytest.fixture
async def client(fake: FakeStripe) -> AsyncIterator[stripe.StripeClient]:
    http = stripe.HTTPXClient()
    yield connect(fake, http, fake.secret_key)
    await http.close_async()


async def subscribe(
    fake: FakeStripe, client: stripe.StripeClient, line_item: SessionCreateParamsLineItem
) -> list[dict[str, Any]]:
    session = await client.v1.checkout.sessions.create_async(
        params=checkout(
            mode="subscription",
            client_reference_id="user_1",
            line_items=[line_item],
            subscription_data={"metadata": {"user_id": "user_1"}},
        )
    )
    return fake.complete_checkout(session.id)


async def test_customers(fake: FakeStripe, client: stripe.StripeClient) -> None:
    customer = await client.v1.customers.create_async(
        params={"email": "a@example.com", "name": "Ada", "metadata": {"user_id": "u1"}}
    )
    assert customer.id.startswith("cus_") and customer.object == "customer"
    assert (customer.email, customer.name) == ("a@example.com", "Ada")
    assert customer.metadata is not None and customer.metadata.to_dict() == {"user_id": "u1"}
    assert fake.requests == [
        (
            "POST",
            "/v1/customers",
            {"email": "a@example.com", "name": "Ada", "metadata[user_id]": "u1"},
        )
    ]


async def test_idempotency_keys_replay(fake: FakeStripe, client: stripe.StripeClient) -> None:
    once: stripe.RequestOptions = {"idempotency_key": "customer-of-u1"}
    first = await client.v1.customers.create_async(params={"email": "a@example.com"}, options=once)
    again = await client.v1.customers.create_async(params={"email": "a@example.com"}, options=once)
    assert again.id == first.id
    with pytest.raises(stripe.IdempotencyError):
        await client.v1.customers.create_async(params={"email": "b@example.com"}, options=once)
    other = await client.v1.customers.create_async(params={"email": "a@example.com"})
    assert other.id != first.id


async def test_wrong_key_is_refused(fake: FakeStripe) -> None:
    http = stripe.HTTPXClient()
    with pytest.raises(stripe.AuthenticationError):
        await connect(fake, http, "sk_test_other").v1.customers.create_async()
    await http.close_async()


async def test_payment_checkout_and_refunds(fake: FakeStripe, client: stripe.StripeClient) -> None:
    customer = await client.v1.customers.create_async(params={"email": "b@example.com"})
    session = await client.v1.checkout.sessions.create_async(
        params=checkout(
            customer=customer.id,
            client_reference_id="user_2",
            line_items=[
                {
                    "quantity": 2,
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 500,
                        "product_data": {"name": "500 credits", "metadata": {"pack": "small"}},
                    },
                }
            ],
            metadata={"pack": "small"},
            payment_intent_data={"metadata": {"pack": "small", "user_id": "user_2"}},
        )
    )
    assert session.id.startswith("cs_test_")
    assert session.url == f"{fake.url}/pay/{session.id}"
    assert (session.status, session.payment_status, session.amount_total) == (
        "open",
        "unpaid",
        1000,
    )
    sent = fake.requests[-1][2]
    assert sent["line_items[0][price_data][product_data][metadata][pack]"] == "small"
    assert sent["payment_intent_data[metadata][user_id]"] == "user_2"

    [completed] = fake.complete_checkout(session.id)
    assert completed["type"] == "checkout.session.completed"
    assert completed["object"] == "event" and completed["api_version"] == "2026-10-28.endive"
    paid = completed["data"]["object"]
    assert (paid["status"], paid["payment_status"], paid["mode"]) == ("complete", "paid", "payment")
    assert paid["customer"] == customer.id and paid["client_reference_id"] == "user_2"
    assert paid["payment_intent"] == fake.payment_intent_of(session.id)
    assert (paid["amount_total"], paid["currency"]) == (1000, "usd")
    assert paid["metadata"] == {"pack": "small"}
    with pytest.raises(ValueError, match="already complete"):
        fake.complete_checkout(session.id)

    [partial] = fake.refund(paid["payment_intent"], 300)
    [rest] = fake.refund(paid["payment_intent"])
    assert partial["type"] == rest["type"] == "charge.refunded"
    assert partial["data"]["object"]["amount_refunded"] == 300
    assert partial["data"]["object"]["refunded"] is False
    charge = rest["data"]["object"]
    assert (charge["object"], charge["amount_refunded"], charge["refunded"]) == (
        "charge",
        1000,
        True,
    )
    assert rest["data"]["previous_attributes"]["amount_refunded"] == 300
    assert charge["payment_intent"] == paid["payment_intent"] and charge["customer"] == customer.id
    assert charge["metadata"] == {"pack": "small", "user_id": "user_2"}
    with pytest.raises(ValueError, match="0 is left"):
        fake.refund(paid["payment_intent"])
    times = [event["created"] for event in fake.events]
    assert times == sorted(set(times))


async def test_subscription_checkout_with_an_inline_price(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    events = await subscribe(
        fake,
        client,
        {
            "quantity": 1,
            "price_data": {
                "currency": "usd",
                "unit_amount": 1900,
                "recurring": {"interval": "month"},
                "product_data": {"name": "Pro", "metadata": {"plan": "pro"}},
            },
        },
    )
    assert [e["type"] for e in events] == [
        "customer.subscription.created",
        "checkout.session.completed",
        "invoice.paid",
    ]
    created, completed, paid = (e["data"]["object"] for e in events)
    assert completed["subscription"] == created["id"] and completed["customer"].startswith("cus_")
    assert completed["payment_intent"] is None and completed["invoice"] == paid["id"]
    assert created["metadata"] == {"user_id": "user_1"} and created["status"] == "active"

    subscription = (await client.v1.subscriptions.retrieve_async(created["id"])).to_dict()
    assert subscription == created
    [item] = subscription["items"]["data"]
    assert item["object"] == "subscription_item" and item["price"]["object"] == "price"
    assert item["price"]["metadata"] == {"plan": "pro"} and item["price"]["lookup_key"] is None
    assert item["current_period_end"] - item["current_period_start"] == MONTH

    assert "payment_intent" not in paid and "subscription" not in paid and "payments" not in paid
    assert (paid["billing_reason"], paid["amount_paid"], paid["status"]) == (
        "subscription_create",
        1900,
        "paid",
    )
    assert paid["parent"] == {
        "type": "subscription_details",
        "subscription_details": {"subscription": created["id"], "metadata": {"user_id": "user_1"}},
    }
    [line] = paid["lines"]["data"]
    assert line["pricing"]["price_details"] == {
        "price": item["price"]["id"],
        "product": item["price"]["product"],
    }
    assert line["period"] == {
        "start": item["current_period_start"],
        "end": item["current_period_end"],
    }

    payments = await client.v1.invoice_payments.list_async(params={"invoice": paid["id"]})
    [payment] = payments.data
    assert payment.object == "invoice_payment" and payment.amount_paid == 1900
    assert payment.payment.payment_intent == fake.payment_intent_of(paid["id"])
    assert fake.payment_intent_of(completed["id"]) == payment.payment.payment_intent
    assert fake.requests[-1] == ("GET", "/v1/invoice_payments", {"invoice": paid["id"]})


async def test_subscription_life_with_a_price_id(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    basic = fake.create_price(900, metadata={"plan": "basic"})
    pro = fake.create_price(1900, metadata={"plan": "pro"})
    events = await subscribe(fake, client, {"price": basic, "quantity": 1})
    sub_id = events[0]["data"]["object"]["id"]
    assert events[2]["data"]["object"]["amount_paid"] == 900

    [changed] = fake.change_plan(sub_id, pro)
    assert changed["type"] == "customer.subscription.updated"
    old_items = changed["data"]["previous_attributes"]["items"]["data"]
    assert old_items[0]["price"]["id"] == basic
    subscription = await client.v1.subscriptions.retrieve_async(sub_id)
    [item] = subscription["items"].data
    assert (item.price.id, item.price.metadata.to_dict()) == (pro, {"plan": "pro"})
    first_end = item.current_period_end

    renewed = fake.renew(sub_id)
    assert [e["type"] for e in renewed] == ["customer.subscription.updated", "invoice.paid"]
    invoice = renewed[1]["data"]["object"]
    assert (invoice["billing_reason"], invoice["amount_paid"]) == ("subscription_cycle", 1900)
    assert (invoice["period_start"], invoice["period_end"]) == (first_end, first_end + MONTH)
    assert renewed[0]["created"] > first_end
    subscription = await client.v1.subscriptions.retrieve_async(sub_id)
    assert subscription["items"].data[0].current_period_end == first_end + MONTH

    [scheduled] = fake.cancel(sub_id, at_period_end=True)
    assert scheduled["data"]["previous_attributes"]["cancel_at_period_end"] is False
    subscription = await client.v1.subscriptions.retrieve_async(sub_id)
    assert (subscription.status, subscription.cancel_at_period_end) == ("active", True)

    [ended] = fake.renew(sub_id)  # the period ends: the pending cancellation takes effect
    assert ended["type"] == "customer.subscription.deleted"
    subscription = await client.v1.subscriptions.retrieve_async(sub_id)
    assert subscription.status == "canceled" and subscription.ended_at == first_end + MONTH


async def test_immediate_cancel(fake: FakeStripe, client: stripe.StripeClient) -> None:
    events = await subscribe(fake, client, {"price": fake.create_price(900), "quantity": 1})
    sub_id = events[0]["data"]["object"]["id"]
    fake.advance(3600)
    [deleted] = fake.cancel(sub_id, at_period_end=False)
    assert deleted["type"] == "customer.subscription.deleted"
    assert deleted["data"]["object"]["status"] == "canceled"
    subscription = await client.v1.subscriptions.retrieve_async(sub_id)
    assert subscription.status == "canceled" and subscription.ended_at == fake.now - 1
    with pytest.raises(ValueError, match="is canceled"):
        fake.renew(sub_id)


async def test_portal_session(fake: FakeStripe, client: stripe.StripeClient) -> None:
    customer = await client.v1.customers.create_async()
    portal = await client.v1.billing_portal.sessions.create_async(
        params={"customer": customer.id, "return_url": "https://studio.test/billing"}
    )
    assert portal.id.startswith("bps_") and portal.object == "billing_portal.session"
    assert portal.url.startswith(fake.url) and portal.customer == customer.id
    assert portal.return_url == "https://studio.test/billing"
    with pytest.raises(stripe.InvalidRequestError, match="No such customer") as error:
        await client.v1.billing_portal.sessions.create_async(params={"customer": "cus_nope"})
    assert error.value.param == "customer"


@pytest.mark.parametrize(
    ("changes", "param", "message"),
    [
        ({"mode": None}, "mode", "Missing required param"),
        ({"mode": "setup"}, "mode", "Invalid mode"),
        ({"success_url": None}, "success_url", "Missing required param"),
        ({"cancel_url": None}, "cancel_url", "Missing required param"),
        ({"line_items": None}, "line_items", "Missing required param"),
        ({"line_items": [{"price_data": INLINE}]}, "line_items[0][quantity]", "Missing required"),
        ({"line_items": [{"quantity": 1}]}, "line_items[0][price]", "`price` or a `price_data`"),
        (
            {"line_items": [{"price": "price_nope", "quantity": 1}]},
            "line_items[0][price]",
            "No such price",
        ),
        (
            {"line_items": [{"price_data": {**INLINE, "currency": None}, "quantity": 1}]},
            "line_items[0][price_data][currency]",
            "Missing required param",
        ),
        (
            {"line_items": [{"price_data": {**INLINE, "unit_amount": "ten"}, "quantity": 1}]},
            "line_items[0][price_data][unit_amount]",
            "Invalid integer",
        ),
        (
            {"line_items": [{"price_data": RECURRING, "quantity": 1}]},
            "line_items",
            "one-time prices",
        ),
        ({"mode": "subscription"}, "line_items", "recurring price"),
        (
            {"subscription_data": {"metadata": {"a": "b"}}},
            "subscription_data",
            "only be used in `subscription` mode",
        ),
        ({"customer": "cus_nope"}, "customer", "No such customer"),
        ({"allow_promotion_codes": True}, "allow_promotion_codes", "unknown parameter"),
    ],
)
async def test_bad_checkout_requests(
    fake: FakeStripe,
    client: stripe.StripeClient,
    changes: dict[str, Any],
    param: str,
    message: str,
) -> None:
    with pytest.raises(stripe.InvalidRequestError, match=message) as error:
        await client.v1.checkout.sessions.create_async(params=checkout(**changes))
    assert error.value.param == param and error.value.http_status == 400
    assert fake.requests[-1][:2] == ("POST", "/v1/checkout/sessions")  # refused ones are kept too


async def test_unknown_objects(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError, match="No such subscription") as error:
        await client.v1.subscriptions.retrieve_async("sub_nope")
    assert error.value.http_status == 404 and error.value.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError, match="No such invoice") as error:
        await client.v1.invoice_payments.list_async(params={"invoice": "in_nope"})
    assert error.value.param == "invoice"
    with pytest.raises(stripe.InvalidRequestError, match="Unrecognized request URL"):
        await client.v1.prices.retrieve_async("price_any")  # not an endpoint the app calls


async def test_signed_events_verify_with_the_library(
    fake: FakeStripe, client: stripe.StripeClient
) -> None:
    session = await client.v1.checkout.sessions.create_async(params=checkout())
    [event] = fake.complete_checkout(session.id)
    body, headers = signed(event, "whsec_test")
    assert headers["Content-Type"] == "application/json"
    verified = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], "whsec_test")
    assert verified.id == event["id"] and verified.type == "checkout.session.completed"
    assert verified.data.object["id"] == session.id
    tampered = body.replace(b'"amount_total": 500', b'"amount_total": 5')
    assert tampered != body
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, headers["Stripe-Signature"], "whsec_test")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, headers["Stripe-Signature"], "whsec_other")
    _, stale = signed(event, "whsec_test", timestamp=int(time.time()) - 600)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(body, stale["Stripe-Signature"], "whsec_test")
