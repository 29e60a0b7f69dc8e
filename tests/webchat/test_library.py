"""The library in Chromium: avatars by drag-and-drop and by keyboard, voices only with consent,
videos as a grid or a list with their thumbnails, re-generate and delete. Screenshots at phone
and desktop sizes go to test-output/webchat/."""

from __future__ import annotations

import asyncio
import base64
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import imageio_ffmpeg
import pytest
from PIL import Image, ImageDraw
from playwright.async_api import FileChooser, Page, expect

from tests.webchat.conftest import DESKTOP, Browsing, size
from tests.webchat.helpers import WAIT_MS, as_phone, fits_width, forget_expected, sign_in, snap


@pytest.fixture
async def api(browsing: Browsing) -> AsyncIterator[httpx.AsyncClient]:
    """The API as the person the test signs in."""
    async with httpx.AsyncClient(base_url=browsing.base_url, timeout=30) as client:
        yield client


def portrait(path: Path, side: int = 512) -> Path:
    image = Image.new("RGB", (side, side), (236, 214, 196))
    draw = ImageDraw.Draw(image)
    s = side / 512
    draw.ellipse((136 * s, 96 * s, 376 * s, 400 * s), fill=(224, 180, 150))
    draw.ellipse((196 * s, 200 * s, 226 * s, 230 * s), fill=(40, 40, 60))
    draw.ellipse((286 * s, 200 * s, 316 * s, 230 * s), fill=(40, 40, 60))
    draw.arc(
        (206 * s, 270 * s, 306 * s, 330 * s), 20, 160, fill=(150, 60, 60), width=max(1, int(6 * s))
    )
    image.save(path)
    return path


def sine_wav(path: Path, seconds: float = 4.0) -> Path:
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
         f"sine=frequency=220:duration={seconds}", "-ar", "16000", "-ac", "1", str(path)],
        check=True,
    )  # fmt: skip
    return path


async def drop_file(page: Page, selector: str, path: Path, mime: str) -> None:
    """A real drop as the browser delivers it: a DataTransfer holding the file, dispatched as
    dragenter, dragover and drop on the zone."""
    data = base64.b64encode(path.read_bytes()).decode()
    await page.evaluate(
        """([selector, data, name, mime]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: mime }));
            const zone = document.querySelector(selector);
            for (const type of ["dragenter", "dragover", "drop"]) {
                const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
                zone.dispatchEvent(new DragEvent(type, init));
            }
        }""",
        [selector, data, path.name, mime],
    )


async def image_loaded(page: Page, selector: str) -> None:
    await page.wait_for_function(
        "(s) => { const i = document.querySelector(s); return i?.complete && i.naturalWidth > 0 }",
        arg=selector,
        timeout=WAIT_MS,
    )


async def confirm(page: Page) -> None:
    dialog = page.locator("dialog.confirm-dialog")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button").last.click()


