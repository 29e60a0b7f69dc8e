"""A local Stripe for the billing tests: the real `stripe` library talks to it over real HTTP.

Only what the app calls is implemented, and it is strict on purpose: unknown parameters, missing
required ones and unknown ids get Stripe's own 4xx errors, so a wrong call fails here the way it
would fail against Stripe. Webhooks are not sent; the simulation methods (`complete_checkout`,
`renew`, `change_plan`, `cancel`, `refund`) return Event dicts in the 2026-10-28.endive shape,
and `signed()` turns one into the body and headers Stripe would POST.

A "month" is 30 days here: calendar arithmetic would add nothing the tests look at.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
import stripe
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

API_VERSION = "2026-10-28.endive"
START = 1_767_225_600  # 2026-01-01T00:00:00Z: a fixed clock keeps periods reproducible
PERIODS = {"day": 86_400, "week": 7 * 86_400, "month": 30 * 86_400, "year": 365 * 86_400}

Params = dict[str, str]
Handler = Callable[..., dict[str, Any]]  # (params, **path ids) → the object to answer


def _allowed(*names: str) -> re.Pattern[str]:
    """Parameter names as the library sends them; `[*]` stands for one free key (metadata)."""
    alternatives = (re.escape(name).replace(r"\[\*\]", r"\[[^\[\]]+\]") for name in names)
    return re.compile("|".join(alternatives))


CUSTOMER_PARAMS = _allowed("email", "name", "metadata[*]")
NO_PARAMS = _allowed()
PORTAL_PARAMS = _allowed("customer", "return_url", "configuration")
INVOICE_PAYMENT_PARAMS = _allowed("invoice", "limit")
CHECKOUT_PARAMS = _allowed(
    "mode",
    "customer",
    "client_reference_id",
    "success_url",
    "cancel_url",
    "metadata[*]",
    "subscription_data[metadata][*]",
    "payment_intent_data[metadata][*]",
    "line_items[0][quantity]",
    "line_items[0][price]",
    "line_items[0][price_data][currency]",
    "line_items[0][price_data][unit_amount]",
    "line_items[0][price_data][product_data][name]",
    "line_items[0][price_data][product_data][metadata][*]",
    "line_items[0][price_data][recurring][interval]",
)


class StripeError(Exception):
    """An API error, answered with Stripe's status and body so the library raises its own."""

    def __init__(
        self,
        status: int,
        message: str,
        param: str | None = None,
        code: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code
        self.type = type

    def response(self) -> JSONResponse:
        error = {"type": self.type, "message": self.message, "param": self.param}
        if self.code:
            error["code"] = self.code
        return JSONResponse({"error": error}, status_code=self.status)


def _new_id(prefix: str) -> str:
    # Random, not counted: ids land in unique columns of a database shared by many tests.
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def _submap(params: Params, prefix: str) -> dict[str, str]:
    """`metadata[user_id]=u1` → {"user_id": "u1"}; an empty value unsets a key, as in Stripe."""
    start = prefix + "["
    return {
        key[len(start) : -1]: value
        for key, value in params.items()
        if key.startswith(start) and value != ""
    }


def _required(params: Params, name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise StripeError(400, f"Missing required param: {name}.", name)
    return value


def _integer(params: Params, name: str, minimum: int) -> int:
    value = _required(params, name)
    try:
        number = int(value)
    except ValueError:
        raise StripeError(400, f"Invalid integer: {value}", name) from None
    if number < minimum:
        raise StripeError(400, f"This value must be greater than or equal to {minimum}.", name)
    return number


def _find(
    table: dict[str, dict[str, Any]], id: str, kind: str, param: str, status: int = 400
) -> dict[str, Any]:
    if id not in table:
        raise StripeError(status, f"No such {kind}: '{id}'", param, "resource_missing")
    return table[id]


def _known(table: dict[str, dict[str, Any]], id: str, kind: str) -> dict[str, Any]:
    """The lookup for simulation methods: a test naming a wrong id is a bug in the test."""
    if id not in table:
        raise ValueError(f"the fake Stripe has no {kind} {id!r}")
    return table[id]


class FakeStripe:
    """Stripe's objects, a clock, and a uvicorn server answering the endpoints the app calls."""

    def __init__(self, secret_key: str = "sk_test_fake") -> None:
        self.secret_key = secret_key
        self.now = START
        self.requests: list[tuple[str, str, Params]] = []
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._customers: dict[str, dict[str, Any]] = {}
        self._prices: dict[str, dict[str, Any]] = {}
        self._sessions: dict[str, dict[str, Any]] = {}
        self._orders: dict[str, dict[str, Any]] = {}  # session id → what was bought, unseen by API
        self._subscriptions: dict[str, dict[str, Any]] = {}
        self._invoice_payments: dict[str, list[dict[str, Any]]] = {}
        self._payment_intents: dict[str, dict[str, Any]] = {}
        self._charges: dict[str, dict[str, Any]] = {}
        self._paid_by: dict[str, str] = {}  # session or invoice id → payment intent id
        self._replies: dict[str, tuple[str, Params, dict[str, Any]]] = {}  # by Idempotency-Key
        app = Starlette(
            routes=[
                self._route("POST", "/v1/customers", self._create_customer),
                self._route("POST", "/v1/checkout/sessions", self._create_checkout_session),
                self._route("POST", "/v1/billing_portal/sessions", self._create_portal_session),
                self._route("GET", "/v1/subscriptions/{id}", self._retrieve_subscription),
                self._route("GET", "/v1/invoice_payments", self._list_invoice_payments),
                self._route("*", "/{path:path}", self._unrecognized),
            ]
        )
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-stripe", daemon=True)

    # -- the server ------------------------------------------------------------------------

    def __enter__(self) -> FakeStripe:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the fake Stripe server failed to start")
            threading.Event().wait(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)

    @property
    def url(self) -> str:
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def _route(self, method: str, path: str, handler: Handler) -> Route:
        async def endpoint(request: Request) -> JSONResponse:
            if request.method == "GET":
                params = dict(request.query_params)
            else:
                params = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
            key = request.headers.get("idempotency-key")
            with self._lock:
                self.requests.append((request.method, request.url.path, params))
                try:
                    self._authenticate(request)
                    if key in self._replies:
                        return self._replay(key, request.url.path, params)
                    answer = copy.deepcopy(handler(params, **request.path_params))
                except StripeError as error:
                    return error.response()
                if key and request.method == "POST":
                    self._replies[key] = (request.url.path, params, answer)
                return JSONResponse(answer)

        methods = None if method == "*" else [method]
        return Route(path, endpoint, methods=methods)

    def _authenticate(self, request: Request) -> None:
        if request.headers.get("authorization") != f"Bearer {self.secret_key}":
            raise StripeError(401, "Invalid API Key provided: expected the fake's secret key.")
        version = request.headers.get("stripe-version", API_VERSION)
        if version != API_VERSION:
            raise StripeError(400, f"This fake speaks only {API_VERSION}, not {version}.")

    def _replay(self, key: str, path: str, params: Params) -> JSONResponse:
        """A repeated Idempotency-Key gets the first answer again, as Stripe does; the app
        relies on it so that two racing checkouts make one customer."""
        first_path, first_params, answer = self._replies[key]
        if (first_path, first_params) != (path, params):
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they "
                "were first used with.",
                type="idempotency_error",
            )
        return JSONResponse(answer, headers={"Idempotent-Replayed": "true"})

    def _unrecognized(self, params: Params, path: str) -> dict[str, Any]:
        raise StripeError(404, f"Unrecognized request URL: /{path}.")

    # -- the endpoints ---------------------------------------------------------------------

    def _create_customer(self, params: Params) -> dict[str, Any]:
        self._reject_unknown(params, CUSTOMER_PARAMS)
        return self._new_customer(
            params.get("email"), params.get("name"), _submap(params, "metadata")
        )

    def _create_checkout_session(self, params: Params) -> dict[str, Any]:
        self._reject_unknown(params, CHECKOUT_PARAMS)
        mode = _required(params, "mode")
        if mode not in ("payment", "subscription"):
            raise StripeError(
                400, f"Invalid mode: {mode!r} (this fake knows payment, subscription)", "mode"
            )
        success_url, cancel_url = _required(params, "success_url"), _required(params, "cancel_url")
        customer = params.get("customer") or None
        if customer:
            _find(self._customers, customer, "customer", "customer")
        self._check_mode_data(params, mode)
        price = self._line_item_price(params, mode)
        quantity = _integer(params, "line_items[0][quantity]", minimum=1)
        session_id = _new_id("cs_test")
        self._orders[session_id] = {
            "price": price,
            "quantity": quantity,
            "subscription_metadata": _submap(params, "subscription_data[metadata]"),
            "payment_metadata": _submap(params, "payment_intent_data[metadata]"),
        }
        session = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"{self.url}/pay/{session_id}",
            "mode": mode,
            "status": "open",
            "payment_status": "unpaid",
            "customer": customer,
            "client_reference_id": params.get("client_reference_id"),
            "metadata": _submap(params, "metadata"),
            "amount_total": price["unit_amount"] * quantity,
            "currency": price["currency"],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "payment_intent": None,
            "subscription": None,
            "invoice": None,
            "created": self.now,
            "livemode": False,
        }
        self._sessions[session_id] = session
        return session

    def _create_portal_session(self, params: Params) -> dict[str, Any]:
        self._reject_unknown(params, PORTAL_PARAMS)
        customer = _find(self._customers, _required(params, "customer"), "customer", "customer")
        session_id = _new_id("bps")
        return {
            "id": session_id,
            "object": "billing_portal.session",
            "url": f"{self.url}/portal/{session_id}",
            "customer": customer["id"],
            "return_url": params.get("return_url"),
            "configuration": params.get("configuration"),
            "created": self.now,
            "livemode": False,
        }

    def _retrieve_subscription(self, params: Params, id: str) -> dict[str, Any]:
        self._reject_unknown(params, NO_PARAMS)
        return _find(self._subscriptions, id, "subscription", "id", status=404)

    def _list_invoice_payments(self, params: Params) -> dict[str, Any]:
        self._reject_unknown(params, INVOICE_PAYMENT_PARAMS)
        invoice = _required(params, "invoice")
        if invoice not in self._invoice_payments:
            raise StripeError(400, f"No such invoice: '{invoice}'", "invoice", "resource_missing")
        payments = self._invoice_payments[invoice]
        return {
            "object": "list",
            "data": payments,
            "has_more": False,
            "url": "/v1/invoice_payments",
        }

    # -- validation ------------------------------------------------------------------------

    def _reject_unknown(self, params: Params, allowed: re.Pattern[str]) -> None:
        for name in params:
            if not allowed.fullmatch(name):
                raise StripeError(400, f"Received unknown parameter: {name}", name)

    def _check_mode_data(self, params: Params, mode: str) -> None:
        for data, wanted in (
            ("subscription_data", "subscription"),
            ("payment_intent_data", "payment"),
        ):
            if mode != wanted and any(name.startswith(data + "[") for name in params):
                raise StripeError(400, f"`{data}` can only be used in `{wanted}` mode.", data)

    def _line_item_price(self, params: Params, mode: str) -> dict[str, Any]:
        """The price a line item names, or the inline one its price_data describes."""
        price_id = params.get("line_items[0][price]")
        inline = any(name.startswith("line_items[0][price_data]") for name in params)
        if not price_id and not inline:
            if not any(name.startswith("line_items") for name in params):
                raise StripeError(400, "Missing required param: line_items.", "line_items")
            raise StripeError(
                400, "Each line item needs a `price` or a `price_data`.", "line_items[0][price]"
            )
        if price_id and inline:
            raise StripeError(
                400,
                "You may only specify one of these parameters: price, price_data.",
                "line_items[0][price]",
            )
        if price_id:
            price = _find(self._prices, price_id, "price", "line_items[0][price]")
        else:
            price = self._inline_price(params)
        recurring = price["recurring"] is not None
        if mode == "subscription" and not recurring:
            raise StripeError(400, "`subscription` mode needs a recurring price.", "line_items")
        if mode == "payment" and recurring:
            raise StripeError(400, "`payment` mode takes only one-time prices.", "line_items")
        return price

    def _inline_price(self, params: Params) -> dict[str, Any]:
        prefix = "line_items[0][price_data]"
        currency = _required(params, f"{prefix}[currency]")
        if not re.fullmatch("[a-z]{3}", currency):
            raise StripeError(400, f"Invalid currency: {currency}.", f"{prefix}[currency]")
        unit_amount = _integer(params, f"{prefix}[unit_amount]", minimum=0)
        _required(params, f"{prefix}[product_data][name]")
        interval = params.get(f"{prefix}[recurring][interval]")
        if interval is not None and interval not in PERIODS:
            raise StripeError(
                400, f"Invalid interval: {interval}.", f"{prefix}[recurring][interval]"
            )
        metadata = _submap(params, f"{prefix}[product_data][metadata]")
        return self._new_price(unit_amount, currency, interval, metadata)

    # -- objects ---------------------------------------------------------------------------

    def _new_customer(
        self, email: str | None, name: str | None, metadata: dict[str, str]
    ) -> dict[str, Any]:
        customer: dict[str, Any] = {
            "id": _new_id("cus"),
            "object": "customer",
            "email": email,
            "name": name,
            "metadata": metadata,
            "created": self.now,
            "livemode": False,
        }
        self._customers[customer["id"]] = customer
        return customer

    def _new_price(
        self, unit_amount: int, currency: str, interval: str | None, metadata: dict[str, str]
    ) -> dict[str, Any]:
        return {
            "id": _new_id("price"),
            "object": "price",
            "active": True,
            "type": "one_time" if interval is None else "recurring",
            "unit_amount": unit_amount,
            "currency": currency,
            "recurring": None if interval is None else {"interval": interval, "interval_count": 1},
            "metadata": dict(metadata),
            "lookup_key": None,
            "product": _new_id("prod"),
        }

    def _pay(
        self, amount: int, currency: str, customer: str | None, metadata: dict[str, str]
    ) -> str:
        """A succeeded payment intent with its charge; returns the payment intent's id."""
        intent_id, charge_id = _new_id("pi"), _new_id("ch")
        self._payment_intents[intent_id] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "currency": currency,
            "customer": customer,
            "metadata": dict(metadata),
            "latest_charge": charge_id,
            "status": "succeeded",
        }
        self._charges[charge_id] = {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "amount_refunded": 0,
            "currency": currency,
            "payment_intent": intent_id,
            "refunded": False,
            "customer": customer,
            "metadata": dict(metadata),
            "status": "succeeded",
            "created": self.now,
        }
        return intent_id

    def _new_subscription(
        self, customer: str, price: dict[str, Any], quantity: int, metadata: dict[str, str]
    ) -> dict[str, Any]:
        sub_id = _new_id("sub")
        item = {
            "id": _new_id("si"),
            "object": "subscription_item",
            "subscription": sub_id,
            "price": copy.deepcopy(price),
            "quantity": quantity,
            "current_period_start": self.now,
            "current_period_end": self.now + PERIODS[price["recurring"]["interval"]],
            "metadata": {},
        }
        subscription = {
            "id": sub_id,
            "object": "subscription",
            "customer": customer,
            "status": "active",
            "cancel_at_period_end": False,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "metadata": dict(metadata),
            "items": {"object": "list", "data": [item], "has_more": False},
            "latest_invoice": None,
            "created": self.now,
            "start_date": self.now,
            "livemode": False,
        }
        self._subscriptions[sub_id] = subscription
        return subscription

    def _new_invoice(self, subscription: dict[str, Any], reason: str) -> dict[str, Any]:
        """The subscription's invoice for its current period, paid at once."""
        item = subscription["items"]["data"][0]
        price = item["price"]
        amount = price["unit_amount"] * item["quantity"]
        start, end = item["current_period_start"], item["current_period_end"]
        invoice_id = _new_id("in")
        intent_id = self._pay(amount, price["currency"], subscription["customer"], {})
        self._paid_by[invoice_id] = intent_id
        self._invoice_payments[invoice_id] = [
            {
                "id": _new_id("inpay"),
                "object": "invoice_payment",
                "invoice": invoice_id,
                "status": "paid",
                "amount_paid": amount,
                "currency": price["currency"],
                "is_default": True,
                "payment": {"type": "payment_intent", "payment_intent": intent_id},
            }
        ]
        subscription["latest_invoice"] = invoice_id
        return {
            "id": invoice_id,
            "object": "invoice",
            "customer": subscription["customer"],
            "status": "paid",
            "amount_due": amount,
            "amount_paid": amount,
            "amount_remaining": 0,
            "currency": price["currency"],
            "billing_reason": reason,
            "created": self.now,
            "parent": {
                "type": "subscription_details",
                "subscription_details": {
                    "subscription": subscription["id"],
                    "metadata": dict(subscription["metadata"]),
                },
            },
            "lines": {
                "object": "list",
                "data": [
                    {
                        "id": _new_id("il"),
                        "object": "line_item",
                        "amount": amount,
                        "currency": price["currency"],
                        "quantity": item["quantity"],
                        "period": {"start": start, "end": end},
                        "pricing": {
                            "type": "price_details",
                            "price_details": {"price": price["id"], "product": price["product"]},
                        },
                    }
                ],
                "has_more": False,
            },
            "period_start": start,
            "period_end": end,
        }

    def _event(
        self, type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Record an Event holding a snapshot of `obj`; each one a second after the last."""
        self.now += 1
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = copy.deepcopy(previous)
        event = {
            "id": _new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now,
            "type": type,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": data,
        }
        self.events.append(event)
        return event

    # -- simulations, called by the tests ---------------------------------------------------

    def advance(self, seconds: int) -> None:
        with self._lock:
            self.now += seconds

    def create_price(
        self,
        unit_amount: int,
        currency: str = "usd",
        interval: str | None = "month",
        metadata: dict[str, str] | None = None,
    ) -> str:
        """A price the API accepts by id; `interval=None` makes a one-time price."""
        if interval is not None and interval not in PERIODS:
            raise ValueError(f"interval must be one of {sorted(PERIODS)} or None, not {interval!r}")
        with self._lock:
            price = self._new_price(unit_amount, currency, interval, metadata or {})
            self._prices[price["id"]] = price
            return str(price["id"])

    def payment_intent_of(self, session_or_invoice_id: str) -> str:
        with self._lock:
            if session_or_invoice_id not in self._paid_by:
                raise ValueError(f"nothing was paid for {session_or_invoice_id!r}")
            return self._paid_by[session_or_invoice_id]

    def subscription_of(self, session_id: str) -> str:
        """The subscription a completed subscription-mode checkout started."""
        with self._lock:
            session = _known(self._sessions, session_id, "checkout session")
            if not session.get("subscription"):
                raise ValueError(f"checkout session {session_id} started no subscription")
            return str(session["subscription"])

    def complete_checkout(self, session_id: str) -> list[dict[str, Any]]:
        """The customer pays on the checkout page."""
        with self._lock:
            session = _known(self._sessions, session_id, "checkout session")
            if session["status"] != "open":
                raise ValueError(f"checkout session {session_id} is already {session['status']}")
            order = self._orders[session_id]
            price = order["price"]
            session.update(status="complete", payment_status="paid")
            if session["mode"] == "payment":
                intent_id = self._pay(
                    session["amount_total"],
                    price["currency"],
                    session["customer"],
                    order["payment_metadata"],
                )
                session["payment_intent"] = intent_id
                self._paid_by[session_id] = intent_id
                return [self._event("checkout.session.completed", session)]
            if session["customer"] is None:  # subscription mode always makes a customer
                session["customer"] = self._new_customer(None, None, {})["id"]
            subscription = self._new_subscription(
                session["customer"], price, order["quantity"], order["subscription_metadata"]
            )
            invoice = self._new_invoice(subscription, "subscription_create")
            session.update(subscription=subscription["id"], invoice=invoice["id"])
            self._paid_by[session_id] = self._paid_by[invoice["id"]]
            return [
                self._event("customer.subscription.created", subscription),
                self._event("checkout.session.completed", session),
                self._event("invoice.paid", invoice),
            ]

    def renew(self, sub_id: str) -> list[dict[str, Any]]:
        """The current period ends: the clock moves to its end and the next one is billed.

        As in Stripe, the subscription moves to its new period first and the invoice is paid
        after; a subscription set to cancel at period end is deleted instead.
        """
        with self._lock:
            subscription = self._live_subscription(sub_id)
            item = subscription["items"]["data"][0]
            self.now = max(self.now, item["current_period_end"])
            if subscription["cancel_at_period_end"]:
                return [self._end(subscription)]
            previous = {
                "items": copy.deepcopy(subscription["items"]),
                "latest_invoice": subscription["latest_invoice"],
            }
            item["current_period_start"] = item["current_period_end"]
            item["current_period_end"] += PERIODS[item["price"]["recurring"]["interval"]]
            invoice = self._new_invoice(subscription, "subscription_cycle")
            return [
                self._event("customer.subscription.updated", subscription, previous),
                self._event("invoice.paid", invoice),
            ]

    def change_plan(self, sub_id: str, price_id: str) -> list[dict[str, Any]]:
        """The customer switches price in the portal; prorations are not simulated."""
        with self._lock:
            subscription = self._live_subscription(sub_id)
            price = _known(self._prices, price_id, "price")
            if price["recurring"] is None:
                raise ValueError(
                    f"price {price_id} is one-time; a subscription needs a recurring one"
                )
            previous = {"items": copy.deepcopy(subscription["items"])}
            subscription["items"]["data"][0]["price"] = copy.deepcopy(price)
            return [self._event("customer.subscription.updated", subscription, previous)]

    def cancel(self, sub_id: str, at_period_end: bool) -> list[dict[str, Any]]:
        with self._lock:
            subscription = self._live_subscription(sub_id)
            if not at_period_end:
                return [self._end(subscription)]
            if subscription["cancel_at_period_end"]:
                raise ValueError(f"subscription {sub_id} is already set to cancel at period end")
            previous = {"cancel_at_period_end": False, "cancel_at": None, "canceled_at": None}
            subscription.update(
                cancel_at_period_end=True,
                cancel_at=subscription["items"]["data"][0]["current_period_end"],
                canceled_at=self.now,
            )
            return [self._event("customer.subscription.updated", subscription, previous)]

    def refund(self, payment_intent: str, amount: int | None = None) -> list[dict[str, Any]]:
        """Refund `amount` cents of the payment (all that is left when None)."""
        with self._lock:
            intent = _known(self._payment_intents, payment_intent, "payment intent")
            charge = self._charges[intent["latest_charge"]]
            left = charge["amount"] - charge["amount_refunded"]
            amount = left if amount is None else amount
            if not 0 < amount <= left:
                raise ValueError(f"cannot refund {amount} of {payment_intent}: {left} is left")
            previous = {"amount_refunded": charge["amount_refunded"], "refunded": False}
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            return [self._event("charge.refunded", charge, previous)]

    def _live_subscription(self, sub_id: str) -> dict[str, Any]:
        subscription = _known(self._subscriptions, sub_id, "subscription")
        if subscription["status"] == "canceled":
            raise ValueError(f"subscription {sub_id} is canceled")
        return subscription

    def _end(self, subscription: dict[str, Any]) -> dict[str, Any]:
        subscription.update(status="canceled", ended_at=self.now)
        subscription["canceled_at"] = subscription["canceled_at"] or self.now
        return self._event("customer.subscription.deleted", subscription)


def signed(
    event: dict[str, Any], secret: str, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of Stripe's webhook POST for `event`, signed with `secret`.

    The timestamp defaults to the real time, not the fake's clock: the library checks it
    against `time.time()` with a five-minute tolerance.
    """
    payload = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)
    return payload.encode(), {"Stripe-Signature": header, "Content-Type": "application/json"}


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    """A fresh fake Stripe served on a free port for one test."""
    with FakeStripe() as fake:
        yield fake
