"""Lite music engine: procedural background music (chords, bass, drums, pads) in a prompt's mood."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from gpu.engines.base import EngineOutput, ProgressFn, no_progress, stable_seed
from gpu.engines.lite.arrange import render_track
from gpu.engines.lite.composition import plan_music
from gpu.engines.lite.synth import RATE
from gpu.engines.media import write_wav
from gpu.schemas import MusicRequest

PEAK_DBFS = -3.0


def generate(
    request: MusicRequest, out_dir: Path, progress: ProgressFn = no_progress
) -> EngineOutput:
    """Write `music.wav` (44.1 kHz stereo, 16-bit) of exactly the requested duration."""
    plan = plan_music(request.prompt, request.seed)
    samples = max(1, round(request.duration_s * RATE))
    progress(0.05)
    rng = np.random.default_rng(stable_seed("parts", request.seed, plan.describe()))
    track = render_track(plan, samples, rng)
    progress(0.85)
    _fade(track, samples / RATE)
    peak = max(float(track.max()), -float(track.min()))
    if peak > 0:
        track *= (10 ** (PEAK_DBFS / 20)) / peak
    path = out_dir / "music.wav"
    write_wav(path, track, RATE)
    progress(1.0)
    return EngineOutput(
        files={"audio": path},
        engine=f"lite.procedural-music ({plan.describe()})",
        duration_s=samples / RATE,
    )


def _fade(track: np.ndarray, duration: float) -> None:
    """Fade in over up to 1 s and out over up to 3 s, shorter for short tracks."""
    n_in = int(min(1.0, duration * 0.1) * RATE)
    n_out = int(min(3.0, duration * 0.25) * RATE)
    if n_in > 0:
        track[:n_in] *= (np.sin(np.linspace(0, math.pi / 2, n_in, dtype=np.float32)) ** 2)[:, None]
    if n_out > 0:
        track[-n_out:] *= (np.cos(np.linspace(0, math.pi / 2, n_out, dtype=np.float32)) ** 2)[
            :, None
        ]


def run(
    request: BaseModel, inputs: Mapping[str, Path], out_dir: Path, progress: ProgressFn
) -> EngineOutput:
    """Engine entry point for `music`."""
    assert isinstance(request, MusicRequest)
    return generate(request, out_dir, progress)
