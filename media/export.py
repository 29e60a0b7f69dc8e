"""Multi-format export: one master MP4 re-framed for every platform in a single ffmpeg pass."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from media.ffmpeg import MediaError, MediaInfo, probe, run_ffmpeg
from media.render import AUDIO_BITRATE, SAMPLE_RATE, X264_PRESETS


@dataclass(frozen=True)
class ExportTarget:
    """One output format: a name (also the file name), a size and how the picture is fitted."""

    name: str
    width: int
    height: int
    # crop: scale to cover the frame and cut the overflow; pad: the whole picture fits inside,
    # over a blurred, cover-scaled copy of itself instead of black bars.
    fit: Literal["crop", "pad"] = "crop"


EXPORT_PRESETS: dict[str, ExportTarget] = {
    t.name: t
    for t in (
        ExportTarget("tiktok", 1080, 1920),
        ExportTarget("reels", 1080, 1920),
        ExportTarget("shorts", 1080, 1920),
        ExportTarget("youtube", 1920, 1080, "pad"),
        ExportTarget("instagram", 1080, 1350),
        ExportTarget("square", 1080, 1080),
        ExportTarget("x", 1280, 720, "pad"),
    )
}

# Names become file names, so only plain characters; they are compared case-insensitively
# because "TikTok.mp4" and "tiktok.mp4" are the same file on macOS and Windows.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_MIN_SIDE, _MAX_SIDE = 16, 8192
# The blurred background is built at about 1/10 of the target size: blurring a few thousand
# pixels and scaling up is far cheaper than a wide blur at full resolution, and looks the same.
_BG_SHRINK = 10
_BG_SIGMA = 4.0
# Same colour handling as render.py: everything is converted to BT.709 limited range.
_TO_709 = "out_color_matrix=bt709:out_range=tv"
_TAG_709 = "setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709"


def _even(value: int) -> int:
    return max(2, value - value % 2)


def _validate_targets(targets: Sequence[ExportTarget]) -> None:
    if not targets:
        raise MediaError("no export targets given")
    seen: dict[str, str] = {}
    for t in targets:
        if not isinstance(t.name, str) or not _NAME.fullmatch(t.name):
            raise MediaError(
                f"export target name {t.name!r} is invalid: use 1-64 letters, digits, '_' or '-'"
            )
        key = t.name.lower()
        if key in seen:
            raise MediaError(
                f"duplicate export target name {t.name!r} (clashes with {seen[key]!r})"
            )
        seen[key] = t.name
        for side in (t.width, t.height):
            if not isinstance(side, int) or not _MIN_SIDE <= side <= _MAX_SIDE or side % 2:
                raise MediaError(
                    f"export target {t.name!r}: size {t.width}x{t.height} must be even and "
                    f"between {_MIN_SIDE} and {_MAX_SIDE} pixels per side (H.264 yuv420p)"
                )
        if t.fit not in ("crop", "pad"):
            raise MediaError(f"export target {t.name!r}: fit {t.fit!r} is not 'crop' or 'pad'")


def _probe_master(master: Path) -> MediaInfo:
    info = probe(master)  # raises MediaError naming the file for missing, empty or non-media
    if not info.has_video or info.is_still_image:
        raise MediaError(f"{master}: master has no video stream to export")
    if not (math.isfinite(info.duration_s) and info.duration_s > 0):
        raise MediaError(f"{master}: master has no usable duration")
    return info


def _branch(n: int, target: ExportTarget) -> list[str]:
    """Filter chains turning split branch [in{n}] into [v{n}] at the target's size."""
    w, h = target.width, target.height
    if target.fit == "crop":
        return [
            f"[in{n}]scale={w}:{h}:force_original_aspect_ratio=increase:flags=bicubic:{_TO_709},"
            f"crop={w}:{h},setsar=1,format=yuv420p,{_TAG_709}[v{n}]"
        ]
    bw, bh = _even(max(8, w // _BG_SHRINK)), _even(max(8, h // _BG_SHRINK))
    return [
        f"[in{n}]split=2[fg{n}][bg{n}]",
        f"[bg{n}]scale={bw}:{bh}:force_original_aspect_ratio=increase:flags=area:{_TO_709},"
        f"crop={bw}:{bh},gblur=sigma={_BG_SIGMA},scale={w}:{h}:flags=bicubic,setsar=1[bgs{n}]",
        f"[fg{n}]scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2"
        f":flags=bicubic:{_TO_709},setsar=1[fgs{n}]",
        # Even offsets keep the foreground aligned with the half-resolution chroma planes.
        f"[bgs{n}][fgs{n}]overlay=x=trunc((W-w)/4)*2:y=trunc((H-h)/4)*2:format=yuv420,"
        f"format=yuv420p,{_TAG_709}[v{n}]",
    ]


def build_export_args(
    master: Path,
    info: MediaInfo,
    targets: Sequence[ExportTarget],
    outputs: Sequence[Path],
    preset: str,
) -> list[str]:
    """ffmpeg arguments decoding `master` once and writing one MP4 per target to `outputs`."""
    x264_preset, crf = X264_PRESETS[preset]
    labels = "".join(f"[in{n}]" for n in range(len(targets)))
    chains = [f"[0:v]split={len(targets)}{labels}"]
    for n, target in enumerate(targets):
        chains += _branch(n, target)
    # AAC can go into MP4 untouched: copying is free and loses nothing. Anything else is
    # re-encoded the way render.py encodes audio.
    if not info.has_audio:
        audio: list[str] = ["-an"]
    elif info.audio_codec == "aac":
        audio = ["-map", "0:a:0", "-c:a", "copy"]
    else:
        audio = ["-map", "0:a:0", "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(SAMPLE_RATE)]
    args = ["-y", "-i", str(master.resolve()), "-filter_complex", ";".join(chains)]
    for n, out in enumerate(outputs):
        # Output options apply per output file, so each encoder gets the full set.
        args += [
            "-map", f"[v{n}]",
            "-c:v", "libx264", "-preset", x264_preset, "-crf", str(crf),
            "-pix_fmt", "yuv420p", "-profile:v", "high",
            *audio,
            "-movflags", "+faststart",
            "-f", "mp4",
            str(out.resolve()),
        ]  # fmt: skip
    return args


def export_formats(
    master: Path,
    targets: Sequence[ExportTarget],
    out_dir: Path,
    *,
    preset: Literal["fast", "balanced", "quality"] = "fast",
    on_progress: Callable[[float], None] | None = None,
) -> dict[str, Path]:
    """Re-frame `master` for every target in one ffmpeg run; returns name -> out_dir/<name>.mp4.

    The master is decoded once and split into one scale/crop or blurred-pad branch per target,
    each encoded to H.264 yuv420p (+faststart) with the master's audio. `on_progress` receives
    fractions in [0, 1]; raising from it cancels the export. Existing files are only replaced
    once every output is complete. Raises MediaError for a bad master, target or preset.
    """
    master, out_dir = Path(master), Path(out_dir)
    targets = list(targets)
    _validate_targets(targets)
    if preset not in X264_PRESETS:
        raise MediaError(f"unknown preset {preset!r}; use one of {sorted(X264_PRESETS)}")
    info = _probe_master(master)
    out_dir.mkdir(parents=True, exist_ok=True)
    finals = {t.name: out_dir / f"{t.name}.mp4" for t in targets}
    # Written under temporary names and renamed at the end, so a failed or cancelled run never
    # leaves a truncated MP4 (no index, plays nowhere) where a good one is expected.
    partials = [out_dir / f".{t.name}.partial.mp4" for t in targets]
    args = build_export_args(master, info, targets, partials, preset)
    try:
        run_ffmpeg(
            args,
            duration_s=info.duration_s,
            on_progress=on_progress,
            what=f"export of {master.name} to {', '.join(finals)}",
        )
        for partial, final in zip(partials, finals.values(), strict=True):
            os.replace(partial, final)
    finally:
        for partial in partials:
            partial.unlink(missing_ok=True)
    return finals


def thumbnail(master: Path, out_path: Path, *, at_s: float | None = None, width: int = 540) -> Path:
    """Write a JPEG of the frame at `at_s` (default: a third of the way in), `width` pixels wide."""
    master, out_path = Path(master), Path(out_path)
    if not _MIN_SIDE <= width <= _MAX_SIDE:
        raise MediaError(f"thumbnail width {width} is outside {_MIN_SIDE}-{_MAX_SIDE} pixels")
    info = _probe_master(master)
    # A third in is past intros and fades yet usually still on the main subject.
    at = info.duration_s / 3 if at_s is None else at_s
    if not (math.isfinite(at) and 0 <= at < info.duration_s):
        raise MediaError(f"thumbnail time {at!r} s is outside {master} (0-{info.duration_s:g} s)")
    if not out_path.parent.is_dir():
        raise MediaError(f"output folder {out_path.parent} does not exist")
    out_path.unlink(missing_ok=True)
    args = [
        "-y", "-ss", f"{at:.3f}", "-i", str(master.resolve()),
        # -2 keeps the aspect ratio with an even height; full-range yuv is what JPEG expects.
        "-vf", f"scale={width}:-2:flags=bicubic:out_range=pc,format=yuvj420p",
        "-frames:v", "1", "-c:v", "mjpeg", "-q:v", "3", "-update", "1", "-f", "image2",
        str(out_path.resolve()),
    ]  # fmt: skip
    run_ffmpeg(args, what=f"thumbnail of {master.name}")
    if not out_path.is_file() or out_path.stat().st_size == 0:
        raise MediaError(f"thumbnail of {master.name}: ffmpeg wrote no frame at {at:g} s")
    return out_path
