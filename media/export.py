"""Multi-format export: one master MP4 re-framed for every platform in a single ffmpeg pass."""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from media.encoders import (
    LIBX264,
    PRESETS,
    Encoder,
    preview_chains,
    preview_format,
    preview_output_args,
    run_with_fallback,
    video_encoder,
)
from media.ffmpeg import MediaError, MediaInfo, probe, run_ffmpeg
from media.graph import AUDIO_BITRATE, SAMPLE_RATE
from media.pictures import blurred_fill, over_blurred_fill
from media.watermark import Watermark, logo_input_args, watermark_chains


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
# The distinct formats of the export pack (reels and shorts are the same file as tiktok).
EXPORT_PACK = ("tiktok", "youtube", "instagram", "square", "x")
# The key of the animated preview in export_formats' result.
PREVIEW = "preview"

# Names become file names, so only plain characters; they are compared case-insensitively
# because "TikTok.mp4" and "tiktok.mp4" are the same file on macOS and Windows.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_MIN_SIDE, _MAX_SIDE = 16, 8192
# Same colour handling as render.py: everything is converted to BT.709 limited range.
_TO_709 = "out_color_matrix=bt709:out_range=tv"
_TAG_709 = "setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709"
# Captions are centred and nearly as wide as the master (7 % side margins): a crop cutting more
# than that off the sides would cut words, so such a target is padded instead.
_CAPTION_SIDE_CUT = 0.14
_PREVIEW_S, _PREVIEW_WIDTH, _PREVIEW_FPS = 3.0, 320, 12
# How much coarser the encoder may quantise a padded target's blurred strips (x264's region
# of interest offset, a fraction of its QP range: 0.1 is about +2.5 QP).
_BACKDROP_QOFFSET = 0.1


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


@dataclass(frozen=True)
class Framing:
    """How one target is made: the master scaled to `scaled`, then cut at `offset` (crop) or
    placed at `offset` over its blurred copy (pad); where its caption rows land in the target."""

    fit: Literal["crop", "pad"]
    scaled: tuple[int, int]
    offset: tuple[int, int]
    caption_band: tuple[int, int] | None


def _even_round(value: float) -> int:
    return max(2, 2 * round(value / 2))


