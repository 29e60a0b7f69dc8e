"""Watermarks drawn by ffmpeg on a flat grey frame, found again by comparing pixels."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from media.captions import FONT_PATH, CaptionSettings, caption_style, write_ass
from media.ffmpeg import MediaError, ffmpeg_exe
from media.render import escape_filter_value
from media.spec import Canvas, Word
from media.watermark import (
    POSITIONS,
    Watermark,
    caption_band,
    logo_input_args,
    placement,
    watermark_chains,
)

W, H = 320, 240
GREY = 128


@pytest.fixture(scope="module")
def logo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 100x50 logo: opaque red on the left half, fully transparent on the right half."""
    path = tmp_path_factory.mktemp("logo") / "logo.png"
    image = Image.new("RGBA", (100, 50), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 50, 50))
    image.save(path)
    return path


def draw(
    wm: Watermark | None, band: tuple[int, int] | None = None, width: int = W, height: int = H
) -> np.ndarray:
    """One frame of flat grey with `wm` drawn on it, as float RGB (height, width, 3)."""
    chains = ["[0:v]format=yuv420p[base]"]
    if wm is None:
        chains.append("[base]null[out]")
    else:
        chains += watermark_chains(wm, "base", "out", width, height, logo="1:v", caption_band=band)
    cmd = [ffmpeg_exe(), "-v", "error", "-f", "lavfi"]
    cmd += ["-i", f"color=c=0x808080:s={width}x{height}:r=10:d=0.3", *logo_input_args(wm)]
    cmd += ["-filter_complex", ";".join(chains), "-map", "[out]", "-frames:v", "1"]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3).astype(np.float64)


def changed(frame: np.ndarray) -> np.ndarray:
    """Mask of the pixels that differ clearly from the grey background."""
    return np.abs(frame - GREY).sum(axis=2) > 30


