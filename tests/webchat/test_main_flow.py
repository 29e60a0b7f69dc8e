"""The web chat end to end in Chromium: register, brief, edit the script card, generate, watch
the progress to 100%, play the video, export it and download the file; and a conversation
resumed, approved in words and cancelled."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Page, expect

from tests.webchat.conftest import DESKTOP, PHONE, Browsing, register, screenshot, size

BRIEF = "a 10-second video about tea with a friendly host"
JOB_TIMEOUT_MS = 120_000

# Records each notification the page shows, and lets the test say whether the tab is hidden:
# a headless tab is never in the background on its own.
NOTIFICATIONS = """
window.__notifications = [];
const Real = window.Notification;
function Recording(title, options) {
  window.__notifications.push(title);
  return new Real(title, options);
}
Object.defineProperty(Recording, "permission", { get: () => Real.permission });
Recording.requestPermission = (...args) => Real.requestPermission(...args);
window.Notification = Recording;
Object.defineProperty(Document.prototype, "hidden", {
  configurable: true,
  get: () => window.__pretendHidden === true,
});
"""

DURATION = """video => video.readyState >= 1 ? video.duration : new Promise(resolve =>
  video.addEventListener("loadedmetadata", () => resolve(video.duration), { once: true }))"""


async def send(page: Page, text: str) -> None:
    """Say `text` in the composer and wait for the assistant's whole reply."""
    await page.get_by_label("Message", exact=True).fill(text)
    await page.keyboard.press("Enter")
    await expect(page.locator(".message.assistant[aria-busy]")).to_have_count(0)


async def balance(page: Page) -> int:
    text = await page.locator("#balance").inner_text()
    found = re.search(r"\d+", text)
    assert found, text
    return int(found.group())


async def shoot_both(page: Page, name: str) -> None:
    await screenshot(page, f"{name}-desktop")
    await page.set_viewport_size(size(PHONE))
    # Mobile first: nothing is wider than a phone's screen.
    wide = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert await page.evaluate(wide) == 0
    await screenshot(page, f"{name}-phone")
    await page.set_viewport_size(size(DESKTOP))


