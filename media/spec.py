"""What the renderer is asked to make: a canvas, a timeline of clips, voice, music and words."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class Canvas:
    width: int
    height: int
    fps: int = 30


@dataclass(frozen=True)
class Clip:
    """One segment on the timeline: a picture that lasts `duration_s`, with its voice from t=0."""

    video: Path  # a video file or a still image
    duration_s: float
    voice: Path | None = None  # speech laid at the clip's start
    kind: Literal["talking", "broll"] = "broll"


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
    preset: Literal["fast", "balanced", "quality"] = "fast"


@dataclass(frozen=True)
class RenderResult:
    path: Path
    duration_s: float
    width: int
    height: int
