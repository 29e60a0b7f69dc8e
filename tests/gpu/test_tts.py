"""Lite TTS: real eSpeak NG speech, plausible length, word timings that match the text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gpu.engines.base import EngineError
from gpu.engines.lite.pitch import median_f0
from gpu.engines.lite.tts import VOICES, synthesize
from gpu.schemas import TTSRequest

from .conftest import read_wav

TEXT = "Hi, I'm Maya. Three ways to cut your energy bill, in 30 seconds!"


def test_speech_is_audible_with_plausible_length(tmp_path: Path) -> None:
    out = synthesize(TTSRequest(text=TEXT, speed_wpm=165), tmp_path)
    audio, rate = read_wav(out.files["audio"])
    assert audio.shape[1] == 1 and rate == 22050
    assert float(np.sqrt(np.mean(audio**2))) > 0.02
    expected = len(TEXT.split()) / 165 * 60
    assert out.duration_s == pytest.approx(audio.shape[0] / rate)
    assert 0.5 * expected < out.duration_s < 2.0 * expected


def test_word_timings_follow_the_text(tmp_path: Path) -> None:
    out = synthesize(TTSRequest(text=TEXT), tmp_path)
    assert [w.word for w in out.words] == TEXT.split()
    for word, after in zip(out.words, out.words[1:], strict=False):
        assert word.start <= word.end <= after.start
    assert out.words[-1].end <= out.duration_s + 1e-6
    assert all(w.end - w.start > 0.05 for w in out.words)


def test_rate_changes_duration_and_is_deterministic(tmp_path: Path) -> None:
    slow = synthesize(TTSRequest(text=TEXT, speed_wpm=70), _mk(tmp_path / "slow"))
    fast = synthesize(TTSRequest(text=TEXT, speed_wpm=300), tmp_path)
    assert slow.duration_s is not None and fast.duration_s is not None
    assert slow.duration_s > 2 * fast.duration_s
    again = synthesize(TTSRequest(text=TEXT, speed_wpm=300), tmp_path / "slow")
    assert read_wav(again.files["audio"])[0].tobytes() == read_wav(fast.files["audio"])[0].tobytes()


def test_voices_and_reference_pitch(tmp_path: Path) -> None:
    female = synthesize(TTSRequest(text=TEXT, voice="female"), _mk(tmp_path / "f"))
    male = synthesize(TTSRequest(text=TEXT, voice="male"), _mk(tmp_path / "m"))
    f_audio, rate = read_wav(female.files["audio"])
    m_audio, _ = read_wav(male.files["audio"])
    f0_female, f0_male = median_f0(f_audio[:, 0], rate), median_f0(m_audio[:, 0], rate)
    assert f0_female and f0_male and f0_female > 1.4 * f0_male
    cloned = synthesize(
        TTSRequest(text="A different sentence to say."),
        _mk(tmp_path / "c"),
        reference=female.files["audio"],
    )
    assert "lite approximation" in cloned.engine
    c_audio, _ = read_wav(cloned.files["audio"])
    assert median_f0(c_audio[:, 0], rate) == pytest.approx(f0_female, rel=0.15)


def test_bad_voice_and_language_are_named(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match=r"unknown voice 'robot'.*female"):
        synthesize(TTSRequest(text="hi", voice="robot"), tmp_path)
    with pytest.raises(EngineError, match="no voice for language 'xx'"):
        synthesize(TTSRequest(text="hi", language="xx"), tmp_path)
    with pytest.raises(EngineError, match="nothing speakable"):
        synthesize(TTSRequest(text=" ... "), tmp_path)
    assert "default" in VOICES


def test_other_languages(tmp_path: Path) -> None:
    out = synthesize(TTSRequest(text="Guten Tag, wie geht es Ihnen?", language="de"), tmp_path)
    assert [w.word for w in out.words] == ["Guten", "Tag,", "wie", "geht", "es", "Ihnen?"]


def _mk(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
