"""Lite talking avatar: a portrait whose mouth follows the speech loudness, with blinks and sway."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from pydantic import BaseModel

from gpu.engines.base import EngineError, EngineOutput, ProgressFn, no_progress, require_input
from gpu.engines.lite.face import FaceGeometry, embedded_geometry, estimate_geometry
from gpu.engines.lite.mouth import MouthRig, blink_eye, blink_schedule, mouth_openness
from gpu.engines.media import VideoWriter, YuvStill, cover_box, decode_audio, load_image
from gpu.schemas import LipsyncRequest

ENGINE = "lite.avatar (2D mouth warp from the speech loudness)"
OVERSCAN = 1.04  # margin around the frame that the gentle sway moves within
_AUDIO_RATE = 16_000


@dataclass(frozen=True)
class Region:
    """An even-aligned pixel box in the prepared still, and the feature's centre inside it."""

    x: int
    y: int
    w: int
    h: int
    cx: float
    cy: float


def _region(
    cx: float, cy: float, half_w: float, up: float, down: float, size: tuple[int, int]
) -> Region:
    x0 = max(int(cx - half_w) // 2 * 2, 0)
    y0 = max(int(cy - up) // 2 * 2, 0)
    x1 = min(math.ceil(cx + half_w) // 2 * 2 + 2, size[0])
    y1 = min(math.ceil(cy + down) // 2 * 2 + 2, size[1])
    return Region(x0, y0, x1 - x0, y1 - y0, cx - x0, cy - y0)


def talking_head(
    portrait: Path,
    audio: Path,
    out_dir: Path,
    *,
    width: int,
    height: int,
    fps: int,
    seed: int,
    geometry: FaceGeometry | None = None,
    progress: ProgressFn = no_progress,
) -> EngineOutput:
    """Write `avatar.mp4` (no audio track) lasting as long as `audio`, at width x height."""
    image = load_image(portrait, what="portrait image (portrait_file_id)")
    geo = geometry or embedded_geometry(image) or estimate_geometry(image)
    samples = decode_audio(audio, _AUDIO_RATE, what="speech audio (audio_file_id)")
    frames = max(1, round(samples.size / _AUDIO_RATE * fps))
    openness = mouth_openness(samples, _AUDIO_RATE, fps, frames)
    progress(0.05)

    src_w, src_h = round(width * OVERSCAN) // 2 * 2, round(height * OVERSCAN) // 2 * 2
    crop = cover_box(image.width, image.height, src_w, src_h)
    prepared = image.resize((src_w, src_h), Image.Resampling.LANCZOS, box=crop)
    to_px = src_w / (crop[2] - crop[0])

    def place(fx: float, fy: float) -> tuple[float, float]:
        return (fx * image.width - crop[0]) * to_px, (fy * image.height - crop[1]) * to_px

    rgb = np.asarray(prepared, dtype=np.float32) / 255.0
    still = YuvStill(prepared)
    mouth_w = geo.mouth_width * image.width * to_px
    mx, my = place(geo.mouth_x, geo.mouth_y)
    mouth = _region(mx, my, mouth_w * 1.1, mouth_w * 0.4, mouth_w * 1.1, still.size)
    if mouth.w < 8 or mouth.h < 8:
        raise EngineError(
            f"the mouth ({geo.mouth_x:.2f}, {geo.mouth_y:.2f}) is outside the portrait "
            f"or too small at {width}x{height}"
        )
    rig = MouthRig(
        rgb[mouth.y : mouth.y + mouth.h, mouth.x : mouth.x + mouth.w],
        mouth.cx,
        mouth.cy,
        mouth_w,
        np.asarray(geo.mouth_color, np.float32) / 255.0,
    )
    eyes = []
    for eye in geo.eyes:
        ex, ey = place(eye.x, eye.y)
        ew, eh = eye.width * image.width * to_px, eye.height * image.height * to_px
        region = _region(ex, ey, ew * 0.75, eh * 1.3, eh * 1.3, still.size)
        if region.w < 4 or region.h < 4:
            continue  # too small to show a blink at this size
        lid_rgb = geo.lid_color or _sample(prepared, ex, ey - eh * 1.1)
        eyes.append((region, ew, eh, np.asarray(lid_rgb, np.float32) / 255.0))
    blinks = blink_schedule(frames, fps, seed) if eyes else np.zeros(frames, np.float32)

    rng = np.random.default_rng(seed)
    phases = rng.uniform(0, 2 * np.pi, 3)
    out = out_dir / "avatar.mp4"
    with VideoWriter(out, width=width, height=height, fps=fps, pix_fmt="yuv420p") as writer:
        for n in range(frames):
            dirty: list[Region] = []
            if openness[n] > 0.02:
                still.paste_rgb(mouth.x, mouth.y, rig.frame(float(openness[n])))
                dirty.append(mouth)
            if blinks[n] > 0.02:
                for region, ew, eh, lid in eyes:
                    base = rgb[region.y : region.y + region.h, region.x : region.x + region.w]
                    still.paste_rgb(
                        region.x,
                        region.y,
                        blink_eye(base, region.cx, region.cy, ew, eh, float(blinks[n]), lid),
                    )
                    dirty.append(region)
            box = _sway(n / fps, float(openness[n]), phases, src_w, src_h, width, height)
            writer.write_yuv(still.frame(box, width, height))
            for region in dirty:
                still.reset(region.x, region.y, region.w, region.h)
            if n % 15 == 0:
                progress(0.05 + 0.9 * n / frames)
    progress(1.0)
    return EngineOutput(
        files={"video": out}, engine=ENGINE, duration_s=frames / fps, width=width, height=height
    )


def _sway(
    t: float, talk: float, phases: np.ndarray, src_w: int, src_h: int, width: int, height: int
) -> tuple[float, float, float, float]:
    """The frame's window in the still: slow drift, breathing and a small nod while talking."""
    zoom = 1.0 + 0.01 * (0.5 + 0.5 * math.sin(2 * math.pi * t / 6.1 + phases[0]))
    win_w, win_h = width / zoom, height / zoom
    room_x, room_y = (src_w - win_w) / 2, (src_h - win_h) / 2
    dx = room_x * 0.35 * math.sin(2 * math.pi * t / 4.3 + phases[1])
    dy = room_y * (0.3 * math.sin(2 * math.pi * t / 3.2 + phases[2]) + 0.2 * talk)
    left, top = room_x + dx, room_y + dy
    left, top = min(max(left, 0.0), src_w - win_w), min(max(top, 0.0), src_h - win_h)
    return left, top, left + win_w, top + win_h


def _sample(image: Image.Image, x: float, y: float) -> tuple[int, int, int]:
    px = image.getpixel(
        (min(max(int(x), 0), image.width - 1), min(max(int(y), 0), image.height - 1))
    )
    if not isinstance(px, tuple) or len(px) < 3:
        raise EngineError("portrait image must be RGB")
    return int(px[0]), int(px[1]), int(px[2])


def run(
    request: BaseModel, inputs: Mapping[str, Path], out_dir: Path, progress: ProgressFn
) -> EngineOutput:
    """Engine entry point for `lipsync` (and `s2v` / `animate`, which the lite set serves alike)."""
    assert isinstance(request, LipsyncRequest)
    return talking_head(
        require_input(inputs, "portrait_file_id"), require_input(inputs, "audio_file_id"), out_dir,
        width=request.width, height=request.height, fps=request.fps, seed=request.seed,
        progress=progress,
    )  # fmt: skip
