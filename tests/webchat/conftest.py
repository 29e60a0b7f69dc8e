"""Browser fixtures: the studio (API + web chat + worker) on a real port, and Debian's Chromium
driven by Playwright. Every page's console errors fail the test; screenshots go to
test-output/webchat/."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

from tests.api.conftest import LiveServer
from tests.conftest import Stack
from webchat.app import create_studio_app

CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "webchat"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


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
            await page.set_viewport_size(viewport)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.errors.append(f"console: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        await page.goto(self.base_url + "/")
        return page


async def screenshot(page: Page, name: str) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
async def browsing(browser: Browser, studio: LiveServer) -> AsyncIterator[Browsing]:
    context = await browser.new_context(
        viewport=DESKTOP, accept_downloads=True, base_url=studio.url
    )
    await context.grant_permissions(["notifications"], origin=studio.url)
    session = Browsing(context, studio.url)
    yield session
    await context.close()
    assert not session.errors, "\n".join(session.errors)
