"""The free tier's watermark (text or logo, in a corner or the centre) as filter-graph chains.

Everything is placed in Python for a known canvas size, so the watermark can keep clear of the
band where captions are burned in (`caption_band`), and tests can say where it landed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from PIL import Image, ImageFont, UnidentifiedImageError

from media.captions import FONT_PATH, CaptionStyle, Cue
from media.ffmpeg import MediaError
from media.spec import Canvas

Position = Literal["top-left", "top-right", "bottom-left", "bottom-right", "center"]
POSITIONS: tuple[Position, ...] = ("top-left", "top-right", "bottom-left", "bottom-right", "center")
MAX_TEXT_CHARS = 80
_MAX_LOGO_WIDTH = 0.4  # of the canvas width, so a very wide logo stays a corner mark
_BORDER = 0.06  # text outline, relative to the font size: legible on light and dark pictures


def _escape(value: str) -> str:
    # Imported here: render.py may draw watermarks too, and a module-level import would be a cycle.
    from media.render import escape_filter_value

    return escape_filter_value(value)


@dataclass(frozen=True)
class Watermark:
    """A text or a logo (exactly one) drawn over the video; sizes relative to the canvas.

    `size` is the height of the text or logo as a fraction of the canvas's shorter side, and
    `margin` its distance from the edges the same way. Invalid values raise MediaError.
    """

    text: str | None = None
    logo: Path | None = None
    position: Position = "top-left"
    opacity: float = 0.6
    size: float = 0.05
    margin: float = 0.04

    def __post_init__(self) -> None:
        if (self.text is None) == (self.logo is None):
            raise MediaError("a watermark needs either text or a logo (exactly one of them)")
        if self.text is not None:
            if not isinstance(self.text, str) or not self.text.strip():
                raise MediaError("watermark text is empty")
            if any(not ch.isprintable() for ch in self.text):
                raise MediaError("watermark text must be one line without control characters")
            if len(self.text) > MAX_TEXT_CHARS:
                raise MediaError(f"watermark text is longer than {MAX_TEXT_CHARS} characters")
        if self.logo is not None:
            logo = Path(self.logo)
            object.__setattr__(self, "logo", logo)
            _logo_size(logo)  # raises for a missing or unreadable file
        if self.position not in POSITIONS:
            raise MediaError(
                f"watermark position {self.position!r} is not one of {', '.join(POSITIONS)}"
            )
        _check_range("opacity", self.opacity, 0.0, 1.0, low_open=True)
        _check_range("size", self.size, 0.01, 0.5)
        _check_range("margin", self.margin, 0.0, 0.25)


def _check_range(
    name: str, value: object, low: float, high: float, *, low_open: bool = False
) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not low <= value <= high
        or (low_open and value == low)
    ):
        lower = f"above {low:g}" if low_open else f"at least {low:g}"
        raise MediaError(f"watermark {name} {value!r} must be {lower} and at most {high:g}")


def _logo_size(path: Path) -> tuple[int, int]:
    if not path.is_file():
        raise MediaError(f"watermark logo {path}: no such file")
    try:
        with Image.open(path) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError) as exc:
        raise MediaError(f"watermark logo {path}: not a readable image ({exc})") from exc
    if width < 1 or height < 1:
        raise MediaError(f"watermark logo {path}: image is empty")
    return width, height


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), size)


@dataclass(frozen=True)
class Placement:
    """Where a watermark lands on a canvas: its box, and for text the font size and outline."""

    x: int
    y: int
    width: int
    height: int
    font_size: int = 0
    border: int = 0


def _even(value: float) -> int:
    return max(0, int(value) // 2 * 2)


def _avoid_band(y: int, h: int, height: int, band: tuple[int, int] | None, gap: int) -> int:
    """Move a box at rows y..y+h off the caption band, to whichever side is nearer."""
    if band is None:
        return y
    top, bottom = band
    if y + h <= top - gap or y >= bottom + gap:
        return y
    candidates = [c for c in (bottom + gap, top - gap - h) if 0 <= c <= height - h]
    return min(candidates, key=lambda c: abs(c - y)) if candidates else y


def placement(
    wm: Watermark, width: int, height: int, caption_band: tuple[int, int] | None = None
) -> Placement:
    """The box `wm` occupies on a width x height canvas, clear of `caption_band` (rows)."""
    short = min(width, height)
    target_h = max(8, round(wm.size * short))
    margin = round(wm.margin * short)
    max_w = width - 2 * margin
    font_size = border = 0
    if wm.text is not None:
        # Size the font so ascent + descent (the line's height) is the target height, then
        # shrink it if the text would be wider than the canvas.
        ascent, descent = _font(100).getmetrics()
        font_size = max(6, math.floor(target_h * 100 / (ascent + descent)))
        text_w = _font(font_size).getlength(wm.text)
        if text_w > max_w * 0.9:
            font_size = max(6, math.floor(font_size * max_w * 0.9 / text_w))
        border = max(1, round(font_size * _BORDER))
        ascent, descent = _font(font_size).getmetrics()
        w = math.ceil(_font(font_size).getlength(wm.text)) + 2 * border
        h = ascent + descent + 2 * border
    else:
        assert wm.logo is not None
        logo_w, logo_h = _logo_size(wm.logo)
        h = target_h
        w = round(logo_w * h / logo_h)
        if w > width * _MAX_LOGO_WIDTH:
            w = round(width * _MAX_LOGO_WIDTH)
            h = round(logo_h * w / logo_w)
        w, h = max(2, _even(w)), max(2, _even(h))
    # Even coordinates keep the mark aligned with the half-resolution chroma planes.
    xs = {"left": margin, "right": width - margin - w}
    ys = {"top": margin, "bottom": height - margin - h}
    x = min(_even(xs.get(wm.position.rsplit("-", 1)[-1], (width - w) // 2)), max(0, width - w))
    y = min(_even(ys.get(wm.position.split("-")[0], (height - h) // 2)), max(0, height - h))
    y = _even(_avoid_band(y, h, height, caption_band, max(2, margin // 2)))
    return Placement(x, y, w, h, font_size, border)


def logo_input_args(wm: Watermark | None) -> list[str]:
    """The input options adding `wm`'s logo to an ffmpeg command (none for text)."""
    if wm is None or wm.logo is None:
        return []
    # One frame, decoded once; overlay repeats it for the whole video.
    return ["-i", str(wm.logo.resolve())]


