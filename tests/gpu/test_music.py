"""Lite music: exact duration, real sound at about -3 dBFS, moods from the prompt, seeded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gpu.engines.lite.composition import plan_music
from gpu.engines.lite.music import generate
from gpu.schemas import MusicRequest

from .conftest import read_wav


@pytest.mark.parametrize(
    ("prompt", "seconds"),
    [("upbeat corporate explainer", 6.5), ("lo-fi chill", 2.0), ("calm", 0.25)],
)
def test_exact_duration_and_level(prompt: str, seconds: float, tmp_path: Path) -> None:
    out = generate(MusicRequest(prompt=prompt, duration_s=seconds, seed=4), tmp_path)
    audio, rate = read_wav(out.files["audio"])
    assert rate == 44100 and audio.shape == (round(seconds * 44100), 2)
    assert out.duration_s == pytest.approx(seconds, abs=1 / 44100)
    peak_db = 20 * np.log10(np.abs(audio).max())
    assert peak_db == pytest.approx(-3.0, abs=0.1)
    assert np.sqrt(np.mean(audio**2)) > 0.02
    assert np.abs(audio[:, 0] - audio[:, 1]).mean() > 1e-4  # actually stereo


def test_seeded_and_prompt_driven(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    a = generate(MusicRequest(prompt="cinematic", duration_s=3, seed=1), tmp_path / "a")
    b = generate(MusicRequest(prompt="cinematic", duration_s=3, seed=1), tmp_path)
    assert read_wav(a.files["audio"])[0].tobytes() == read_wav(b.files["audio"])[0].tobytes()
    assert plan_music("epic cinematic trailer", 0).style.name == "cinematic"
    assert plan_music("lo-fi hip hop to study", 0).style.name == "lofi"
    assert plan_music("happy upbeat summer pop", 0).style.name == "upbeat"
    assert plan_music("something 95 bpm", 0).bpm == 95
    assert "lite.procedural-music (cinematic" in a.engine
