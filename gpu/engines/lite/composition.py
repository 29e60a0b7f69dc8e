"""What a music prompt asks for: style (mood), tempo, key and chord progression."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from gpu.engines.base import stable_seed
from gpu.engines.lite.synth import RATE

_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
_NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


@dataclass(frozen=True)
class Style:
    name: str
    tempo: tuple[int, int]
    minor: bool
    progressions: tuple[tuple[int, ...], ...]  # scale degrees, one chord per bar
    drums: str  # "four", "backbeat", "lofi", "boom", "soft", "none"
    bass: str  # "eighths", "roots", "syncopated"
    lead: str  # "arp", "piano", "bell", "none"
    sevenths: bool
    brightness: float  # harmonic rolloff of the pad, 0..1
    reverb_s: float
    swing: float = 0.0


STYLES: dict[str, Style] = {
    "upbeat": Style(
        name="upbeat",
        tempo=(116, 128),
        minor=False,
        progressions=((0, 4, 5, 3), (0, 5, 3, 4), (5, 3, 0, 4)),
        drums="four",
        bass="eighths",
        lead="arp",
        sevenths=False,
        brightness=0.62,
        reverb_s=1.0,
        swing=0.0,
    ),
    "corporate": Style(
        name="corporate",
        tempo=(100, 112),
        minor=False,
        progressions=((0, 4, 5, 3), (3, 0, 4, 5), (0, 3, 5, 4)),
        drums="soft",
        bass="eighths",
        lead="arp",
        sevenths=False,
        brightness=0.55,
        reverb_s=1.3,
        swing=0.0,
    ),
    "calm": Style(
        name="calm",
        tempo=(68, 80),
        minor=False,
        progressions=((0, 3, 5, 4), (0, 5, 3, 4), (3, 4, 0, 0)),
        drums="none",
        bass="roots",
        lead="bell",
        sevenths=True,
        brightness=0.4,
        reverb_s=2.2,
        swing=0.0,
    ),
    "lofi": Style(
        name="lofi",
        tempo=(74, 88),
        minor=False,
        progressions=((1, 4, 0, 5), (3, 2, 1, 4), (0, 5, 1, 4)),
        drums="lofi",
        bass="syncopated",
        lead="piano",
        sevenths=True,
        brightness=0.35,
        reverb_s=1.2,
        swing=0.12,
    ),
    "cinematic": Style(
        name="cinematic",
        tempo=(64, 78),
        minor=True,
        progressions=((0, 5, 2, 6), (0, 3, 5, 4), (5, 3, 0, 4)),
        drums="boom",
        bass="roots",
        lead="bell",
        sevenths=False,
        brightness=0.55,
        reverb_s=2.6,
        swing=0.0,
    ),
    "dark": Style(
        name="dark",
        tempo=(60, 72),
        minor=True,
        progressions=((0, 5, 0, 4), (0, 1, 0, 6), (0, 3, 1, 4)),
        drums="boom",
        bass="roots",
        lead="none",
        sevenths=False,
        brightness=0.45,
        reverb_s=2.4,
        swing=0.0,
    ),
}
_MOOD_WORDS = {
    "upbeat": "upbeat", "energetic": "upbeat", "happy": "upbeat", "fun": "upbeat",
    "dance": "upbeat", "pop": "upbeat", "party": "upbeat", "summer": "upbeat", "playful": "upbeat",
    "bright": "upbeat", "corporate": "corporate", "business": "corporate", "tech": "corporate",
    "startup": "corporate", "explainer": "corporate", "motivational": "corporate",
    "uplifting": "corporate", "positive": "corporate", "calm": "calm", "relaxing": "calm",
    "peaceful": "calm", "gentle": "calm", "soft": "calm", "ambient": "calm", "meditation": "calm",
    "soothing": "calm", "piano": "calm", "lofi": "lofi", "chill": "lofi", "chillhop": "lofi",
    "hiphop": "lofi", "jazzy": "lofi", "study": "lofi", "cozy": "lofi", "cinematic": "cinematic",
    "epic": "cinematic", "trailer": "cinematic", "orchestral": "cinematic",
    "inspiring": "cinematic", "emotional": "cinematic", "documentary": "cinematic", "dark": "dark",
    "sad": "dark", "mysterious": "dark", "tense": "dark", "suspense": "dark", "horror": "dark",
    "dramatic": "dark",
}  # fmt: skip


@dataclass(frozen=True)
class Plan:
    style: Style
    bpm: float
    root: int  # MIDI note of the key's root in the bass octave
    progression: tuple[int, ...]

    @property
    def bar_samples(self) -> int:
        return round(4 * 60 / self.bpm * RATE)

    def describe(self) -> str:
        mode = "minor" if self.style.minor else "major"
        return f"{self.style.name}, {self.bpm:.0f} bpm, {_NOTE_NAMES[self.root % 12]} {mode}"


def plan_music(prompt: str, seed: int) -> Plan:
    """The style the prompt's words ask for (lo-fi, calm, ...), tempo and key chosen by the seed."""
    text = (
        prompt.lower()
        .replace("lo-fi", "lofi")
        .replace("hip hop", "hiphop")
        .replace("hip-hop", "hiphop")
    )
    words = re.findall(r"[a-z]+", text)
    mood = next((_MOOD_WORDS[w] for w in words if w in _MOOD_WORDS), "corporate")
    style = STYLES[mood]
    rng = np.random.default_rng(stable_seed("music", text, seed))
    bpm_match = re.search(r"(\d{2,3})\s*bpm", text)
    bpm = (
        float(bpm_match.group(1))
        if bpm_match
        else float(rng.integers(style.tempo[0], style.tempo[1] + 1))
    )
    bpm = min(max(bpm, 50.0), 180.0)
    root = 40 + int(rng.integers(0, 9))  # E2 .. C3
    progression = style.progressions[int(rng.integers(len(style.progressions)))]
    return Plan(style=style, bpm=bpm, root=root, progression=progression)


def chord_notes(plan: Plan, degree: int, octave_base: int) -> list[int]:
    """MIDI notes of the chord on a scale degree, voiced upward from `octave_base`."""
    scale = _MINOR if plan.style.minor else _MAJOR
    steps = (0, 2, 4, 6) if plan.style.sevenths else (0, 2, 4)
    notes = []
    for step in steps:
        index = degree + step
        notes.append(plan.root % 12 + octave_base + scale[index % 7] + 12 * (index // 7))
    return notes
