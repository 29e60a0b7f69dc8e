"""Helpers for the library and forms browser tests: sign a new person in, size the page like a
phone, and drop the console entries of requests a test makes fail on purpose."""

from __future__ import annotations

import json
import uuid

import httpx
from playwright.async_api import Page

from tests.api.conftest import PASSWORD
from tests.webchat.conftest import PHONE, Browsing, screenshot, size

WAIT_MS = 20_000


async def sign_in(
    browsing: Browsing, api: httpx.AsyncClient, start: str, viewport: dict[str, int]
) -> Page:
    """A new person, signed in by putting their tokens where the page keeps them, opened at
    `start`; `api` (a client on the studio) then acts as that person."""
    r = await api.post(
        "/v1/auth/register",
        json={"email": f"web-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    api.headers["Authorization"] = f"Bearer {body['access_token']}"
    stored = json.dumps({"access": body["access_token"], "refresh": body["refresh_token"]})
    # Only when absent: the page may refresh its tokens later and must keep the new ones.
    await browsing.context.add_init_script(
        script=f"""
        if (!localStorage.getItem("skyie.tokens"))
            localStorage.setItem("skyie.tokens", {json.dumps(stored)});
        if (!location.hash) history.replaceState(null, "", {json.dumps(start)});
        """
    )
    return await browsing.page(viewport)


def forget_expected(browsing: Browsing, status: int, count: int = 1) -> None:
    """A request refused on purpose logs 'Failed to load resource' in Chromium: drop exactly
    those entries, so any other console error still fails the test."""
    expected = [
        e for e in browsing.errors if f"the server responded with a status of {status}" in e
    ]
    assert len(expected) == count, browsing.errors
    for entry in expected:
        browsing.errors.remove(entry)


async def as_phone(page: Page) -> None:
    """Phone size, once the sidebar has finished sliding away (it animates on resize)."""
    await page.set_viewport_size(size(PHONE))
    await page.wait_for_function(
        "document.getElementById('sidebar').getBoundingClientRect().right <= 0"
    )


async def fits_width(page: Page) -> bool:
    """Nothing wider than the screen: no sideways scrolling on a phone."""
    return bool(
        await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    )


async def snap(page: Page, name: str) -> None:
    """A full-page screenshot from the top, so the sticky bar is where a person sees it."""
    await page.evaluate("window.scrollTo(0, 0)")
    await screenshot(page, name)
