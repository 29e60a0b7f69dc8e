"""Lite video engines: a slow camera move (Ken Burns) over a key frame; t2v draws it first."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from pydantic import BaseModel

from gpu.engines.base import EngineOutput, ProgressFn, no_progress, require_input, stable_seed
from gpu.engines.lite.image import render_image
from gpu.engines.media import VideoPreset, VideoWriter, YuvStill, cover_box, load_image
from gpu.schemas import I2VRequest, T2VRequest

ENGINE_I2V = "lite.kenburns"
ENGINE_T2V = "lite.scene+kenburns"
# The still is prepared this much larger than the frame so every move stays inside it.
OVERSCAN = 1.18
MOVES = ("zoom_in", "zoom_out", "pan_left", "pan_right", "tilt_up", "tilt_down", "drift")
_PROMPT_MOVES = [
    (r"zoom(ing)? out|pull(s|ing)? back|reveal", "zoom_out"),
    (r"zoom|push(es|ing)? in|close-?up|macro|dolly", "zoom_in"),
    (r"aerial|drone|fly(ing)?[ -]?over|overhead", "drift"),
    (r"tilt(s|ing)? up|looking up|rising", "tilt_up"),
    (r"tilt(s|ing)? down", "tilt_down"),
    (r"pan(s|ning)? left", "pan_left"),
    (r"pan(s|ning)?|panorama|tracking|skyline", "pan_right"),
]


@dataclass(frozen=True)
class Move:
    """A camera move as start and end view windows: centre (fractions of the still) and zoom."""

    start: tuple[float, float, float]
    end: tuple[float, float, float]


def choose_move(prompt: str, seed: int) -> str:
    """The camera move a prompt asks for, else one picked by the seed."""
    text = prompt.lower()
    for pattern, move in _PROMPT_MOVES:
        if re.search(pattern, text):
            return move
    return MOVES[stable_seed("move", text, seed) % len(MOVES)]


def _move_path(name: str) -> Move:
    margin = 0.5 * (1 - 1 / 1.12)  # how far a 1.12x view window's centre can travel
    paths = {
        "zoom_in": Move((0.5, 0.5, 1.0), (0.5, 0.47, 1.16)),
        "zoom_out": Move((0.5, 0.47, 1.16), (0.5, 0.5, 1.0)),
        "pan_left": Move((0.5 + margin, 0.5, 1.12), (0.5 - margin, 0.5, 1.12)),
        "pan_right": Move((0.5 - margin, 0.5, 1.12), (0.5 + margin, 0.5, 1.12)),
        "tilt_up": Move((0.5, 0.5 + margin, 1.12), (0.5, 0.5 - margin, 1.12)),
        "tilt_down": Move((0.5, 0.5 - margin, 1.12), (0.5, 0.5 + margin, 1.12)),
        "drift": Move(
            (0.5 - margin * 0.6, 0.5 + margin * 0.5, 1.06),
            (0.5 + margin * 0.6, 0.5 - margin * 0.3, 1.14),
        ),
    }
    return paths[name]


def render_move(
    still: Image.Image,
    out: Path,
    *,
    width: int,
    height: int,
    fps: int,
    duration_s: float,
    move: str,
    preset: VideoPreset = "fast",
    progress: ProgressFn = no_progress,
) -> int:
    """Encode the camera move over `still` to an MP4 at width x height; returns the frame count.

    Each frame is one sub-pixel resize of a window of the still (PIL's C resize with a float box),
    so the motion has no integer-rounding jitter; ffmpeg encodes in a parallel process.
    """
    if width % 2 or height % 2:
        raise ValueError(f"frame size must be even, got {width}x{height}")
    src_w, src_h = round(width * OVERSCAN), round(height * OVERSCAN)
    if still.size != (src_w, src_h):
        still = still.resize(
            (src_w, src_h), Image.Resampling.LANCZOS, box=cover_box(*still.size, src_w, src_h)
        )
    planes = YuvStill(still)
    src_w, src_h = planes.size
    path = _move_path(move)
    frames = max(1, round(duration_s * fps))
    with VideoWriter(
        out, width=width, height=height, fps=fps, preset=preset, pix_fmt="yuv420p"
    ) as writer:
        for n in range(frames):
            t = n / max(frames - 1, 1)
            # Mostly eased (no jolt at the cut) but never fully stopped at either end.
            p = 0.3 * t + 0.7 * (0.5 - 0.5 * math.cos(math.pi * t))
            cx, cy, zoom = (a + (b - a) * p for a, b in zip(path.start, path.end, strict=True))
            win_w, win_h = src_w / zoom, src_h / zoom
            left = min(max(cx * src_w - win_w / 2, 0.0), src_w - win_w)
            top = min(max(cy * src_h - win_h / 2, 0.0), src_h - win_h)
            box = (left, top, left + win_w, top + win_h)
            writer.write_yuv(planes.frame(box, width, height))
            if n % 15 == 0:
                progress(0.1 + 0.85 * n / frames)
    progress(1.0)
    return frames


def image_to_video(
    request: I2VRequest, image: Path, out_dir: Path, progress: ProgressFn = no_progress
) -> EngineOutput:
    """i2v / ti2v: animate the uploaded key frame with a camera move chosen from the prompt."""
    still = load_image(image, what="key frame image (image_file_id)")
    out = out_dir / "clip.mp4"
    frames = render_move(
        still, out, width=request.width, height=request.height, fps=request.fps,
        duration_s=request.duration_s, move=choose_move(request.prompt, request.seed),
        preset=request.preset, progress=progress,
    )  # fmt: skip
    return _video_output(out, frames, request, ENGINE_I2V)


def text_to_video(
    request: T2VRequest, out_dir: Path, progress: ProgressFn = no_progress
) -> EngineOutput:
    """t2v: draw the key frame from the prompt (already overscanned), then move over it."""
    src_w, src_h = round(request.width * OVERSCAN), round(request.height * OVERSCAN)
    still = render_image(request.prompt, src_w, src_h, request.seed)
    progress(0.1)
    out = out_dir / "clip.mp4"
    frames = render_move(
        still, out, width=request.width, height=request.height, fps=request.fps,
        duration_s=request.duration_s, move=choose_move(request.prompt, request.seed),
        preset=request.preset, progress=progress,
    )  # fmt: skip
    return _video_output(out, frames, request, ENGINE_T2V)


def _video_output(path: Path, frames: int, request: T2VRequest, engine: str) -> EngineOutput:
    return EngineOutput(
        files={"video": path}, engine=engine, duration_s=frames / request.fps,
        width=request.width, height=request.height,
    )  # fmt: skip


def run_i2v(
    request: BaseModel, inputs: Mapping[str, Path], out_dir: Path, progress: ProgressFn
) -> EngineOutput:
    """Engine entry point for `i2v` and `ti2v`."""
    assert isinstance(request, I2VRequest)
    return image_to_video(request, require_input(inputs, "image_file_id"), out_dir, progress)


def run_t2v(
    request: BaseModel, inputs: Mapping[str, Path], out_dir: Path, progress: ProgressFn
) -> EngineOutput:
    """Engine entry point for `t2v`."""
    assert isinstance(request, T2VRequest)
    return text_to_video(request, out_dir, progress)