def region(position: str, width: int = W, height: int = H) -> tuple[slice, slice]:
    """The quarter of the frame (or the middle half) a watermark at `position` must stay in."""
    if position == "center":
        return slice(height // 4, height * 3 // 4), slice(width // 4, width * 3 // 4)
    vertical, horizontal = position.split("-")
    rows = slice(0, height // 2) if vertical == "top" else slice(height // 2, height)
    cols = slice(0, width // 2) if horizontal == "left" else slice(width // 2, width)
    return rows, cols


@pytest.mark.parametrize("position", POSITIONS)
def test_text_is_drawn_at_its_position(position: str) -> None:
    wm = Watermark(text="Skyie", position=position, opacity=1.0, size=0.1)
    mask = changed(draw(wm))
    rows, cols = region(position)
    inside = mask[rows, cols].sum()
    assert inside > 100, "no text drawn where expected"
    assert mask.sum() == inside, "text drawn outside its corner"
    # And within the box placement() reports, give or take the glyphs' side bearings.
    box = placement(wm, W, H)
    ys, xs = np.nonzero(mask)
    assert box.x - 2 <= xs.min() and xs.max() <= box.x + box.width + 2
    assert box.y - 2 <= ys.min() and ys.max() <= box.y + box.height + 2


def test_lower_opacity_draws_fainter_text() -> None:
    strong = draw(Watermark(text="Skyie", opacity=0.9, size=0.1))
    faint = draw(Watermark(text="Skyie", opacity=0.3, size=0.1))
    assert np.abs(strong - GREY).sum() > 2 * np.abs(faint - GREY).sum()
    assert changed(faint).sum() > 0


def test_text_with_filter_graph_syntax_is_drawn_literally() -> None:
    wm = Watermark(text="It's 100%: [a,b];\\ok", position="bottom-right", opacity=1.0)
    assert changed(draw(wm)).sum() > 50


@pytest.mark.parametrize("position", ["top-right", "bottom-left", "center"])
def test_logo_is_drawn_at_its_position(logo: Path, position: str) -> None:
    wm = Watermark(logo=logo, position=position, opacity=1.0, size=0.2)
    frame = draw(wm)
    mask = changed(frame)
    rows, cols = region(position)
    assert mask.sum() == mask[rows, cols].sum() > 100
    box = placement(wm, W, H)
    assert (box.width, box.height) == (96, 48)  # 20 % of 240 rows, the logo's 2:1 kept
    red = frame[box.y + 10 : box.y + 38, box.x + 4 : box.x + 40]
    assert red[..., 0].min() > 200 and red[..., 1].max() < 60
    # The logo's transparent half leaves the picture untouched.
    clear = mask[box.y : box.y + box.height, box.x + 52 : box.x + box.width]
    assert not clear.any()


def test_logo_opacity_blends_with_the_picture(logo: Path) -> None:
    wm = Watermark(logo=logo, position="top-left", opacity=0.5, size=0.2)
    box = placement(wm, W, H)
    r, g, _ = draw(wm)[box.y + 10 : box.y + 38, box.x + 4 : box.x + 40].mean(axis=(0, 1))
    # Half of red (255, 0, 0) over grey 128.
    assert r == pytest.approx(191, abs=12) and g == pytest.approx(64, abs=12)


def test_size_is_relative_to_the_shorter_side(logo: Path) -> None:
    small = placement(Watermark(logo=logo, size=0.1), 1080, 1920)
    assert (small.width, small.height) == (216, 108)
    text = placement(Watermark(text="Skyie", size=0.05), 1920, 1080)
    assert text.height == pytest.approx(54 + 2 * text.border, abs=3)
    assert text.x == text.y == 42  # 4 % margin, rounded to even


def test_very_long_text_is_shrunk_to_fit() -> None:
    box = placement(Watermark(text="W" * 40, size=0.2), W, H)
    assert box.x >= 0 and box.x + box.width <= W


def test_watermark_keeps_clear_of_the_caption_band() -> None:
    band = (180, 230)  # captions near the bottom of the 240-row frame
    wm = Watermark(text="Skyie", position="bottom-left", opacity=1.0, size=0.1)
    box = placement(wm, W, H, band)
    assert box.y + box.height <= band[0]
    mask = changed(draw(wm, band))
    assert mask.any() and not mask[band[0] : band[1]].any()
    # Without a band it sits in the corner, where the captions would be.
    assert placement(wm, W, H).y + placement(wm, W, H).height > band[0]


def burn_captions(
    canvas: Canvas, words: list[Word], settings: CaptionSettings, tmp: Path
) -> np.ndarray:
    """Captions burned into black by libass, as render.py does, at 0.5 s; grey (h, w)."""
    cues = write_ass(words, canvas, tmp / "captions.ass", settings=settings)
    assert cues
    # Only our own fonts, as render.py does, so libass never falls back to system fonts.
    fonts = tmp / "fonts"
    fonts.mkdir()
    for font in FONT_PATH.parent.iterdir():
        if font.suffix.lower() in (".ttf", ".otf", ".ttc"):
            shutil.copyfile(font, fonts / font.name)
    ass = f"ass=filename={escape_filter_value(str(tmp / 'captions.ass'))}"
    ass += f":fontsdir={escape_filter_value(str(fonts))}"
    size = f"{canvas.width}x{canvas.height}"
    cmd = [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", f"color=c=black:s={size}:r=10:d=1"]
    cmd += ["-filter_complex", f"[0:v]{ass}[out]", "-map", "[out]", "-ss", "0.5"]
    cmd += ["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"]
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(canvas.height, canvas.width)


WORDS = [Word("Hello", 0.0, 0.4), Word("wonderful", 0.4, 0.8), Word("world", 0.8, 1.2)]


@pytest.mark.parametrize(
    ("canvas", "settings"),
    [
        (Canvas(180, 320, 10), CaptionSettings()),
        (Canvas(180, 320, 10), CaptionSettings(style="classic", position="top")),
        (Canvas(320, 180, 10), CaptionSettings(style="classic", position="middle")),
    ],
)
def test_caption_band_covers_the_burned_in_captions(
    canvas: Canvas, settings: CaptionSettings, tmp_path: Path
) -> None:
    cues = write_ass(WORDS, canvas, tmp_path / "cues.ass", settings=settings)
    band = caption_band(canvas, cues, caption_style(canvas, cues, settings))
    assert band is not None
    top, bottom = band
    frame = burn_captions(canvas, WORDS, settings, tmp_path)
    rows = np.nonzero(frame.max(axis=1) > 40)[0]
    assert rows.size, "no captions drawn"
    assert top <= rows.min() and rows.max() < bottom
    # Snug: no more than a line's worth of slack.
    assert bottom - top < (rows.max() - rows.min()) * 2 + 10


def test_no_cues_means_no_caption_band() -> None:
    canvas = Canvas(1080, 1920)
    assert caption_band(canvas, [], caption_style(canvas, [])) is None


def test_a_logo_watermark_needs_its_input_label(logo: Path) -> None:
    with pytest.raises(MediaError, match="needs the label of its logo input"):
        watermark_chains(Watermark(logo=logo), "in", "out", W, H)
    assert logo_input_args(Watermark(text="x")) == [] and logo_input_args(None) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text": "Skyie", "opacity": 2}, "opacity 2 must be above 0 and at most 1"),
        ({"text": "Skyie", "opacity": 0}, "opacity 0 must be above 0"),
        ({"text": "Skyie", "opacity": float("nan")}, "opacity nan must be"),
        ({"text": "Skyie", "opacity": True}, "opacity True must be"),
        ({"text": ""}, "watermark text is empty"),
        ({"text": "   "}, "watermark text is empty"),
        ({"text": "two\nlines"}, "one line without control characters"),
        ({"text": "x" * 81}, "longer than 80 characters"),
        ({}, "needs either text or a logo"),
        ({"text": "Skyie", "logo": Path("logo.png")}, "exactly one"),
        ({"text": "Skyie", "position": "middle"}, "position 'middle' is not one of top-left"),
        ({"text": "Skyie", "size": 0.9}, "size 0.9 must be at least 0.01 and at most 0.5"),
        ({"text": "Skyie", "margin": -0.1}, "margin -0.1 must be at least 0"),
    ],
)
def test_bad_watermarks_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(MediaError, match=message):
        Watermark(**kwargs)  # type: ignore[arg-type]


def test_missing_or_unreadable_logo_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"watermark logo .*nope\.png: no such file"):
        Watermark(logo=tmp_path / "nope.png")
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture")
    with pytest.raises(MediaError, match=r"notes\.png: not a readable image"):
        Watermark(logo=notes)
