"""Lite talking avatar: the mouth moves with the speech, the clip lasts as long as the audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gpu.engines.base import EngineError
from gpu.engines.lite.avatar import talking_head
from gpu.engines.lite.face import FaceGeometry, embedded_geometry, estimate_geometry
from gpu.engines.lite.mouth import blink_schedule, mouth_openness
from gpu.engines.lite.tts import synthesize
from gpu.engines.media import write_wav
from gpu.schemas import TTSRequest

from .conftest import DEFAULT_AVATAR, probe_streams, read_wav, video_frames

FPS = 25


@pytest.fixture
def speech_after_silence(tmp_path: Path) -> Path:
    """One second of silence, then speech."""
    speech = synthesize(TTSRequest(text="Hello, and welcome to the show."), tmp_path)
    audio, rate = read_wav(speech.files["audio"])
    path = tmp_path / "padded.wav"
    write_wav(path, np.concatenate([np.zeros(rate, np.float32), audio[:, 0]]), rate)
    return path


def dark_mouth_pixels(frame: np.ndarray, geo: FaceGeometry) -> int:
    """Dark pixels around the mouth: the open mouth's inside is dark, closed lips are not.
    Counting them is robust to the gentle sway that moves the whole frame."""
    h, w = frame.shape[:2]
    x, y, mw = geo.mouth_x * w, geo.mouth_y * h, geo.mouth_width * w
    box = frame[int(y - mw * 0.3) : int(y + mw * 0.7), int(x - mw * 0.6) : int(x + mw * 0.6)]
    luma = box.astype(np.float32) @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    return int((luma < 75).sum())


def test_mouth_moves_with_speech_not_in_silence(speech_after_silence: Path, tmp_path: Path) -> None:
    out = talking_head(
        DEFAULT_AVATAR, speech_after_silence, tmp_path, width=180, height=320, fps=FPS, seed=0
    )
    frames, _ = video_frames(out.files["video"])
    geo = FaceGeometry.model_validate_json(DEFAULT_AVATAR.with_suffix(".json").read_text())
    silent = [dark_mouth_pixels(f, geo) for f in frames[2:22]]
    speaking = [dark_mouth_pixels(f, geo) for f in frames[28:]]
    assert max(speaking) > 3 * max(max(silent), 5)
    # The mouth also closes again between words: it is not just held open.
    assert min(speaking) < max(speaking) / 2
    assert len(frames) == round(out.duration_s * FPS)
    assert "h264" in probe_streams(out.files["video"])


def test_clip_lasts_as_long_as_the_audio(tmp_path: Path) -> None:
    audio = tmp_path / "tone.wav"
    t = np.arange(int(16000 * 1.3)) / 16000
    write_wav(audio, 0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 3 * t) > 0), 16000)
    portrait = tmp_path / "p.jpg"
    Image.new("RGB", (300, 300), (200, 160, 140)).save(portrait)
    out = talking_head(portrait, audio, tmp_path, width=128, height=128, fps=20, seed=1)
    frames, _ = video_frames(out.files["video"])
    assert len(frames) == 26 and abs(out.duration_s - 1.3) <= 1 / 20  # type: ignore[operator]


def test_bad_inputs_are_named(speech_after_silence: Path, tmp_path: Path) -> None:
    text = tmp_path / "portrait.png"
    text.write_text("not an image")
    with pytest.raises(
        EngineError, match=r"portrait image \(portrait_file_id\) is not a readable image"
    ):
        talking_head(text, speech_after_silence, tmp_path, width=64, height=64, fps=10, seed=0)
    with pytest.raises(EngineError, match=r"speech audio \(audio_file_id\) is not readable audio"):
        talking_head(DEFAULT_AVATAR, text, tmp_path, width=64, height=64, fps=10, seed=0)


def test_default_avatar_carries_its_geometry() -> None:
    with Image.open(DEFAULT_AVATAR) as image:
        assert image.size == (1080, 1920)
        embedded = embedded_geometry(image)
    sidecar = FaceGeometry.model_validate_json(DEFAULT_AVATAR.with_suffix(".json").read_text())
    assert embedded == sidecar and len(sidecar.eyes) == 2
    # The skin-colour guess for the same portrait lands near the known mouth.
    guess = estimate_geometry(Image.open(DEFAULT_AVATAR).convert("RGB"))
    assert (
        abs(guess.mouth_x - sidecar.mouth_x) < 0.05 and abs(guess.mouth_y - sidecar.mouth_y) < 0.08
    )


def test_openness_and_blinks() -> None:
    rate = 16000
    quiet = np.zeros(rate, np.float32)
    loud = (0.4 * np.sin(np.arange(rate) / rate * 2 * np.pi * 200)).astype(np.float32)
    open_ = mouth_openness(np.concatenate([quiet, loud]), rate, 25, 50)
    assert open_[:20].max() == 0 and open_[30:].min() > 0.5
    blinks = blink_schedule(250, 25, seed=3)
    assert 1 <= int((np.diff((blinks > 0.5).astype(int)) == 1).sum()) <= 5
    assert np.array_equal(blinks, blink_schedule(250, 25, seed=3))
