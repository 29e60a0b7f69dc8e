"""The chat view's extras in Chromium: a conversation deleted from the list (the one on screen
too, which starts a fresh chat), and an unsaved edit on the script card that a new script from
the assistant does not silently replace. No video is generated: the tests stay fast."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.webchat.conftest import DESKTOP, Browsing
from tests.webchat.helpers import WAIT_MS, forget_expected, sign_in, snap

BRIEF = "a 10-second video about tea with a friendly host"
MY_EDIT = "[TALKING] My own words about tea, written by hand."


@pytest.fixture
async def api(browsing: Browsing) -> AsyncIterator[httpx.AsyncClient]:
    """The API as the person the test signs in."""
    async with httpx.AsyncClient(base_url=browsing.base_url, timeout=30) as client:
        yield client


async def send(page: Page, text: str) -> None:
    """Say `text` in the composer and wait for the assistant's whole reply."""
    await page.get_by_label("Message", exact=True).fill(text)
    await page.keyboard.press("Enter")
    await expect(page.locator(".message.assistant[aria-busy]")).to_have_count(0, timeout=WAIT_MS)


async def conversation(api: httpx.AsyncClient, brief: str) -> str:
    """A conversation with a drafted script, started through the API (no streaming)."""
    r = await api.post("/v1/chat", json={"message": brief})
    assert r.status_code == 200, r.text
    return str(r.json()["conversation_id"])


async def listed(api: httpx.AsyncClient) -> list[str]:
    r = await api.get("/v1/conversations")
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


async def test_conversations_are_deleted_from_the_list(
    browsing: Browsing, api: httpx.AsyncClient
) -> None:
    page = await sign_in(browsing, api, "#/chat", DESKTOP)
    await expect(page.get_by_role("heading", name="Chat", exact=True)).to_be_visible()
    tea = await conversation(api, BRIEF)
    waves = await conversation(api, "a 15-second clip of waves on a beach at sunset")
    snow = "a 20-second clip of falling snow"
    gone = await conversation(api, snow)
    await page.reload()
    await page.get_by_text("Recent conversations").click()
    items = page.locator(".conversation-list li")
    await expect(items).to_have_count(3)
    await snap(page, "chat-conversations-desktop")
    dialog = page.get_by_role("dialog", name="Delete this conversation?")

    # Deleted elsewhere meanwhile: the API's refusal is shown, in its own words.
    assert (await api.delete(f"/v1/conversations/{gone}")).status_code == 204
    await page.get_by_role("button", name=f"Delete conversation {snow}").click()
    await dialog.get_by_role("button", name="Delete").click()
    await expect(page.locator(".conversations .error-box")).to_contain_text(f"{gone} not found")
    forget_expected(browsing, 404)
    await page.reload()
    await page.get_by_text("Recent conversations").click()
    await expect(items).to_have_count(2)

    # Cancelling the question deletes nothing.
    await page.get_by_role("button", name=f"Delete conversation {BRIEF}").click()
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_have_count(0)
    await expect(items).to_have_count(2)

    # Confirmed: gone from the list and from the API; the chat on screen stays as it is.
    await page.get_by_role("button", name=f"Delete conversation {BRIEF}").click()
    await dialog.get_by_role("button", name="Delete").click()
    await expect(items).to_have_count(1)
    await expect(page.locator(".conversation-list")).not_to_contain_text(BRIEF)
    assert await listed(api) == [waves]
    assert (await api.get(f"/v1/conversations/{tea}")).status_code == 404

    # Deleting the conversation on screen starts a fresh chat.
    await page.get_by_role("link", name=re.compile("waves on a beach")).click()
    await expect(page).to_have_url(re.compile(f"#/chat/{waves}$"))
    await expect(page.locator(".message.user .text").first).to_contain_text("waves")
    await page.get_by_text("Recent conversations").click()
    await page.get_by_role("button", name=re.compile("^Delete conversation a 15-second")).click()
    await dialog.get_by_role("button", name="Delete").click()
    await expect(page).to_have_url(re.compile(r"#/chat$"))
    await expect(page.get_by_role("heading", name="What video shall we make?")).to_be_visible()
    await expect(page.locator(".message")).to_have_count(0)
    await expect(page.locator(".script-card")).to_be_hidden()
    await expect(page.locator(".conversations")).to_be_hidden()
    assert await listed(api) == []


async def test_a_new_script_does_not_replace_an_unsaved_edit(
    browsing: Browsing, api: httpx.AsyncClient
) -> None:
    page = await sign_in(browsing, api, "#/chat", DESKTOP)
    await send(page, BRIEF)
    scene_1, scene_2 = page.locator("#segment-1"), page.locator("#segment-2")
    await expect(scene_2).to_have_value(re.compile(r"^\[BROLL: "))
    drafted_2 = await scene_2.input_value()
    notice = page.locator(".script-card .proposal-notice")
    await expect(notice).to_be_hidden()

    # An edit, not saved; then the assistant revises the stored draft: the edit stays.
    await scene_1.fill(MY_EDIT)
    await expect(page.locator(".validation")).to_contain_text("Valid: 2 scenes")
    await send(page, "make the second scene about a sunset")
    await expect(notice).to_have_text(re.compile("The assistant proposed a new version."))
    await expect(scene_1).to_have_value(MY_EDIT)
    await expect(scene_2).to_have_value(drafted_2)
    await snap(page, "chat-proposal-notice-desktop")

    # Keep my edit: the notice goes, the edit is still there and still unsaved.
    await notice.get_by_role("button", name="Keep my edit").click()
    await expect(notice).to_be_hidden()
    await expect(scene_1).to_have_value(MY_EDIT)
    await expect(page.get_by_role("button", name="Save edit")).to_be_enabled()
    await expect(page.get_by_role("button", name="Save edit")).to_be_focused()

    # Another revision: this time the new version is shown, with its price.
    await send(page, "make the second scene about a harbour at night")
    await expect(notice).to_be_visible()
    await expect(scene_1).to_have_value(MY_EDIT)
    await notice.get_by_role("button", name="Show new version").click()
    await expect(notice).to_be_hidden()
    await expect(scene_1).not_to_have_value(MY_EDIT)
    await expect(scene_1).to_have_value(re.compile(r"^\[TALKING\] "))
    await expect(scene_2).to_have_value(re.compile(r"^\[BROLL: [^|\]]*harbour at night"))
    await expect(page.get_by_role("button", name="Save edit")).to_be_disabled()
    await expect(page.locator(".generate")).to_be_enabled()

    # What the card shows is what the conversation holds.
    conversation_id = page.url.rsplit("/", 1)[-1]
    draft = (await api.get(f"/v1/conversations/{conversation_id}")).json()["draft"]
    assert draft["script"].splitlines()[1] == await scene_2.input_value()
