"""The Telegram section of Plans & credits in Chromium: a studio without a bot says so; with one,
Connect makes a one-time t.me link (or, with no bot username, a /start message to copy), the chat
tied with it shows once the person is back from Telegram, and Untie asks first, then unties."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from playwright.async_api import expect

from bots.telegram import accounts
from bots.telegram.accounts import Person
from core.db import get_database
from core.settings import Settings
from tests.api.conftest import LiveServer
from tests.webchat.conftest import DESKTOP, Browsing
from tests.webchat.helpers import WAIT_MS, as_phone, fits_width, sign_in, snap

ANA = Person(telegram_id=5550001, chat_id=5550001, first_name="Ana", username="ana")
T_ME = re.compile(r"^https://t\.me/skyie_test_bot\?start=(link-[A-Za-z0-9_-]+)$")


@pytest.fixture
async def api(browsing: Browsing) -> AsyncIterator[httpx.AsyncClient]:
    """The API as the person the test signs in."""
    async with httpx.AsyncClient(base_url=browsing.base_url, timeout=30) as client:
        yield client


@pytest.fixture
def bot(studio: LiveServer) -> Iterator[Settings]:
    """The studio with a Telegram bot configured (never reached: nothing here calls Telegram)."""
    settings: Settings = studio.app.state.settings
    before = (settings.telegram_bot_token, settings.telegram_bot_username)
    settings.telegram_bot_token = "123456:TEST"
    settings.telegram_bot_username = "skyie_test_bot"
    yield settings
    settings.telegram_bot_token, settings.telegram_bot_username = before


async def test_a_studio_without_a_bot_says_so_in_one_line(
    browsing: Browsing, api: httpx.AsyncClient
) -> None:
    page = await sign_in(browsing, api, "#/billing", DESKTOP)
    await expect(page.get_by_role("heading", name="Plans & credits")).to_be_visible()
    section = page.get_by_role("region", name="Telegram")
    await expect(section).to_contain_text("This studio has no Telegram bot.")
    await expect(section.get_by_role("button")).to_have_count(0)
    await expect(section.locator(".error-box")).to_be_hidden()


async def test_a_link_ties_a_chat_that_shows_on_return_and_can_be_untied(
    browsing: Browsing, api: httpx.AsyncClient, bot: Settings
) -> None:
    page = await sign_in(browsing, api, "#/billing", DESKTOP)
    section = page.get_by_role("region", name="Telegram")
    await expect(section).to_contain_text("@skyie_test_bot")
    await expect(section).to_contain_text("No Telegram chat is tied")

    await section.get_by_role("button", name="Connect Telegram").click()
    telegram = section.get_by_role("link", name="Open Telegram")
    await expect(telegram).to_have_attribute("href", T_ME)
    await expect(telegram).to_have_attribute("target", "_blank")
    await expect(telegram).to_have_attribute("rel", "noopener")
    await expect(section.locator(".expiry")).to_contain_text("works once, for 30 minutes")
    await expect(section.get_by_role("button", name="Make a new link")).to_be_visible()
    href = await telegram.get_attribute("href")
    match = T_ME.match(href or "")
    assert match, href

    # The person taps Start in Telegram: the bot redeems the token, as /start does.
    async with get_database().session() as session:
        await accounts.link(session, bot, ANA, match.group(1))
    # Back in this tab, the chat shows without a reload and the used link is gone.
    await page.evaluate("window.dispatchEvent(new Event('focus'))")
    chats = section.get_by_role("list", name="Tied chats").get_by_role("listitem")
    await expect(chats).to_have_count(1, timeout=WAIT_MS)
    await expect(chats).to_contain_text("Ana")
    await expect(chats).to_contain_text("@ana")
    await expect(telegram).to_have_count(0)
    await expect(page.locator(".toast").filter(has_text="Telegram chat tied")).to_be_visible()
    await snap(page, "telegram-desktop")
    await as_phone(page)
    assert await fits_width(page)
    await snap(page, "telegram-phone")

    # Untie asks first: Cancel keeps the chat, Untie removes it here and in the API.
    untie = section.get_by_role("button", name="Untie Ana")
    await untie.click()
    dialog = page.get_by_role("dialog", name="Untie Ana?")
    await expect(dialog).to_contain_text("Videos and credits made from it stay here.")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_have_count(0)
    await expect(chats).to_have_count(1)
    await untie.click()
    await page.get_by_role("dialog", name="Untie Ana?").get_by_role("button", name="Untie").click()
    await expect(section).to_contain_text("No Telegram chat is tied", timeout=WAIT_MS)
    await expect(chats).to_have_count(0)
    assert (await api.get("/v1/telegram")).json()["chats"] == []


async def test_without_a_bot_username_the_start_message_is_copied(
    browsing: Browsing, api: httpx.AsyncClient, bot: Settings
) -> None:
    bot.telegram_bot_username = ""
    await browsing.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=browsing.base_url
    )
    page = await sign_in(browsing, api, "#/billing", DESKTOP)
    section = page.get_by_role("region", name="Telegram")
    await expect(section).to_contain_text("the studio's bot")
    await section.get_by_role("button", name="Connect Telegram").click()
    message = section.get_by_role("textbox", name="Message for the bot")
    await expect(message).to_have_value(re.compile(r"^/start link-[A-Za-z0-9_-]+$"))
    await expect(section).to_contain_text("Send this message to the studio's Telegram bot")
    await expect(section.get_by_role("link", name="Open Telegram")).to_have_count(0)

    await section.get_by_role("button", name="Copy").click()
    await expect(page.locator(".toast").filter(has_text="Copied")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == await message.input_value()
    await as_phone(page)
    assert await fits_width(page)
    await snap(page, "telegram-copy-phone")