def watermark_chains(
    wm: Watermark,
    src: str,
    dst: str,
    width: int,
    height: int,
    *,
    logo: str | None = None,
    caption_band: tuple[int, int] | None = None,
    tag: str = "wm",
) -> list[str]:
    """Filter chains drawing `wm` on stream [src] (width x height, yuv420p) into [dst].

    A logo watermark reads the logo from stream label `logo` (e.g. "1:v", from
    `logo_input_args`); `tag` prefixes the internal labels, so give each use its own.
    """
    place = placement(wm, width, height, caption_band)
    opacity = f"{wm.opacity:.3f}"
    if wm.text is not None:
        return [
            f"[{src}]drawtext=fontfile={_escape(str(FONT_PATH))}:text={_escape(wm.text)}"
            f":expansion=none:fontsize={place.font_size}:fontcolor=white@{opacity}"
            f":borderw={place.border}:bordercolor=black@{wm.opacity * 0.6:.3f}"
            f":x={place.x + place.border}:y={place.y + place.border}[{dst}]"
        ]
    if logo is None:
        raise MediaError("a logo watermark needs the label of its logo input")
    return [
        # Opacity scales the logo's own alpha; the logo is converted to the BT.709 the video
        # is in before it is blended.
        f"[{logo}]scale={place.width}:{place.height}:flags=lanczos,format=rgba,"
        f"colorchannelmixer=aa={opacity},scale=out_color_matrix=bt709:out_range=tv,"
        f"format=yuva420p[{tag}logo]",
        f"[{src}][{tag}logo]overlay=x={place.x}:y={place.y}:format=yuv420,format=yuv420p[{dst}]",
    ]


def caption_band(
    canvas: Canvas, cues: Sequence[Cue], style: CaptionStyle
) -> tuple[int, int] | None:
    """Rows (top, bottom) of `canvas` that burned-in captions may cover, or None without cues.

    `cues` are what captions.write_ass returned and `style` is caption_style(canvas, cues, ...)
    for the same settings: the tallest cue's lines at the style's place, with outline and
    shadow. Export keeps this band in view, and the watermark keeps clear of it.
    """
    if not cues:
        return None
    # libass sizes a font so that its ascent + descent fill Fontsize pixels: one line each.
    text_h = max(len(cue.lines) for cue in cues) * style.font_size
    row = (style.alignment - 1) // 3  # ASS numpad: 0 bottom row, 1 middle, 2 top
    if row == 0:
        top = canvas.height - style.margin_v - text_h
    elif row == 1:
        top = (canvas.height - text_h) // 2
    else:
        top = style.margin_v
    top -= math.ceil(style.outline)
    bottom = top + text_h + math.ceil(2 * style.outline + style.shadow)
    return max(0, top), min(canvas.height, bottom)
