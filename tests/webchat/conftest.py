"""Browser fixtures: the studio (API + web chat + worker) on a real port, and Debian's Chromium
driven by Playwright. Every page's console errors fail the test; screenshots go to
test-output/webchat/."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)

from tests.api.conftest import LiveServer
from tests.conftest import Stack
from webchat.app import create_studio_app

CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "webchat"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def size(viewport: dict[str, int]) -> ViewportSize:
    """Playwright's typed viewport from one of the sizes above."""
    return {"width": viewport["width"], "height": viewport["height"]}


@pytest.fixture
def studio(sqlite_stack: Stack) -> Iterator[LiveServer]:
    """The whole studio on SQLite with its embedded worker: jobs run to the end."""
    with LiveServer(create_studio_app(sqlite_stack.settings, run_worker=True)) as server:
        yield server


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield launched
        await launched.close()


@dataclass
class Browsing:
    """A browser context on the studio, collecting console errors and failed requests."""

    context: BrowserContext
    base_url: str
    errors: list[str] = field(default_factory=list)

    async def page(self, viewport: dict[str, int] | None = None) -> Page:
        page = await self.context.new_page()
        if viewport:
            await page.set_viewport_size(size(viewport))

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.errors.append(f"console: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        await page.goto(self.base_url + "/")
        return page

    def expect_failed_request(self, status: int) -> None:
        """Forget the console's note of a request that was meant to fail (a wrong password's
        401): the browser logs it as an error although the page handled it."""
        note = f"status of {status}"
        self.errors[:] = [e for e in self.errors if not (e.startswith("console:") and note in e)]


PASSWORD = "correct horse battery"


async def register(page: Page, email: str | None = None) -> str:
    """Create an account through the sign-in view; returns its email once the chat shows."""
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    await page.get_by_role("tab", name="Create account").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="Chat", exact=True)).to_be_visible()
    await expect(page.locator("#balance")).to_contain_text("credits")
    return email


async def screenshot(page: Page, name: str) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    # From the top: a full-page shot of a scrolled page draws the sticky top bar mid-page.
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
async def browsing(browser: Browser, studio: LiveServer) -> AsyncIterator[Browsing]:
    # Reduced motion: no transition is caught half-way in a screenshot.
    context = await browser.new_context(
        viewport=size(DESKTOP), accept_downloads=True, base_url=studio.url, reduced_motion="reduce"
    )
    await context.grant_permissions(["notifications"], origin=studio.url)
    session = Browsing(context, studio.url)
    yield session
    await context.close()
    assert not session.errors, "\n".join(session.errors)
