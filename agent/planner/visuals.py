"""What the clips show and how the video sounds: shot prompts, music prompts and the title."""

from __future__ import annotations

import re

from agent.planner.lexicon import words
from core.production import VideoFormat
from core.script import MAX_PROMPT_CHARS

# Varied on purpose: consecutive clips of the same framing look like one long shot.
SHOTS: tuple[str, ...] = (
    "close-up",
    "wide",
    "macro",
    "tracking",
    "overhead",
    "aerial",
    "medium",
    "low-angle",
)
_SHOT_WORDS = {
    "close-up": "close-up of",
    "wide": "wide shot of",
    "macro": "macro shot of",
    "tracking": "tracking shot of",
    "overhead": "overhead top-down shot of",
    "aerial": "aerial drone shot of",
    "medium": "medium shot of",
    "low-angle": "low-angle shot of",
}
# Each framing has the camera move that suits it.
_CAMERA = {
    "close-up": "slow push-in",
    "wide": "slow pan",
    "macro": "slow rack focus",
    "tracking": "smooth gimbal tracking",
    "overhead": "slow top-down slide",
    "aerial": "slow drone glide forward",
    "medium": "gentle handheld drift",
    "low-angle": "slow tilt up",
}
# What a clip shows when there is no table of concrete tips: one per framing, any topic fits.
_DOING = {
    "close-up": "hands at work while {topic}",
    "wide": "a person {topic}, the whole space in view",
    "macro": "the small details of {topic}",
    "tracking": "a person {topic}",
    "overhead": "a tidy table set up for {topic}",
    "aerial": "a town at sunrise, opening a story about {topic}",
    "medium": "a smiling person {topic}",
    "low-angle": "a confident person {topic}",
}
_THING = {
    "close-up": "{topic}, fine detail in sharp focus",
    "wide": "a scene that shows {topic} in context",
    "macro": "textures and details that evoke {topic}",
    "tracking": "{topic}, the camera gliding alongside",
    "overhead": "objects laid out on a table that tell the story of {topic}",
    "aerial": "a wide landscape at dawn, opening a story about {topic}",
    "medium": "a curious person exploring {topic}",
    "low-angle": "{topic}, seen from below, bold and striking",
}
_LIGHT: dict[str, tuple[str, ...]] = {
    "friendly": ("warm morning light", "soft golden-hour light", "bright natural daylight"),
    "professional": ("clean soft studio light", "bright even daylight", "cool neutral light"),
    "energetic": ("bright punchy daylight", "vivid saturated light", "high-contrast sunlight"),
    "calm": ("soft diffused light", "gentle early-morning light", "warm candle-like glow"),
    "playful": ("bright colourful light", "sunny cheerful daylight"),
    "inspiring": ("golden sunrise light", "glowing backlight"),
    "dramatic": ("moody low-key light", "dramatic side light", "deep blue dusk light"),
    "informative": ("clear natural daylight", "soft even studio light"),
}
_STYLE = {
    "friendly": "warm and inviting, photorealistic",
    "professional": "clean and polished, photorealistic",
    "energetic": "vivid colours, dynamic energy",
    "calm": "soft muted tones, serene",
    "playful": "bright playful colours",
    "inspiring": "hopeful and cinematic",
    "dramatic": "cinematic, high contrast",
    "informative": "clear, natural, documentary style",
}
_FRAMING = {
    VideoFormat.tiktok: "vertical 9:16 composition",
    VideoFormat.youtube: "widescreen 16:9 composition",
    VideoFormat.square: "square 1:1 composition",
}
_MUSIC = {
    "friendly": "warm upbeat acoustic background music with light guitar and soft claps",
    "professional": "clean modern corporate background music with soft piano and a steady pulse",
    "energetic": "high-energy upbeat electronic pop with punchy drums",
    "calm": "calm ambient background music with gentle piano and soft pads",
    "playful": "playful quirky background music with pizzicato strings and light percussion",
    "inspiring": "uplifting cinematic background music with building strings and piano",
    "dramatic": "dramatic cinematic score with deep drums and tense strings",
    "informative": "light unobtrusive background music with soft keys and a steady beat",
}
_MOOD = {
    "friendly": "warm and upbeat",
    "professional": "clean and steady",
    "energetic": "high-energy",
    "calm": "calm and gentle",
    "playful": "playful and light",
    "inspiring": "uplifting",
    "dramatic": "dramatic",
    "informative": "light and unobtrusive",
}
_SMALL_WORDS = words("a an and as at but by for in of on or the to vs with from into")
_UNSAFE = re.compile(r"[\[\]|\r\n]")
_POSSESSIVE = re.compile(r"^(?:our|my|your)\s+", re.I)


def shot_prompt(shot: str, subject: str, *, tone: str, format: VideoFormat, variant: int) -> str:
    """A clip prompt: framing and subject, light, camera move, style and composition."""
    lights = _LIGHT.get(tone, _LIGHT["friendly"])
    parts = [
        f"{_SHOT_WORDS.get(shot, 'shot of')} {subject}",
        lights[variant % len(lights)],
        _CAMERA.get(shot, "slow push-in"),
        _STYLE.get(tone, _STYLE["friendly"]),
        _FRAMING[format],
    ]
    return _fit_prompt(parts)


def generic_subject(shot: str, topic: str, *, doing: bool) -> str:
    """What a clip about `topic` shows in a given framing, for topics without a tip table."""
    # "our new running shoes" is the brand speaking; the camera just sees "the" shoes.
    seen = _POSSESSIVE.sub("the ", topic)
    return (_DOING if doing else _THING)[shot].format(topic=seen)


def music_prompt(tone: str, style: str) -> str:
    """The music bed: the style the person asked for, in the mood of the tone."""
    if style:
        return f"{style} background music, {_MOOD.get(tone, 'warm and upbeat')}"[:200]
    return _MUSIC.get(tone, _MUSIC["friendly"])


def title_case(text: str) -> str:
    """Headline case that leaves words with their own capitals ("iPhone", "NASA") alone."""
    words = text.split()
    out = []
    for index, word in enumerate(words):
        if word != word.lower() or (index and word in _SMALL_WORDS):
            out.append(word)
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)


def short_title(text: str, limit: int = 60) -> str:
    """`text` cut at a word boundary to at most `limit` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:-") or text[:limit]


def _fit_prompt(parts: list[str]) -> str:
    # Drop trailing descriptors, least important last, until the prompt is within the limit.
    parts = [_UNSAFE.sub(" ", p).strip() for p in parts if p.strip()]
    while len(parts) > 1 and len(", ".join(parts)) > MAX_PROMPT_CHARS:
        parts.pop()
    prompt = " ".join(", ".join(parts).split())
    return prompt[:MAX_PROMPT_CHARS].rstrip(" ,")


# The parts a planned prompt is built from, read by the reviser to change one part of a prompt.
SHOT_WORDS: dict[str, str] = dict(_SHOT_WORDS)
CAMERA_MOVES: dict[str, str] = dict(_CAMERA)
LIGHTS: frozenset[str] = frozenset(light for lights in _LIGHT.values() for light in lights)
STYLE_PARTS: frozenset[str] = frozenset(
    part for style in _STYLE.values() for part in style.split(", ")
)
COMPOSITIONS: dict[VideoFormat, str] = dict(_FRAMING)