async def test_a_brief_becomes_a_video_and_an_export(browsing: Browsing) -> None:
    await browsing.context.add_init_script(NOTIFICATIONS)
    page = await browsing.page(DESKTOP)
    await register(page)
    start = await balance(page)

    # The reply streams into the thread; the script card and its price appear beside it.
    await send(page, BRIEF)
    reply = page.locator(".message.assistant .text").last
    await expect(reply).to_contain_text("credits")
    scene_1, scene_2 = page.locator("#segment-1"), page.locator("#segment-2")
    await expect(scene_1).to_have_value(re.compile(r"^\[TALKING\] "))
    await expect(scene_2).to_have_value(re.compile(r"^\[BROLL: "))
    await expect(page.locator(".segment .marker.talking").first).to_have_text("[TALKING]")
    await expect(page.locator(".generate")).to_be_enabled()

    # Regenerate one scene: the assistant rewrites it and prices the new script.
    card = page.locator(".script-card")
    await card.get_by_role("button", name="Regenerate").nth(1).click()
    await page.get_by_label("What should scene 2 show instead?").fill("a teapot on a wooden table")
    await page.get_by_role("button", name="Regenerate scene 2").click()
    await expect(scene_2).to_have_value(re.compile(r"^\[BROLL: a teapot on a wooden table"))
    await expect(page.locator(".segment").nth(1)).to_have_class(re.compile(r"\bchanged\b"))
    await expect(page.locator(".generate")).to_be_enabled()

    # Edit one scene on the card: a bad marker is caught as you type, then fixed.
    await scene_1.fill("[TALKIN] Hi there! Let's talk about green tea.")
    await expect(page.locator("#segment-1-errors")).to_contain_text(
        "Column 1: unknown segment marker"
    )
    await expect(scene_1).to_have_attribute("aria-invalid", "true")
    await expect(page.locator(".generate")).to_be_disabled()
    await scene_1.fill("[TALKING] Hi there! Let's talk about green tea.")
    await expect(page.locator(".validation")).to_contain_text("Valid: 2 scenes")
    await expect(scene_1).to_have_attribute("aria-invalid", "false")

    # Saving stores the draft and shows the price of exactly this text before it is spent.
    await page.get_by_role("button", name="Save edit").click()
    generate = page.locator(".generate")
    await expect(generate).to_be_enabled()
    credits = int(re.sub(r"\D", "", await page.locator(".quote-summary .credits").inner_text()))
    await expect(generate).to_have_text(f"Generate video · {credits} credits")
    await shoot_both(page, "chat-card")

    # Generate with the tab "in the background": the finished video is announced.
    await page.evaluate("window.__pretendHidden = true")
    await generate.click()
    await expect(page).to_have_url(re.compile(r"#/job/job_"))
    await expect(page.locator(".overall-label .percent")).to_have_text(
        "100%", timeout=JOB_TIMEOUT_MS
    )
    await expect(page.locator(".job-meta .badge")).to_have_text("succeeded")
    await expect(page.locator(".phases li")).not_to_have_count(0)
    assert await page.evaluate("window.__notifications") == ["Your video is ready"]
    await page.evaluate("window.__pretendHidden = false")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Hi there! Let's talk about green tea."
    )
    await expect(page.locator("#balance")).to_have_text(f"{start - credits} credits")

    # The video plays from the server: the element knows its length.
    duration = await page.locator(".player-card video").evaluate(DURATION)
    assert duration > 0
    await shoot_both(page, "job-finished")

    # Export for TikTok and download the file: an MP4.
    await page.get_by_role("button", name="Export for platforms…").click()
    dialog = page.get_by_role("dialog", name="Export for platforms")
    await dialog.get_by_label("TikTok").check()
    await dialog.get_by_role("button", name="Export", exact=True).click()
    link = dialog.get_by_role("link", name="Download TikTok")
    await expect(link).to_be_visible(timeout=JOB_TIMEOUT_MS)
    async with page.expect_download() as info:
        await link.click()
    download = await info.value
    assert download.suggested_filename.endswith("-tiktok.mp4")
    head = Path(await download.path()).read_bytes()[:12]
    assert head[4:8] == b"ftyp", head
    await dialog.get_by_role("button", name="Close").click()
    await expect(dialog).to_be_hidden()
    await expect(
        page.locator(".player-card").get_by_role("link", name="Download TikTok")
    ).to_be_visible()

    # The dashboard lists the video and its export.
    await page.get_by_role("link", name="Dashboard", exact=True).click()
    cards = page.locator(".job-card")
    await expect(cards).to_have_count(2)
    await expect(cards.locator(".badge")).to_have_text(["succeeded", "succeeded"])
    await expect(cards.locator("img")).to_have_count(2)
    # Thumbnails are cut from the video on first request: wait until both are drawn.
    await cards.locator("img").evaluate_all("images => Promise.all(images.map(i => i.decode()))")
    await screenshot(page, "dashboard-desktop")


async def test_a_conversation_resumes_and_an_approval_in_words_starts_a_job(
    browsing: Browsing,
) -> None:
    page = await browsing.page(PHONE)
    await register(page)
    await send(page, BRIEF)
    scene_1 = page.locator("#segment-1")
    await expect(scene_1).to_have_value(re.compile(r"^\[TALKING\] "))
    await scene_1.fill("[TALKING] Welcome back to tea time.")
    await page.get_by_role("button", name="Save edit").click()
    await expect(page.locator(".generate")).to_be_enabled()

    # A new chat, then the first one again from the list: its words and the edited draft.
    await page.get_by_role("link", name="New chat").click()
    await expect(page.get_by_role("heading", name="What video shall we make?")).to_be_visible()
    await page.get_by_text("Recent conversations").click()
    await page.get_by_role("link", name=re.compile(BRIEF)).click()
    await expect(page.locator(".message.user .text").first).to_have_text(BRIEF)
    await expect(page.locator(".message.assistant .tools").first).to_contain_text("Drafted")
    await expect(scene_1).to_have_value("[TALKING] Welcome back to tea time.")
    # The resumed draft has no price on screen yet: it is asked for, then shown.
    await page.get_by_role("button", name="Get the price").click()
    await expect(page.locator(".generate")).to_be_enabled()

    # Approving in words starts the job and opens its page; it can be cancelled there.
    await send(page, "Change scene 1 to say: Tea time, everyone!")
    await expect(scene_1).to_have_value("[TALKING] Tea time, everyone!")
    await send(page, "yes, generate it")
    await expect(page).to_have_url(re.compile(r"#/job/job_"))
    cancel = page.get_by_role("button", name="Cancel job")
    await cancel.click()
    await page.get_by_role("button", name="Click again to cancel").click()
    await expect(page.locator(".job-meta .badge")).to_have_text("cancelled")
    await expect(page.get_by_role("button", name="Try again")).to_be_visible()
