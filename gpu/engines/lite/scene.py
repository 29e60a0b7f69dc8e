"""Reads a visual prompt into a scene plan: time of day, setting, features, palette."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from gpu.engines.lite.paint import RGB

TIMES = ("day", "sunrise", "sunset", "night")
SETTINGS = ("field", "forest", "mountains", "ocean", "city", "desert", "snow", "interior")

_TIME_WORDS = {
    "day": "day", "daylight": "day", "noon": "day", "sunny": "day", "afternoon": "day",
    "bright": "day", "summer": "day",
    "sunrise": "sunrise", "dawn": "sunrise", "morning": "sunrise",
    "sunset": "sunset", "dusk": "sunset", "golden": "sunset", "evening": "sunset",
    "twilight": "sunset", "autumn": "sunset", "fall": "sunset",
    "night": "night", "midnight": "night", "moon": "night", "moonlit": "night",
    "stars": "night", "starry": "night", "neon": "night", "dark": "night",
}  # fmt: skip
_SETTING_WORDS = {
    "field": "field", "meadow": "field", "farm": "field", "countryside": "field",
    "garden": "field", "park": "field", "grass": "field", "hills": "field", "village": "field",
    "forest": "forest", "woods": "forest", "trees": "forest", "jungle": "forest", "pine": "forest",
    "mountain": "mountains", "mountains": "mountains", "peak": "mountains", "peaks": "mountains",
    "alps": "mountains", "valley": "mountains", "canyon": "mountains",
    "ocean": "ocean", "sea": "ocean", "beach": "ocean", "waves": "ocean", "coast": "ocean",
    "lake": "ocean", "river": "ocean", "harbor": "ocean", "island": "ocean", "water": "ocean",
    "city": "city", "skyline": "city", "urban": "city", "street": "city", "downtown": "city",
    "buildings": "city", "skyscraper": "city", "skyscrapers": "city", "town": "city",
    "desert": "desert", "dunes": "desert", "sand": "desert", "sahara": "desert",
    "snow": "snow", "winter": "snow", "ice": "snow", "arctic": "snow", "snowy": "snow",
    "kitchen": "interior", "room": "interior", "office": "interior", "interior": "interior",
    "desk": "interior", "wall": "interior", "living": "interior", "bedroom": "interior",
    "thermostat": "interior", "indoors": "interior", "studio": "interior",
    "lamp": "interior", "bulb": "interior", "appliance": "interior", "fridge": "interior",
}  # fmt: skip
_FEATURE_WORDS = {
    "solar": "solar", "panel": "solar", "panels": "solar", "photovoltaic": "solar",
    "house": "house", "roof": "house", "rooftop": "house", "cottage": "house",
    "thermostat": "thermostat", "kitchen": "kitchen", "plant": "plant", "plants": "plant",
    "window": "window", "rain": "rain", "rainy": "rain", "storm": "rain",
    "bird": "birds", "birds": "birds", "cloud": "clouds", "clouds": "clouds", "cloudy": "clouds",
    "wind": "turbines", "turbine": "turbines", "turbines": "turbines", "windmill": "turbines",
    "lamp": "lamp", "bulb": "lamp", "aerial": "aerial", "drone": "aerial",
    "overhead": "aerial", "close": "closeup", "closeup": "closeup", "macro": "closeup",
    "beach": "beach", "island": "island", "boat": "boat", "sailboat": "boat",
}  # fmt: skip
_COLOR_WORDS: dict[str, RGB] = {
    "red": (0.9, 0.25, 0.2), "orange": (1.0, 0.55, 0.15), "yellow": (1.0, 0.85, 0.2),
    "gold": (1.0, 0.75, 0.3), "green": (0.3, 0.75, 0.35), "teal": (0.1, 0.65, 0.65),
    "blue": (0.2, 0.45, 0.95), "purple": (0.55, 0.3, 0.85), "violet": (0.6, 0.35, 0.9),
    "pink": (1.0, 0.5, 0.7), "magenta": (0.9, 0.25, 0.7), "warm": (1.0, 0.7, 0.4),
    "cool": (0.4, 0.65, 1.0), "cozy": (1.0, 0.72, 0.45), "pastel": (0.95, 0.8, 0.9),
}  # fmt: skip


@dataclass(frozen=True)
class Palette:
    sky: list[tuple[float, RGB]]  # gradient stops from the top of the frame to the horizon
    sun: RGB
    glow: RGB
    light: float  # how lit the land is (0 night .. 1 noon)
    haze: RGB  # the colour distant land fades into
    cloud: RGB


PALETTES: dict[str, Palette] = {
    "day": Palette(
        sky=[(0.0, (0.22, 0.48, 0.86)), (0.6, (0.5, 0.72, 0.95)), (1.0, (0.82, 0.91, 0.98))],
        sun=(1.0, 0.98, 0.88), glow=(1.0, 0.95, 0.75), light=1.0,
        haze=(0.72, 0.84, 0.95), cloud=(1.0, 1.0, 1.0),
    ),
    "sunrise": Palette(
        sky=[(0.0, (0.36, 0.5, 0.82)), (0.55, (0.93, 0.72, 0.7)), (1.0, (1.0, 0.86, 0.62))],
        sun=(1.0, 0.93, 0.7), glow=(1.0, 0.78, 0.5), light=0.85,
        haze=(0.95, 0.8, 0.72), cloud=(1.0, 0.86, 0.82),
    ),
    "sunset": Palette(
        sky=[(0.0, (0.17, 0.15, 0.42)), (0.5, (0.78, 0.36, 0.42)), (1.0, (1.0, 0.66, 0.32))],
        sun=(1.0, 0.85, 0.5), glow=(1.0, 0.55, 0.25), light=0.62,
        haze=(0.85, 0.5, 0.45), cloud=(0.98, 0.62, 0.55),
    ),
    "night": Palette(
        sky=[(0.0, (0.02, 0.03, 0.1)), (0.6, (0.06, 0.09, 0.22)), (1.0, (0.14, 0.18, 0.36))],
        sun=(0.95, 0.95, 0.88), glow=(0.6, 0.7, 0.95), light=0.3,
        haze=(0.14, 0.17, 0.32), cloud=(0.3, 0.33, 0.48),
    ),
}  # fmt: skip


@dataclass
class ScenePlan:
    time: str
    setting: str
    features: set[str] = field(default_factory=set)
    tint: RGB | None = None

    @property
    def palette(self) -> Palette:
        return PALETTES[self.time]


def plan_scene(prompt: str, rng: np.random.Generator) -> ScenePlan:
    """Pick the scene from the prompt's words; what the prompt leaves open the seed decides."""
    words = re.findall(r"[a-z]+", prompt.lower())
    time = _first_match(words, _TIME_WORDS)
    setting = _most_mentioned(words, _SETTING_WORDS)
    features = {_FEATURE_WORDS[w] for w in words if w in _FEATURE_WORDS}
    if setting is None and features & {"solar", "house", "turbines"}:
        setting = "field"
    if setting is None and "home" in words:  # "at home" means indoors unless a roof is named
        setting = "interior"
    if setting is None:
        setting = str(rng.choice(["field", "mountains", "ocean", "forest", "city"]))
    if time is None:
        if setting == "interior":
            time = "day"
        else:
            time = str(rng.choice(["day", "sunrise", "sunset", "night"], p=[0.45, 0.2, 0.25, 0.1]))
    tints = [_COLOR_WORDS[w] for w in words if w in _COLOR_WORDS]
    tint = tints[0] if tints else None
    return ScenePlan(time=time, setting=setting, features=features, tint=tint)


def _first_match(words: list[str], table: dict[str, str]) -> str | None:
    return next((table[w] for w in words if w in table), None)


def _most_mentioned(words: list[str], table: dict[str, str]) -> str | None:
    counts: dict[str, int] = {}
    for w in words:
        if w in table:
            counts[table[w]] = counts.get(table[w], 0) + 1
    if not counts:
        return None
    # Ties go to the setting named first: max() keeps the first of equal counts in dict order.
    return max(counts, key=lambda k: counts[k])
