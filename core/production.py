"""Production options: how a script is turned into a video (format, voice, music, captions)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class VideoFormat(StrEnum):
    tiktok = "tiktok"
    youtube = "youtube"
    square = "square"


FORMAT_SIZES: dict[VideoFormat, tuple[int, int]] = {
    VideoFormat.tiktok: (1080, 1920),
    VideoFormat.youtube: (1920, 1080),
    VideoFormat.square: (1080, 1080),
}


class Resolution(StrEnum):
    """The picture's shorter side. `auto` is the format's own size (1080p), lowered to what the
    plan allows; an explicit choice above the plan is refused rather than quietly lowered."""

    auto = "auto"
    p720 = "720p"
    p1080 = "1080p"
    k4 = "4k"

    @property
    def short_side(self) -> int | None:
        """Pixels on the shorter side; None for `auto`."""
        return RESOLUTION_SHORT_SIDES.get(self)


RESOLUTION_SHORT_SIDES: dict[Resolution, int] = {
    Resolution.p720: 720,
    Resolution.p1080: 1080,
    Resolution.k4: 2160,
}


class Preset(StrEnum):
    fast = "fast"
    balanced = "balanced"
    quality = "quality"


class VoiceEngine(StrEnum):
    """The speech engine: `auto` takes the GPU server's best; the others must be installed there."""

    auto = "auto"
    fish_speech = "fish-speech"
    cosyvoice = "cosyvoice"
    espeak = "espeak"


class Transitions(StrEnum):
    """How one scene gives way to the next: `auto` picks per cut, by what the scenes are."""

    auto = "auto"
    cut = "cut"
    crossfade = "crossfade"
    fade = "fade"
    slide = "slide"
    wipe = "wipe"


Colour = Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}$", examples=["#FFE500"])]


class CaptionLook(BaseModel):
    """How burned-in captions look."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    style: Literal["word", "classic"] = Field(
        default="word",
        description="word: a few bold words at a time, the spoken one marked (short-form "
        "style); classic: whole subtitle lines.",
    )
    font: Literal["DejaVu Sans", "Noto Sans"] = Field(
        default="DejaVu Sans",
        description="Latin font; Arabic, Hebrew and CJK text always use bundled Noto fonts.",
    )
    text_colour: Colour = Field(default="#FFFFFF", description="Colour of the caption text.")
    highlight_colour: Colour = Field(
        default="#FFE500", description="Colour of the word being spoken (word style)."
    )
    outline_colour: Colour = Field(default="#101010", description="Colour of the text outline.")
    outline_width: float = Field(
        default=0.08, ge=0, le=0.3, description="As a fraction of the font size; 0 for none."
    )
    position: Literal["bottom", "middle", "top"] = Field(
        default="bottom", description="Where on the picture the captions sit."
    )
    uppercase: bool = Field(default=False, description="Capitals (word style only).")


class ProductionOptions(BaseModel):
    """Everything besides the script that decides what gets produced."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    format: VideoFormat = Field(default=VideoFormat.tiktok, description="Target platform format.")
    language: str = Field(
        default="en",
        pattern=r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$",
        description="Spoken language (ISO 639).",
    )
    voice: str = Field(
        default="default", max_length=64, description="Built-in voice name or a voice asset id."
    )
    voice_engine: VoiceEngine = Field(
        default=VoiceEngine.auto,
        description="Speech engine; `auto` uses the best one the GPU server has.",
    )
    avatar_asset_id: str | None = Field(
        default=None,
        max_length=64,
        description="Portrait asset for the host; default avatar if omitted.",
    )
    background: bool = Field(
        default=False,
        description="Set the host over a generated background instead of the portrait's own.",
    )
    background_prompt: str = Field(
        default="a bright modern studio with soft light",
        min_length=1,
        max_length=300,
        description="What the generated background behind the host shows.",
    )
    music: bool = Field(default=True, description="Lay a generated music bed under the video.")
    music_prompt: str = Field(
        default="upbeat light background music",
        max_length=200,
        description="Style of the music bed.",
    )
    captions: bool = Field(
        default=True, description="Burn captions into the picture and write an SRT file."
    )
    caption_look: CaptionLook = Field(
        default_factory=CaptionLook, description="Style, font, colours and place of captions."
    )
    transitions: Transitions = Field(
        default=Transitions.auto,
        description="Between scenes: auto (chosen per cut), or one kind for every cut.",
    )
    resolution: Resolution = Field(
        default=Resolution.auto,
        description="Picture size (short side): auto is the best the plan allows up to 1080p; "
        "720p on every plan, 1080p from Starter, 4k on Business.",
    )
    preset: Preset = Field(
        default=Preset.fast, description="Speed/quality trade-off of generation and encode."
    )
    title: str = Field(
        default="", max_length=120, description="Working title, used for file names."
    )

    @property
    def size(self) -> tuple[int, int]:
        """The format's own size (1080 on the shorter side), whatever the resolution."""
        return FORMAT_SIZES[self.format]

    @property
    def short_side(self) -> int | None:
        """The shorter side asked for, in pixels; None for `auto`."""
        return self.resolution.short_side
