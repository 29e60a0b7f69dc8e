"""The classic forms in Chromium, each once: filled in, priced (Generate stays disabled until the
cost is shown, and again after any edit), generated, and the job checked through the API.
Screenshots of each form at phone and desktop sizes go to test-output/webchat/."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.webchat.conftest import DESKTOP, Browsing, size
from tests.webchat.helpers import WAIT_MS, as_phone, fits_width, forget_expected, sign_in, snap


@pytest.fixture
async def api(browsing: Browsing) -> AsyncIterator[httpx.AsyncClient]:
    """The API as the person the test signs in."""
    async with httpx.AsyncClient(base_url=browsing.base_url, timeout=30) as client:
        yield client


async def price(page: Page) -> int:
    """Ask for the price; Generate is enabled only once the cost is on screen."""
    generate = page.locator(".generate-button")
    await expect(generate).to_be_disabled()
    await page.get_by_role("button", name="Get price").click()
    cost = page.locator(".price-credits")
    await expect(cost).to_have_text(re.compile(r"^\d+ credits$"), timeout=WAIT_MS)
    await expect(generate).to_be_enabled()
    return int((await cost.inner_text()).split()[0])


async def generate(page: Page, api: httpx.AsyncClient, credits: int) -> dict[str, Any]:
    """Press Generate: the page goes to the new job, which the API knows at the quoted price."""
    await page.get_by_role("button", name=f"Generate for {credits} credits").click()
    await page.wait_for_url("**/#/job/*", timeout=WAIT_MS)
    job_id = page.url.rsplit("/", 1)[1]
    r = await api.get(f"/v1/jobs/{job_id}")
    assert r.status_code == 200, r.text
    job: dict[str, Any] = r.json()
    assert job["credits"] == credits
    return job


async def shots(page: Page, name: str) -> None:
    await snap(page, f"{name}-desktop")
    await as_phone(page)
    assert await fits_width(page)
    await snap(page, f"{name}-phone")
    await page.set_viewport_size(size(DESKTOP))


async def test_talking_head_form_prices_then_generates_a_video_to_the_end(
    browsing: Browsing, api: httpx.AsyncClient
) -> None:
    page = await sign_in(browsing, api, "#/forms/talking-head", DESKTOP)
    text = page.get_by_label("Script")
    await text.fill("Hello from the talking head form.")
    await expect(page.locator(".char-count")).to_have_text("33 / 800 characters")
    await expect(page.get_by_label("Avatar")).to_have_value("")  # the default host
    await page.get_by_label("Voice", exact=True).select_option("female")
    # The embedded GPU server has only the lite engine: the others are shown, not offered.
    engine = page.get_by_label("Voice engine")
    await expect(engine.locator("option[value=fish-speech]")).to_be_disabled()
    await expect(engine.locator("option[value=fish-speech]")).to_contain_text("not installed")
    await engine.select_option("espeak")
    await page.get_by_label("Language").select_option("en")
    backdrop = page.get_by_label("Background shows")
    await expect(backdrop).to_be_disabled()
    await page.get_by_label("Generated background behind the host").check()
    await backdrop.fill("a sunny kitchen with plants")
    await page.get_by_label("Format").select_option("square")
    first = await price(page)
    await expect(page.locator(".price-items")).to_contain_text("generated background")
    # An edit after the price withdraws it: what is generated is always what was priced.
    await text.press("End")
    await text.type(" Bye.")
    await expect(page.locator(".generate-button")).to_be_disabled()
    credits = await price(page)
    assert credits >= first
    await shots(page, "form-talking-head")

    job = await generate(page, api, credits)
    assert job["workflow"] == "talking_head"
    assert job["script"].strip() == "[TALKING] Hello from the talking head form. Bye."
    assert job["options"]["voice_engine"] == "espeak"
    assert job["options"]["background_prompt"] == "a sunny kitchen with plants"
    for _ in range(240):  # cheap on the lite engines: see it through to the video
        job = (await api.get(f"/v1/jobs/{job['id']}")).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            break
        await asyncio.sleep(0.5)
    assert job["status"] == "succeeded", job
    assert job["links"]["video"] and job["links"]["thumbnail"]


async def test_broll_form_scenes_can_be_added_moved_and_removed(
    browsing: Browsing, api: httpx.AsyncClient
) -> None:
    page = await sign_in(browsing, api, "#/forms/broll", DESKTOP)
    scenes = page.locator(".scene")
    await expect(scenes).to_have_count(1)
    await expect(page.get_by_role("button", name="Remove scene 1")).to_be_disabled()
    for _ in range(2):
        await page.get_by_role("button", name="+ Add scene").click()
    await expect(scenes).to_have_count(3)
    prompts = page.get_by_label("What the clip shows")
    await prompts.nth(0).fill("a red kite over green hills")
    await prompts.nth(1).fill("rain on a window at night")
    await prompts.nth(2).fill("a scene to remove")
    await page.get_by_label("Narration").nth(1).fill("It rained all night.")
    # Keyboard on the slider: four steps of half a second from 4 s.
    slider = page.get_by_label("Duration").nth(1)
    await slider.focus()
    for _ in range(4):
        await page.keyboard.press("ArrowRight")
    await expect(scenes.nth(1).locator("output")).to_have_text("6 s")
    await page.get_by_role("button", name="Move scene 2 up").click()
    await expect(page.get_by_role("button", name="Move scene 1 down")).to_be_focused()
    await page.get_by_role("button", name="Remove scene 3").click()
    await expect(scenes).to_have_count(2)
    await expect(scenes.nth(0).locator("legend")).to_have_text("Scene 1")
    await expect(prompts.nth(0)).to_have_value("rain on a window at night")

    await page.get_by_label("Style for every scene").fill("soft film grain")
    await page.get_by_label("Music bed under the clips").uncheck()
    await expect(page.get_by_label("Music style")).to_be_disabled()
    await page.get_by_label("Format (resolution)").select_option("youtube")
    credits = await price(page)
    await shots(page, "form-broll")

    job = await generate(page, api, credits)
    assert job["workflow"] == "broll"
    lines = job["script"].strip().splitlines()
    assert lines == [
        "[BROLL: rain on a window at night, soft film grain | 6s] It rained all night.",
        "[BROLL: a red kite over green hills, soft film grain | 4s]",
    ]


async def test_production_form_highlights_and_checks_the_script_then_generates(
    browsing: Browsing, api: httpx.AsyncClient
) -> None:
    page = await sign_in(browsing, api, "#/forms/production", DESKTOP)
    script = page.get_by_label("Script", exact=True)
    await script.fill("[TALKING] Tea, my way.\n[BROLL: steam over a cup | soon] Slow mornings.")
    issue = page.locator(".script-issues .issue")
    await expect(issue).to_have_text(
        "Line 2, column 28: duration 'soon' is not like '5s'", timeout=WAIT_MS
    )
    await expect(page.locator(".script-mirror .line-error")).to_have_count(1)
    await expect(page.locator(".script-mirror .tok-talking")).to_have_text("[TALKING]")
    # The API refuses to price it, and says where, next to the form.
    await page.get_by_role("button", name="Get price").click()
    refusal = page.locator(".price-panel .error-box")
    await expect(refusal).to_contain_text("line 2, column 28", timeout=WAIT_MS)
    forget_expected(browsing, 422)
    await expect(page.locator(".generate-button")).to_be_disabled()
    # Pressing the issue puts the caret on the fault.
    await issue.click()
    assert await script.evaluate("t => t.selectionStart") == len("[TALKING] Tea, my way.\n") + 27

    await page.get_by_role("button", name="Insert an example script").click()
    await expect(page.locator(".script-check .ok")).to_contain_text("4 segments", timeout=WAIT_MS)
    await expect(page.locator(".script-mirror .line-error")).to_have_count(0)
    await expect(page.locator(".script-mirror .tok-talking")).to_have_count(2)
    await expect(page.locator(".script-mirror .tok-broll")).to_have_count(2)
    await expect(page.locator(".script-mirror .tok-duration")).to_have_text("| 5s")
    await page.get_by_label("Quality").select_option("balanced")
    await page.get_by_label("Caption style").select_option("classic")
    await expect(page.get_by_label("Spoken word colour")).to_be_disabled()  # word style only
    await page.get_by_label("Caption position").select_option("top")
    await page.get_by_label("Caption colour").fill("#00ff88")
    await page.get_by_label("Title").fill("Energy tips")
    credits = await price(page)
    await expect(refusal).to_be_hidden()
    await shots(page, "form-production")
    await page.locator("#theme-toggle").click()
    await snap(page, "form-production-dark-desktop")

    job = await generate(page, api, credits)
    assert job["workflow"] == "production"
    assert job["script"].startswith("[TALKING] Hi, I'm Maya.")
    assert job["script"].count("[BROLL:") == 2
    look = job["options"]["caption_look"]
    assert (look["style"], look["position"], look["text_colour"]) == ("classic", "top", "#00FF88")
