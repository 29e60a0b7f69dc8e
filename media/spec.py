"""What the renderer is asked to make: a canvas, a timeline of clips, voice, music and words."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from media.captions import CaptionSettings
    from media.watermark import Watermark


@dataclass(frozen=True)
class Canvas:
    width: int
    height: int
    fps: int = 30


Transition = Literal["cut", "crossfade", "fade", "slide", "wipe"]
TRANSITIONS: tuple[Transition, ...] = ("cut", "crossfade", "fade", "slide", "wipe")
Fit = Literal["auto", "crop", "pad"]


@dataclass(frozen=True)
class Clip:
    """One segment on the timeline: a picture that lasts `duration_s`, with its voice from t=0."""

    video: Path  # a video file or a still image
    duration_s: float
    voice: Path | None = None  # speech laid at the clip's start
    kind: Literal["talking", "broll"] = "broll"
    # A picture to set the clip over: the clip then fills the host frame (`host_box`) instead
    # of the whole canvas.
    background: Path | None = None
    # How the picture arrives from the previous clip: over the first `transition_s` of this
    # clip, the previous one's picture runs on underneath (voices keep their places).
    transition: Transition = "cut"
    transition_s: float = 0.5
    # crop: fill the frame, cutting the overflow; pad: show all of it over a blurred copy;
    # auto: crop unless that would cut away too much (a landscape clip on a vertical canvas).
    fit: Fit = "auto"


# The host over a generated background stands in a 4:5 frame, as portraits are usually shot.
HOST_ASPECT = (4, 5)


def host_box(width: int, height: int) -> tuple[int, int, int, int]:
    """Where the host's frame sits on a width x height canvas: (x, y, w, h), all even.

    It takes at most 80 % of the canvas either way and sits a little above the middle, so
    captions near the bottom fall on the background rather than on the face.
    """
    aw, ah = HOST_ASPECT
    w = min(width * 0.8, height * 0.8 * aw / ah)
    w = int(w) // 2 * 2
    h = int(w * ah / aw) // 2 * 2
    x = (width - w) // 4 * 2
    y = int((height - h) * 0.4) // 2 * 2
    return x, y, w, h


@dataclass(frozen=True)
class Word:
    """A spoken word, in seconds from the start of the whole video."""

    text: str
    start: float
    end: float


@dataclass(frozen=True)
class RenderSpec:
    canvas: Canvas
    clips: list[Clip]
    music: Path | None = None
    music_gain_db: float = -16.0
    words: list[Word] = field(default_factory=list)
    burn_captions: bool = True
    captions: CaptionSettings | None = None  # None: the default look
    # Drawn over the finished picture (the free tier's mark), clear of the captions.
    watermark: Watermark | None = None
    preset: Literal["fast", "balanced", "quality"] = "fast"
    # Bring the soundtrack to -14 LUFS integrated, true peak under -1 dBTP (what the
    # platforms normalise to); off keeps the mix's own level, limited only.
    normalize_loudness: bool = True


@dataclass(frozen=True)
class RenderResult:
    path: Path
    duration_s: float
    width: int
    height: int
    # Rows (top, bottom) the burned-in captions may cover: exports keep them in view.
    caption_band: tuple[int, int] | None = None