def _offset(value: float) -> int:
    # Even offsets keep the picture aligned with the half-resolution chroma planes.
    return max(0, int(value) // 2 * 2)


def _scaled_band(band: tuple[int, int] | None, factor: float, shift: int) -> tuple[int, int] | None:
    if band is None:
        return None
    return shift + math.floor(band[0] * factor), shift + math.ceil(band[1] * factor)


def frame_target(
    target: ExportTarget, master_w: int, master_h: int, caption_band: tuple[int, int] | None
) -> Framing:
    """Where the picture goes for `target`: crop windows keep the caption band in view when it
    fits (placed as near the centre as allows), else the target is padded instead of cut."""
    w, h = target.width, target.height
    if target.fit == "crop":
        factor = max(w / master_w, h / master_h)
        sw, sh = max(w, _even_round(master_w * factor)), max(h, _even_round(master_h * factor))
        y = (sh - h) / 2
        band = _scaled_band(caption_band, sh / master_h, 0)
        if band is not None:
            gap = max(2, h // 50)
            # Caption lines are centred and nearly as wide as the master: a crop cutting more
            # than the side margins off would cut words, as would one shorter than the band.
            if (sw - w) / sw > _CAPTION_SIDE_CUT or band[1] - band[0] + 2 * gap > h:
                return _pad(w, h, master_w, master_h, caption_band)
            y = min(max(y, band[1] + gap - h), band[0] - gap)
        y = min(_offset(y), sh - h)
        return Framing("crop", (sw, sh), (_offset((sw - w) / 2), y), _scaled_band(band, 1, -y))
    return _pad(w, h, master_w, master_h, caption_band)


def _pad(w: int, h: int, mw: int, mh: int, band: tuple[int, int] | None) -> Framing:
    factor = min(w / mw, h / mh)
    fw, fh = min(w, _even_round(mw * factor)), min(h, _even_round(mh * factor))
    x, y = _offset((w - fw) / 2), _offset((h - fh) / 2)
    return Framing("pad", (fw, fh), (x, y), _scaled_band(band, fh / mh, y))


def _branch(
    n: int,
    target: ExportTarget,
    framing: Framing,
    source: str,
    master_width: int,
    feed: str | None = None,
) -> list[str]:
    """Filter chains turning `source` into [f{n}], yuv420p at the target's size. A pad branch
    also hands its scaled picture on as `feed`, for a smaller pad target to scale from."""
    w, h = target.width, target.height
    (sw, sh), (x, y) = framing.scaled, framing.offset
    if framing.fit == "crop":
        return [
            f"[{source}]scale={sw}:{sh}:flags=bicubic:{_TO_709},setsar=1,"
            f"crop={w}:{h}:{x}:{y},format=yuv420p[f{n}]"
        ]
    # The whole picture, shrunk (area averaging: as sharp as bicubic at these ratios, and
    # cheaper) or enlarged, then set between strips of its own blur.
    flags = "area" if sw <= master_width else "bicubic"
    scale = f"[{source}]scale={sw}:{sh}:flags={flags}:{_TO_709},setsar=1"
    chains = [f"{scale},split=2[fgs{n}][{feed}]" if feed else f"{scale}[fgs{n}]"]
    strips = _backdrop_strips(w, h, sw, sh, x, y)
    if strips is None:
        return chains + over_blurred_fill(f"fgs{n}", f"f{n}", w, h, str(x), str(y))
    if len(strips) < 2:  # the picture fills the frame, or all but a sliver: stretch it
        return [*chains, f"[fgs{n}]scale={w}:{h}:flags=bicubic,setsar=1,format=yuv420p[f{n}]"]
    # A picture spanning the frame one way is placed by stacking: the blur's strips and the
    # picture are copied side by side, cheaper than copying the blur and drawing over it.
    stack = "hstack" if sh == h else "vstack"
    (ax, ay, aw, ah), (bx, by, bw, bh) = strips
    # The strips are a blur of what the picture already shows: bits spent there are wasted,
    # so the encoder is asked to spend fewer (x264 honours these regions; others ignore them).
    roi = "".join(
        f",addroi=x={rx}:y={ry}:w={rw}:h={rh}:qoffset={_BACKDROP_QOFFSET}"
        for rx, ry, rw, rh in strips
    )
    return [
        *chains,
        f"[fgs{n}]split=2[fg{n}][fb{n}]",
        blurred_fill(f"fb{n}", f"bg{n}", w, h),
        f"[bg{n}]split=2[bga{n}][bgb{n}]",
        f"[bga{n}]crop={aw}:{ah}:{ax}:{ay}[sa{n}]",
        f"[bgb{n}]crop={bw}:{bh}:{bx}:{by}[sb{n}]",
        f"[sa{n}][fg{n}][sb{n}]{stack}=inputs=3,format=yuv420p{roi}[f{n}]",
    ]


def _backdrop_strips(
    w: int, h: int, sw: int, sh: int, x: int, y: int
) -> list[tuple[int, int, int, int]] | None:
    """The parts of a w x h frame around a sw x sh picture at (x, y), as (x, y, w, h)
    rectangles: left and right, or top and bottom, empty ones left out. None when the
    picture spans the frame neither way."""
    if sh == h:
        rects = [(0, 0, x, h), (x + sw, 0, w - x - sw, h)]
    elif sw == w:
        rects = [(0, 0, w, y), (0, y + sh, w, h - y - sh)]
    else:
        return None
    return [r for r in rects if r[2] > 0 and r[3] > 0]


def _preview_target(path: Path) -> tuple[Path, Literal["webp", "gif"]]:
    fmt = "gif" if path.suffix.lower() == ".gif" else preview_format()
    return path.with_suffix(f".{fmt}"), fmt


def _preview_window(duration_s: float, seconds: float) -> tuple[float, float]:
    # From a third in (past intros and fades, on the main subject), moved earlier if needed so
    # the whole clip fits; a master shorter than `seconds` is shown whole.
    length = min(seconds, duration_s)
    return min(duration_s / 3, duration_s - length), length


def build_export_args(
    master: Path,
    info: MediaInfo,
    targets: Sequence[ExportTarget],
    outputs: Sequence[Path],
    preset: str,
    *,
    encoder: Encoder = LIBX264,
    caption_band: tuple[int, int] | None = None,
    watermark: Watermark | None = None,
    preview: tuple[Path, str] | None = None,
) -> list[str]:
    """ffmpeg arguments decoding `master` once and writing one MP4 per target to `outputs`,
    plus the animated preview (path, "webp" or "gif") when asked for."""
    # A target the master already is (same size, H.264, nothing to draw) is the master: its
    # picture is copied, not decoded and encoded again.
    copied = {
        n
        for n, t in enumerate(targets)
        if (t.width, t.height) == (info.width, info.height)
        and info.video_codec == "h264"
        and watermark is None
    }
    encoded = [n for n in range(len(targets)) if n not in copied]
    framings = {n: frame_target(targets[n], info.width, info.height, caption_band) for n in encoded}
    # Pad targets show the whole picture, only at different sizes: the largest is scaled from
    # the master, and each smaller one from the one before it (fewer pixels to read).
    pads = sorted(
        (n for n in encoded if framings[n].fit == "pad"),
        key=lambda n: framings[n].scaled[0] * framings[n].scaled[1],
        reverse=True,
    )
    sources = {n: f"in{n}" for n in encoded}
    feeds: dict[int, str] = {}
    for bigger, smaller in itertools.pairwise(pads):
        feeds[bigger] = sources[smaller] = f"feed{smaller}"
    from_master = [n for n in encoded if sources[n] == f"in{n}"]
    branches = len(from_master) + (preview is not None)
    labels = "".join(f"[in{n}]" for n in [*from_master, len(targets)][:branches])
    chains = [f"[0:v]split={branches}{labels}"] if branches else []
    logo = logo_input_args(watermark)
    if logo:
        names = "".join(f"[logo{n}]" for n in encoded)
        chains.append(f"[1:v]split={len(encoded)}{names}")
    for n in encoded:
        target, framing = targets[n], framings[n]
        chains += _branch(n, target, framing, sources[n], info.width, feeds.get(n))
        last = f"f{n}"
        if watermark is not None:
            chains += watermark_chains(
                watermark, last, f"w{n}", target.width, target.height,
                logo=f"logo{n}" if logo else None, caption_band=framing.caption_band,
                tag=f"wm{n}",
            )  # fmt: skip
            last = f"w{n}"
        chains.append(f"[{last}]{_TAG_709}{encoder.filter_suffix}[v{n}]")
    if preview is not None:
        start, length = _preview_window(info.duration_s, _PREVIEW_S)
        chains.append(
            f"[in{len(targets)}]trim=start={start:.3f}:duration={length:.3f},"
            f"setpts=PTS-STARTPTS[pvin]"
        )
        chains += preview_chains("pvin", "pv", preview[1], _PREVIEW_WIDTH, _PREVIEW_FPS)
    # AAC can go into MP4 untouched: copying is free and loses nothing. Anything else is
    # re-encoded the way render.py encodes audio.
    if not info.has_audio:
        audio: list[str] = ["-an"]
    elif info.audio_codec == "aac":
        audio = ["-map", "0:a:0", "-c:a", "copy"]
    else:
        audio = ["-map", "0:a:0", "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(SAMPLE_RATE)]
    args = ["-y", *encoder.input_args, "-i", str(master.resolve()), *logo]
    if chains:
        args += ["-filter_complex", ";".join(chains)]
    for n, out in enumerate(outputs):
        # Output options apply per output file, so each encoder gets the full set.
        if n in copied:
            args += ["-map", "0:v:0", "-c:v", "copy", *audio]
        else:
            args += ["-map", f"[v{n}]", *encoder.output_args(preset), *audio]
        args += ["-movflags", "+faststart", "-f", "mp4", str(out.resolve())]
    if preview is not None:
        args += preview_output_args("pv", preview[1], preview[0])
    return args


def export_formats(
    master: Path,
    targets: Sequence[ExportTarget],
    out_dir: Path,
    *,
    preset: Literal["fast", "balanced", "quality"] = "fast",
    on_progress: Callable[[float], None] | None = None,
    caption_band: tuple[int, int] | None = None,
    watermark: Watermark | None = None,
    preview: Path | None = None,
) -> dict[str, Path]:
    """Re-frame `master` for every target in one ffmpeg run; returns name -> out_dir/<name>.mp4.

    The master is decoded once and split into one scale/crop or blurred-pad branch per target,
    each encoded to H.264 yuv420p (+faststart) with the master's audio, on the encoder
    media.encoders picks (a failing hardware encoder is retried once with libx264).
    `caption_band` (rows top, bottom of the master where captions are burned in) keeps the
    captions inside every crop, padding targets where they cannot fit; `watermark` is drawn on
    every output, clear of the captions. `preview` adds an animated preview of a few seconds
    from the same decode, stored under the key PREVIEW; its suffix becomes .webp or .gif by
    the format written (see `animated_preview`).

    `on_progress` receives fractions in [0, 1]; raising from it cancels the export. Existing
    files are only replaced once every output is complete. Raises MediaError for a bad master,
    target, band or preset.
    """
    master, out_dir = Path(master), Path(out_dir)
    targets = list(targets)
    _validate_targets(targets)
    if preview is not None and any(t.name.lower() == PREVIEW for t in targets):
        raise MediaError(f"export target name {PREVIEW!r} clashes with the preview")
    if preset not in PRESETS:
        raise MediaError(f"unknown preset {preset!r}; use one of {sorted(PRESETS)}")
    info = _probe_master(master)
    if caption_band is not None:  # a list (from JSON) is fine too
        caption_band = tuple(caption_band)  # type: ignore[assignment]
        rows_ok = all(isinstance(r, int) and not isinstance(r, bool) for r in caption_band)
        if not (rows_ok and len(caption_band) == 2 and 0 <= caption_band[0] < caption_band[1]):
            raise MediaError(f"caption band {caption_band!r} is not rows (top, bottom)")
        if caption_band[1] > info.height:
            raise MediaError(f"caption band {caption_band!r} is not rows within {info.height} px")
    if preview is not None and not Path(preview).parent.is_dir():
        raise MediaError(f"preview folder {Path(preview).parent} does not exist")
    out_dir.mkdir(parents=True, exist_ok=True)
    finals = {t.name: out_dir / f"{t.name}.mp4" for t in targets}
    # Written under temporary names and renamed at the end, so a failed or cancelled run never
    # leaves a truncated MP4 (no index, plays nowhere) where a good one is expected.
    partials = [out_dir / f".{t.name}.partial.mp4" for t in targets]
    preview_job = None
    if preview is not None:
        final_preview, fmt = _preview_target(Path(preview))
        finals[PREVIEW] = final_preview
        partial_preview = final_preview.with_name(f".{final_preview.stem}.partial.{fmt}")
        partials.append(partial_preview)
        preview_job = (partial_preview, fmt)
    widest = max(max(t.width, t.height) for t in targets)
    try:
        run_with_fallback(
            lambda encoder: build_export_args(
                master, info, targets, partials[: len(targets)], preset, encoder=encoder,
                caption_band=caption_band, watermark=watermark, preview=preview_job,
            ),
            video_encoder(width=widest, height=widest),
            run=run_ffmpeg,
            duration_s=info.duration_s,
            on_progress=on_progress,
            what=f"export of {master.name} to {', '.join(finals)}",
        )  # fmt: skip
        for partial, final in zip(partials, finals.values(), strict=True):
            os.replace(partial, final)
    finally:
        for partial in partials:
            partial.unlink(missing_ok=True)
    return finals


def animated_preview(
    master: Path, out_path: Path, *, seconds: float = 3.0, width: int = 320, fps: int = 12
) -> Path:
    """Write a looping animated preview of `seconds` from a third into `master`; returns its path.

    Animated WebP when this ffmpeg has a WebP encoder, else GIF (palettegen + paletteuse); the
    suffix of `out_path` is set to match (".gif" asks for GIF).
    """
    master = Path(master)
    if not (math.isfinite(seconds) and 0 < seconds <= 30):
        raise MediaError(f"preview length {seconds!r} s is outside 0-30 s")
    if not (_MIN_SIDE <= width <= 1920 and 1 <= fps <= 30):
        raise MediaError(f"preview width {width} or fps {fps} is outside 16-1920 px, 1-30 fps")
    out_path, fmt = _preview_target(Path(out_path))
    if not out_path.parent.is_dir():
        raise MediaError(f"output folder {out_path.parent} does not exist")
    info = _probe_master(master)
    start, length = _preview_window(info.duration_s, seconds)
    partial = out_path.with_name(f".{out_path.stem}.partial.{fmt}")
    args = ["-y", "-ss", f"{start:.3f}", "-t", f"{length:.3f}", "-i", str(master.resolve())]
    args += ["-filter_complex", ";".join(preview_chains("0:v", "pv", fmt, width, fps))]
    args += preview_output_args("pv", fmt, partial)
    try:
        run_ffmpeg(args, duration_s=length, what=f"preview of {master.name}")
        os.replace(partial, out_path)
    finally:
        partial.unlink(missing_ok=True)
    return out_path


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
