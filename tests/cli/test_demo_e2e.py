"""The demo brief all the way through the real CLI: a playable vertical MP4 of the planned
length, with speech, a music bed under it, and captions."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

from media.ffmpeg import ffmpeg_exe, probe
from tests.cli.test_demo import BRIEF, skyie

RATE = 16_000


def decode_mono(path: Path) -> np.ndarray:
    raw = subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            "-ac",
            "1",
            "-ar",
            str(RATE),
            "-f",
            "s16le",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.int16).astype(np.float32) / 32768.0


def window_dbfs(samples: np.ndarray, seconds: float) -> np.ndarray:
    size = int(RATE * seconds)
    frames = samples[: len(samples) // size * size].reshape(-1, size)
    rms = np.sqrt((frames**2).mean(axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-9))


def test_the_demo_brief_becomes_a_finished_video(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = skyie(BRIEF, "--json", "--out", str(out), home=tmp_path / "home")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    video, captions = Path(result["video"]), Path(result["captions"])
    assert video.parent == out and video.suffix == ".mp4" and captions.suffix == ".srt"

    info = probe(video)
    assert (info.width, info.height) == (1080, 1920)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert abs(info.duration_s - result["duration_s"]) < 0.1
    assert abs(info.duration_s - result["planned_s"]) <= 1.0, "length must match the script"

    audio = decode_mono(video)
    loudness = window_dbfs(audio, 0.25)
    assert np.percentile(loudness, 75) > -26, "speech should be clearly audible"
    # Between sentences the voice is silent; the music bed must still be there.
    assert loudness[2:-4].min() > -55, "a music bed should play under the whole video"

    srt = captions.read_text()
    spoken = " ".join(line.split("] ", 1)[-1] for line in result["script"].splitlines())
    for word in ("thermostat", "LED", "drafts"):
        assert word in spoken and word in srt
    assert srt.startswith("1\n00:00:00,")