async def test_avatars_upload_by_button_and_by_drop_preview_and_delete(
    browsing: Browsing, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    page = await sign_in(browsing, api, "#/library/avatars", DESKTOP)
    # Listening before the page settles: Playwright turns on file-chooser interception without
    # waiting for the browser's reply, so a listener added just before the key press can miss it.
    chosen: asyncio.Future[FileChooser] = asyncio.get_running_loop().create_future()
    page.once("filechooser", lambda chooser: chosen.set_result(chooser))
    await expect(page.get_by_role("heading", name="Avatars")).to_be_visible()
    # Keyboard only: the file button is a real button and opens the picker with Enter.
    await page.get_by_role("button", name="Choose files").focus()
    await page.keyboard.press("Enter")
    chooser = await asyncio.wait_for(chosen, WAIT_MS / 1000)
    await chooser.set_files(portrait(tmp_path / "maya.png"))
    cards = page.locator(".asset-card")
    await expect(cards).to_have_count(1, timeout=WAIT_MS)
    await image_loaded(page, ".asset-card img.avatar-preview")

    await drop_file(page, ".drop-zone", portrait(tmp_path / "sam.png"), "image/png")
    await expect(cards).to_have_count(2, timeout=WAIT_MS)
    await expect(cards.first).to_contain_text("sam.png")
    await expect(cards.first).to_contain_text("512×512")
    await image_loaded(page, ".asset-card:first-child img.avatar-preview")

    # Too small a portrait: the API's own reason is shown beside the zone.
    await drop_file(page, ".drop-zone", portrait(tmp_path / "tiny.png", 64), "image/png")
    alert = page.locator(".library-panel > .error-box")
    await expect(alert).to_contain_text("tiny.png", timeout=WAIT_MS)
    await expect(alert).to_contain_text("128")
    forget_expected(browsing, 422)
    await expect(cards).to_have_count(2)

    await snap(page, "library-avatars-desktop")
    await as_phone(page)
    assert await fits_width(page)
    await snap(page, "library-avatars-phone")

    await cards.filter(has_text="maya.png").get_by_role("button", name="Delete").click()
    await confirm(page)
    await expect(cards).to_have_count(1, timeout=WAIT_MS)
    listed = (await api.get("/v1/assets?kind=avatar")).json()["items"]
    assert [a["name"] for a in listed] == ["sam.png"]


async def test_a_voice_is_refused_without_consent_and_listed_with_it(
    browsing: Browsing, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    page = await sign_in(browsing, api, "#/library/voices", DESKTOP)
    await expect(page.get_by_role("list", name="Built-in voices")).to_contain_text("Default")
    wav = sine_wav(tmp_path / "my-voice.wav")
    await page.get_by_label("Recording").set_input_files(wav)
    await page.get_by_role("button", name="Upload voice").click()
    refused = page.locator("form.voice-upload .error-box")
    await expect(refused).to_contain_text("consent", timeout=WAIT_MS)
    forget_expected(browsing, 422)
    assert (await api.get("/v1/assets?kind=voice")).json()["items"] == []

    await page.get_by_label("I am this speaker").check()
    await page.get_by_role("button", name="Upload voice").click()
    card = page.locator(".voice-card")
    await expect(card).to_have_count(1, timeout=WAIT_MS)
    await expect(card).to_contain_text("my-voice.wav")
    await expect(card).to_contain_text("4 s")
    await expect(refused).to_be_hidden()
    assert await card.locator("audio[controls]").count() == 1
    [voice] = (await api.get("/v1/assets?kind=voice")).json()["items"]
    assert voice["meta"]["consent"] is True
    # A voice reference is offered wherever a voice is chosen.
    voices = (await api.get("/v1/voices")).json()["items"]
    assert {"id": voice["id"], "name": "my-voice.wav", "kind": "cloned"} in voices

    await snap(page, "library-voices-desktop")
    await as_phone(page)
    assert await fits_width(page)
    await snap(page, "library-voices-phone")


async def finished_video(api: httpx.AsyncClient) -> str:
    form = {"text": "A short one for the library."}
    quote = (await api.post("/v1/videos/talking-head", json=form)).json()["quote"]
    r = await api.post("/v1/videos/talking-head", json=form | {"quote_id": quote["quote_id"]})
    assert r.status_code == 201, r.text
    job_id = str(r.json()["job"]["job_id"])
    for _ in range(240):
        job = (await api.get(f"/v1/jobs/{job_id}")).json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            break
        await asyncio.sleep(0.5)
    assert job["status"] == "succeeded", job
    return job_id


async def test_videos_grid_and_list_with_thumbnails_regenerate_and_delete(
    browsing: Browsing, api: httpx.AsyncClient
) -> None:
    page = await sign_in(browsing, api, "#/library/videos", DESKTOP)
    job_id = await finished_video(api)
    await page.reload()
    card = page.locator(f'.video-card[data-job-id="{job_id}"]')
    await expect(card).to_contain_text("A short one for the library.", timeout=WAIT_MS)
    await expect(card).to_contain_text("Talking head")
    await expect(card.locator(".badge")).to_have_text("succeeded")
    await image_loaded(page, f'.video-card[data-job-id="{job_id}"] img.thumb-img')

    videos = page.get_by_role("list", name="Videos")
    await expect(videos).to_have_attribute("data-layout", "grid")
    await snap(page, "library-videos-grid-desktop")
    await page.get_by_role("button", name="List").click()
    await expect(videos).to_have_attribute("data-layout", "list")
    await expect(page.get_by_role("button", name="List")).to_have_attribute("aria-pressed", "true")
    await page.reload()  # the choice is remembered
    await expect(page.get_by_role("list", name="Videos")).to_have_attribute("data-layout", "list")
    await snap(page, "library-videos-list-desktop")
    await page.locator("#theme-toggle").click()
    await snap(page, "library-videos-list-desktop-dark")
    await page.locator("#theme-toggle").click()
    await as_phone(page)
    await page.get_by_role("button", name="Grid").click()
    assert await fits_width(page)
    await snap(page, "library-videos-grid-phone")
    await page.set_viewport_size(size(DESKTOP))

    # Re-generate: priced first, produced only once the price is accepted.
    await card.get_by_role("button", name="Re-generate").click()
    dialog = page.locator("dialog.confirm-dialog")
    await expect(dialog).to_contain_text("credits", timeout=WAIT_MS)
    await dialog.get_by_role("button", name="Generate for").click()
    await page.wait_for_url("**/#/job/*", timeout=WAIT_MS)
    new_id = page.url.rsplit("/", 1)[1]
    assert new_id != job_id
    again = (await api.get(f"/v1/jobs/{new_id}")).json()
    assert again["workflow"] == "production" and "A short one" in again["script"]

    # Leave only once the job page has drawn itself: the router does not yet drop a view whose
    # render finishes after the next one started, so leaving mid-render could show it again.
    await expect(page.locator("#view h1")).to_be_visible(timeout=WAIT_MS)
    await page.goto(browsing.base_url + "/#/library/videos")
    await card.get_by_role("button", name="Delete").click()
    await confirm(page)
    await expect(card).to_have_count(0, timeout=WAIT_MS)
    assert (await api.get(f"/v1/jobs/{job_id}")).status_code == 404
