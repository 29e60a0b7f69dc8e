"""Plans & credits in Chromium: the plans and packs with their prices and the current plan
marked; a self-hosted studio (no Stripe key) says it sells nothing; with Stripe set up, a plan
goes to Stripe's checkout page and the person comes back to a toast. Stripe cannot be reached
from the tests, so the checkout request is answered in the browser with the page Stripe would
give; a pack bought with Stripe unreachable shows the API's refusal in the view."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from playwright.async_api import Route, expect

from tests.api.conftest import LiveServer
from tests.webchat.conftest import DESKTOP, Browsing
from tests.webchat.helpers import WAIT_MS, as_phone, fits_width, forget_expected, sign_in, snap

PLANS = [("Free", "$0"), ("Starter", "$12"), ("Pro", "$29"), ("Business", "$79")]
PACKS = [("200 credits", "$6"), ("600 credits", "$15"), ("2,000 credits", "$45")]


@pytest.fixture
async def api(browsing: Browsing) -> AsyncIterator[httpx.AsyncClient]:
    """The API as the person the test signs in."""
    async with httpx.AsyncClient(base_url=browsing.base_url, timeout=30) as client:
        yield client


@pytest.fixture
def stripe_unreachable(studio: LiveServer) -> Iterator[None]:
    """The studio configured for Stripe, with Stripe's address a port that refuses connections
    (bound, never listening): nothing leaves the machine."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        settings = studio.app.state.settings
        studio.app.state.settings = settings.model_copy(
            update={
                "stripe_secret_key": "sk_test_webchat",
                "stripe_api_base": f"http://127.0.0.1:{port}",
            }
        )
        yield
        studio.app.state.settings = settings


async def test_plans_and_packs_are_listed_and_a_self_hosted_studio_sells_nothing(
    browsing: Browsing, api: httpx.AsyncClient
) -> None:
    page = await sign_in(browsing, api, "#/chat", DESKTOP)
    # The top bar's balance and plan lead here.
    await page.locator("#account-status a.account").click()
    await expect(page.get_by_role("heading", name="Plans & credits")).to_be_visible()
    await expect(page.locator('.sidebar a[data-view="billing"]')).to_have_attribute(
        "aria-current", "page"
    )

    plans = page.locator(".plan-card")
    await expect(plans).to_have_count(len(PLANS))
    for card, (title, price) in zip(await plans.all(), PLANS, strict=True):
        await expect(card.get_by_role("heading")).to_contain_text(title)
        await expect(card.locator(".price")).to_have_text(f"{price} / month")
    current = page.locator('.plan-card[aria-current="true"]')
    await expect(current).to_have_count(1)
    await expect(current).to_contain_text("Free")
    await expect(current).to_contain_text("Current plan")
    await expect(current).to_contain_text("50 credits a month")
    packs = page.locator(".pack-card")
    await expect(packs).to_have_count(len(PACKS))
    for card, (credits, price) in zip(await packs.all(), PACKS, strict=True):
        await expect(card.get_by_role("heading")).to_have_text(credits)
        await expect(card.locator(".price")).to_have_text(price)
    balance = (await api.get("/v1/me")).json()["credits"]
    await expect(page.locator(".billing-summary")).to_contain_text(f"{balance} credits")
    # Where the credits came from and went: the sign-up grant, and no jobs yet.
    history = page.get_by_role("region", name="Credit history")
    await expect(history.locator("tbody tr")).to_have_count(1)
    await expect(history.locator("tbody tr")).to_contain_text(f"+{balance}")
    await expect(page.get_by_text("No jobs yet")).to_be_visible()

    # No Stripe key: the view says so and nothing can be bought.
    await expect(page.locator(".billing-off")).to_contain_text("does not sell plans")
    await expect(page.get_by_role("button", name="Choose Pro")).to_be_disabled()
    await expect(page.get_by_role("button", name="Buy 200 credits")).to_be_disabled()
    await expect(page.get_by_role("button", name="Manage billing")).to_be_hidden()

    await snap(page, "billing-desktop")
    await page.locator("#theme-toggle").click()
    await snap(page, "billing-desktop-dark")
    await page.locator("#theme-toggle").click()
    await as_phone(page)
    assert await fits_width(page)
    await snap(page, "billing-phone")


async def test_a_plan_goes_to_stripe_checkout_and_comes_back_to_a_toast(
    browsing: Browsing, api: httpx.AsyncClient, stripe_unreachable: None
) -> None:
    page = await sign_in(browsing, api, "#/billing", DESKTOP)
    await expect(page.get_by_role("heading", name="Plans & credits")).to_be_visible()
    await expect(page.locator(".billing-off")).to_have_count(0)

    # Stripe unreachable: the API's own refusal shows in the view, which stays as it was.
    buy = page.get_by_role("button", name="Buy 200 credits")
    await buy.click()
    await expect(page.locator(".billing > .error-box")).to_contain_text("Stripe", timeout=WAIT_MS)
    forget_expected(browsing, 503)
    await expect(buy).to_be_enabled()

    # Stripe's answer, as the API passes it on: a page to send the browser to. It is the
    # studio's own success address, where Stripe sends the person once they have paid.
    sent: list[object] = []

    async def checkout(route: Route) -> None:
        sent.append(json.loads(route.request.post_data or "null"))
        await route.fulfill(
            status=201,
            json={"id": "cs_test_webchat", "url": f"{browsing.base_url}/?billing=success"},
        )

    await page.route("**/v1/billing/checkout", checkout)
    await page.get_by_role("button", name="Choose Pro").click()
    toast = page.locator(".toast").filter(has_text="Payment received")
    await expect(toast).to_be_visible(timeout=WAIT_MS)
    assert sent == [{"plan": "pro"}]
    # The query is gone (a reload does not say it again) and the view is Plans & credits.
    await expect(page).to_have_url(re.compile(r"^[^?]+#/billing$"))
    await expect(page.get_by_role("heading", name="Plans & credits")).to_be_visible()
