"""The page around the views in Chromium: dark mode, the phone menu by keyboard, signing in and
out, a forgotten password, and what a new person sees on the dashboard."""

from __future__ import annotations

import asyncio
import re

from playwright.async_api import expect

from tests.api.conftest import LiveServer
from tests.webchat.conftest import DESKTOP, PASSWORD, PHONE, Browsing, register, screenshot


async def test_dark_mode_is_remembered(browsing: Browsing) -> None:
    page = await browsing.page(DESKTOP)
    html = page.locator("html")
    toggle = page.get_by_role("button", name="Dark mode")
    await expect(html).to_have_attribute("data-theme", "light")
    await toggle.click()
    await expect(html).to_have_attribute("data-theme", "dark")
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    await page.reload()
    await expect(html).to_have_attribute("data-theme", "dark")
    await register(page)
    await screenshot(page, "chat-empty-dark-desktop")
    await toggle.click()
    await page.reload()
    await expect(html).to_have_attribute("data-theme", "light")


async def test_the_phone_menu_opens_and_navigates_by_keyboard(browsing: Browsing) -> None:
    page = await browsing.page(PHONE)
    await register(page)
    menu = page.get_by_role("button", name="Menu")
    dashboard = page.get_by_role("link", name="Dashboard", exact=True)
    await expect(menu).to_have_attribute("aria-expanded", "false")
    await expect(dashboard).not_to_be_visible()

    await menu.focus()
    await page.keyboard.press("Enter")
    await expect(menu).to_have_attribute("aria-expanded", "true")
    await expect(page.get_by_role("link", name="Chat", exact=True)).to_be_focused()
    await screenshot(page, "menu-open-phone")
    await page.keyboard.press("Escape")
    await expect(menu).to_have_attribute("aria-expanded", "false")
    await expect(menu).to_be_focused()

    await page.keyboard.press("Enter")
    await page.keyboard.press("Tab")
    await expect(dashboard).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"#/dashboard$"))
    await expect(menu).to_have_attribute("aria-expanded", "false")
    await expect(page.get_by_role("heading", name="No videos yet")).to_be_visible()
    await expect(page.locator("#view")).to_be_focused()
    await expect(page.locator('.sidebar a[data-view="dashboard"]')).to_have_attribute(
        "aria-current", "page"
    )


async def test_a_new_person_sees_the_empty_dashboard(browsing: Browsing) -> None:
    page = await browsing.page(PHONE)
    await register(page)
    await page.goto(browsing.base_url + "/#/dashboard")
    await expect(page.get_by_role("heading", name="No videos yet")).to_be_visible()
    await screenshot(page, "dashboard-empty-phone")
    await page.get_by_role("link", name="Make your first video").click()
    await expect(page.get_by_role("heading", name="What video shall we make?")).to_be_visible()


async def test_logging_out_returns_to_the_login_and_logging_in_again_works(
    browsing: Browsing,
) -> None:
    page = await browsing.page(DESKTOP)
    email = await register(page)
    await expect(page.locator("#plan")).to_have_text(re.compile(r"\w+"))
    await expect(page.locator("#gpu-badge")).to_have_attribute("data-state", "online")
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("tab", name="Log in")).to_have_attribute("aria-selected", "true")
    await page.reload()
    await expect(page.get_by_role("button", name="Log in")).to_be_visible()
    await expect(page.locator("#account-status")).to_be_hidden()

    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_contain_text("password")
    browsing.expect_failed_request(401)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Chat", exact=True)).to_be_visible()


async def test_a_forgotten_password_is_reset_from_the_emailed_link(
    browsing: Browsing, studio: LiveServer
) -> None:
    page = await browsing.page(PHONE)
    email = await register(page)
    # On a phone, logging out is in the menu.
    await page.get_by_role("button", name="Menu").click()
    await page.get_by_role("button", name="Log out").click()
    await page.get_by_role("tab", name="Forgot password").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_role("button", name="Send reset link").click()
    await expect(page.get_by_role("alert")).to_contain_text("reset link is on its way")

    # The mail is sent just after the answer: wait for it to reach the outbox.
    outbox = studio.app.state.mailer.outbox
    for _ in range(100):
        if outbox:
            break
        await asyncio.sleep(0.05)
    mail = outbox[-1]
    found = re.search(r"/reset-password\?token=\S+", mail.body)
    assert found, mail.body
    await page.goto(browsing.base_url + found.group())
    await page.get_by_label("New password", exact=True).fill("a brand new password")
    await page.get_by_role("button", name="Set password").click()
    await expect(page.get_by_role("status").filter(has_text="password is changed")).to_be_visible()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill("a brand new password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Chat", exact=True)).to_be_visible()
    await expect(page).to_have_url(re.compile(r"^[^?]*/#/chat$"))
