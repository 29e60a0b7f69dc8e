"""Arranges a music plan into a stereo track: sections, parts per bar, drums, reverb."""

from __future__ import annotations

import math

import numpy as np

from gpu.engines.lite import synth
from gpu.engines.lite.composition import Plan, chord_notes
from gpu.engines.lite.synth import RATE

# Drum patterns on 16 steps per bar: instrument -> [(step, velocity)].
_DRUMS: dict[str, dict[str, list[tuple[int, float]]]] = {
    "four": {
        "kick": [(0, 1.0), (4, 1.0), (8, 1.0), (12, 1.0)],
        "snare": [(4, 0.8), (12, 0.8)],
        "hat": [(s, 0.55 if s % 4 == 2 else 0.25) for s in range(0, 16, 2)],
    },
    "soft": {
        "kick": [(0, 0.8), (8, 0.7), (10, 0.4)],
        "snare": [(4, 0.45), (12, 0.45)],
        "hat": [(s, 0.3) for s in range(0, 16, 2)],
    },
    "lofi": {
        "kick": [(0, 0.9), (7, 0.6), (10, 0.75)],
        "snare": [(4, 0.7), (12, 0.7)],
        "hat": [(s, 0.35 if s % 4 == 0 else 0.22) for s in range(0, 16, 2)],
    },
    "boom": {"boom": [(0, 1.0), (10, 0.45)]},
    "none": {},
}
_GAINS = {
    "pad": 0.32,
    "bass": 0.42,
    "lead": 0.2,
    "kick": 0.75,
    "snare": 0.32,
    "hat": 0.12,
    "boom": 0.8,
}


def _pan(mono: np.ndarray, position: float) -> np.ndarray:
    """Equal-power pan, position -1 (left) .. 1 (right)."""
    angle = (position + 1) * math.pi / 4
    return np.stack([mono * math.cos(angle), mono * math.sin(angle)], axis=1)


def _add(out: np.ndarray, start: int, part: np.ndarray) -> None:
    end = min(start + part.shape[0], out.shape[0])
    if end > start:
        out[start:end] += part[: end - start]


class _Parts:
    """Renders each distinct bar of each part once; a track reuses them bar after bar."""

    def __init__(self, plan: Plan, rng: np.random.Generator) -> None:
        self.plan, self.rng = plan, rng
        self.bar = plan.bar_samples
        self.beat = self.bar / 4
        self.cache: dict[tuple[str, int, int], np.ndarray] = {}
        self.phases = rng.uniform(0, 2 * np.pi, 16)
        self.motifs = [rng.integers(0, 4, 8) for _ in range(2)]

    def get(self, part: str, degree: int, variant: int) -> np.ndarray:
        key = (part, degree, variant)
        if key not in self.cache:
            render = {"pad": self._pad, "bass": self._bass, "lead": self._lead}[part]
            self.cache[key] = render(degree, variant)
        return self.cache[key]

    def _pad(self, degree: int, variant: int) -> np.ndarray:
        style = self.plan.style
        n = self.bar + int(1.2 * RATE)
        attack = 0.8 if style.name in ("calm", "cinematic", "dark") else 0.25
        env = synth.envelope(n, attack, 1.0, 1.0, self.bar, 0.45)
        notes = chord_notes(self.plan, degree, 48)
        stereo = np.zeros((n, 2), dtype=np.float32)
        for i, note in enumerate(notes):
            for ch, cents in enumerate((-7.0, 7.0)):  # detuned voices, one per side: a chorus
                voice = synth.tone(
                    note, n, 7, style.brightness, cents, float(self.phases[i * 2 + ch])
                )
                stereo[:, ch] += voice * env
        return stereo / len(notes)

    def _bass(self, degree: int, variant: int) -> np.ndarray:
        style = self.plan.style
        root = chord_notes(self.plan, degree, 36)[0]
        root -= 12 if root > 47 else 0
        fifth = root + 7
        hits: list[tuple[float, float, int]]  # (beat, length in beats, note)
        if style.bass == "eighths":
            hits = [(b / 2, 0.42, root if b % 4 != 3 else fifth) for b in range(8)]
        elif style.bass == "syncopated":
            hits = [(0, 1.2, root), (1.5, 0.8, root), (2.5, 1.2, fifth)]
        else:
            hits = [(0, 3.6, root)]
        n = self.bar + int(0.5 * RATE)
        out = np.zeros(n, dtype=np.float32)
        for beat, length, note in hits:
            start, dur = int(beat * self.beat), int(length * self.beat)
            m = dur + int(0.2 * RATE)
            body = synth.tone(note, m, 4, 0.35) * synth.envelope(m, 0.006, 0.25, 0.6, dur, 0.05)
            _add(out[:, None], start, body[:, None])
        return _pan(out, 0.0)

    def _lead(self, degree: int, variant: int) -> np.ndarray:
        style = self.plan.style
        n = self.bar + int(2.0 * RATE)
        out = np.zeros(n, dtype=np.float32)
        notes = chord_notes(self.plan, degree, 72 if style.lead == "arp" else 60)
        motif = self.motifs[variant % 2]
        if style.lead == "arp":
            step = 0.25 if style.name == "upbeat" else 0.5
            for k in range(int(4 / step)):
                note = notes[int(motif[k % 8]) % len(notes)] + (12 if variant and k % 4 == 3 else 0)
                self._pluck(out, int(k * step * self.beat), note, 0.22, 6.0)
            return _pan(out, 0.3)
        if style.lead == "piano":
            for beat in (0.0, 2.5 + self.plan.style.swing):
                for note in notes:
                    self._pluck(out, int(beat * self.beat), note, 0.9, 3.0, gain=0.5)
            return _pan(out, -0.2)
        if style.lead == "bell":
            for k, beat in enumerate((0.0, 2.0) if variant == 0 else (0.0, 1.5, 3.0)):
                note = notes[int(motif[k]) % len(notes)] + 12
                self._bell(out, int(beat * self.beat), note)
            return _pan(out, 0.15)
        return _pan(out, 0.0)

    def _pluck(
        self,
        out: np.ndarray,
        start: int,
        note: int,
        decay: float,
        damping: float,
        gain: float = 1.0,
    ) -> None:
        m = int((decay * 4 + 0.05) * RATE)
        body = synth.tone(note, m, 6, 0.5, decay_per_harmonic=damping)
        body *= synth.envelope(m, 0.003, decay, 0.0, m, 0.05) * gain
        _add(out[:, None], start, body[:, None])

    def _bell(self, out: np.ndarray, start: int, note: int) -> None:
        m = int(2.2 * RATE)
        body = synth.tone(note, m, 1, 1.0) + 0.35 * synth.tone(
            note + 12 * math.log2(2.76), m, 1, 1.0
        )
        body *= synth.envelope(m, 0.004, 0.9, 0.0, m, 0.1)
        _add(out[:, None], start, body[:, None])


