"""Lite video: real H.264 clips whose frames move smoothly over time."""

from __future__ import annotations

import itertools
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from gpu.engines.base import EngineError
from gpu.engines.lite.image import render_image
from gpu.engines.lite.motion import MOVES, choose_move, image_to_video, text_to_video
from gpu.schemas import I2VRequest, T2VRequest

from .conftest import probe_streams, video_frames


def test_i2v_moves_the_camera_smoothly(tmp_path: Path) -> None:
    still = tmp_path / "key.png"
    render_image("mountains at sunrise", 400, 400, 1).save(still)
    request = I2VRequest(
        prompt="slow zoom", image_file_id="f", duration_s=1.5, fps=12, width=180, height=320
    )
    out = image_to_video(request, still, tmp_path)
    frames, fps = video_frames(out.files["video"])
    assert len(frames) == 18 and fps == 12 and frames[0].shape == (320, 180, 3)
    assert imageio_ffmpeg.count_frames_and_secs(str(out.files["video"]))[1] == pytest.approx(
        1.5, abs=0.1
    )
    first, last = frames[0].astype(np.int16), frames[-1].astype(np.int16)
    assert np.abs(first - last).mean() > 3  # the view changed
    steps = [np.abs(a.astype(np.int16) - b).mean() for a, b in itertools.pairwise(frames)]
    assert max(steps) < np.abs(first - last).mean()  # ... gradually, not in jumps
    streams = probe_streams(out.files["video"])
    assert "h264" in streams and "yuv420p" in streams and "Audio" not in streams


def test_t2v_draws_then_moves(tmp_path: Path) -> None:
    request = T2VRequest(
        prompt="city skyline at night, pan", duration_s=1.0, fps=10, width=180, height=320
    )
    out = text_to_video(request, tmp_path)
    frames, _ = video_frames(out.files["video"])
    assert len(frames) == 10 and out.duration_s == pytest.approx(1.0)
    assert np.abs(frames[0].astype(np.int16) - frames[-1]).mean() > 2


def test_moves_follow_the_prompt_or_the_seed() -> None:
    assert choose_move("aerial drone shot over fields", 0) == "drift"
    assert choose_move("close-up of a thermostat", 0) == "zoom_in"
    assert choose_move("zoom out to reveal the city", 0) == "zoom_out"
    assert choose_move("a tree", 1) in MOVES
    assert len({choose_move("a tree", seed) for seed in range(20)}) > 2


def test_unreadable_key_frame_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "key.png"
    bad.write_bytes(b"\x89PNG broken")
    request = I2VRequest(prompt="x", image_file_id="f", duration_s=1, width=64, height=64)
    with pytest.raises(
        EngineError, match=r"key frame image \(image_file_id\) is not a readable image"
    ):
        image_to_video(request, bad, tmp_path)