def _energy(bar: int, bars: int) -> int:
    """0: pad only (intro), 1: pad + bass + drums, 2: everything; sections of 8 bars alternate."""
    intro = 0 if bars <= 3 else (1 if bars <= 8 else 2)
    if bar < intro:
        return 0
    if bars > 8 and bar >= bars - 1:
        return 1
    return 2 if ((bar - intro) // 8) % 2 == 0 or (bar - intro) % 8 >= 4 else 1


def render_track(plan: Plan, samples: int, rng: np.random.Generator) -> np.ndarray:
    """The arranged stereo track (samples, 2), float32, not yet normalised."""
    style = plan.style
    bar = plan.bar_samples
    bars = max(1, math.ceil(samples / bar))
    tail = int(2.5 * RATE)
    out = np.zeros((samples + tail, 2), dtype=np.float32)
    send = np.zeros(samples + tail, dtype=np.float32)  # what goes to the reverb
    parts = _Parts(plan, rng)
    kit = {
        "kick": synth.kick(rng),
        "snare": synth.snare(rng),
        "hat": synth.hat(rng),
        "boom": synth.boom(rng),
    }
    pattern = _DRUMS[style.drums]
    for b in range(bars):
        degree = plan.progression[b % len(plan.progression)]
        start = b * bar
        energy = _energy(b, bars)
        variant = (b // 4) % 2
        pad = parts.get("pad", degree, 0) * _GAINS["pad"]
        _add(out, start, pad)
        _add(send[:, None], start, pad.mean(axis=1, keepdims=True) * 0.6)
        if energy >= 1:
            _add(out, start, parts.get("bass", degree, 0) * _GAINS["bass"])
            for name, hits in pattern.items():
                for step, velocity in hits:
                    swing = style.swing * parts.beat if step % 4 == 2 else 0.0
                    hit = kit[name] * (velocity * _GAINS[name])
                    at = start + int(step * bar / 16 + swing)
                    _add(out, at, _pan(hit, 0.25 if name == "hat" else 0.0))
                    if name in ("snare", "boom"):
                        _add(send[:, None], at, hit[:, None] * 0.3)
        if energy >= 2 and style.lead != "none":
            lead = parts.get("lead", degree, variant) * _GAINS["lead"]
            _add(out, start, lead)
            _add(send[:, None], start, lead.mean(axis=1, keepdims=True) * 0.7)
    if style.name == "lofi":
        _vinyl(out, rng)
    synth.convolve_into(out, send, synth.reverb_ir(rng, style.reverb_s), 0.45)
    return out[:samples]


def _vinyl(out: np.ndarray, rng: np.random.Generator) -> None:
    """Lo-fi texture: faint hiss and sparse crackles."""
    n = out.shape[0]
    out += (rng.normal(0, 0.004, (n, 1))).astype(np.float32)
    clicks = rng.integers(0, n, int(n / RATE * 6))
    out[clicks] += rng.uniform(-0.05, 0.05, (clicks.size, 1)).astype(np.float32)
