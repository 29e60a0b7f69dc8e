"""H.264 encoder settings for the fast / balanced / quality presets, on the best encoder here.

Hardware encoders (NVENC, Quick Sync, VAAPI) are used when the ffmpeg binary lists them *and* a
tiny test encode through them succeeds; otherwise everything falls back to libx264. The choice
is made once per process and configured with `SKYIE_VIDEO_ENCODER`:

    auto (default)  the first working of h264_nvenc, h264_qsv, h264_vaapi, else libx264
    libx264         always the software encoder
    h264_nvenc | h264_qsv | h264_vaapi
                    that encoder; if it does not work here, a warning is logged and libx264
                    is used (a misconfigured GPU host keeps producing videos, just slower)

`SKYIE_VAAPI_DEVICE` names the VAAPI render node (default /dev/dri/renderD128).

Callers build one command with `Encoder.input_args` before the first input, `filter_suffix`
appended to the end of every filter chain feeding the encoder, and `output_args(preset)` after
`-map`. A hardware encoder can still fail on a real job (a session limit, a size it refuses):
`fallback_encoder` then gives libx264 for one retry.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from media.ffmpeg import MediaError, ProgressCallback, ffmpeg_exe, run_ffmpeg

log = logging.getLogger("skyie.media.encoders")

ENCODER_ENV = "SKYIE_VIDEO_ENCODER"
VAAPI_DEVICE_ENV = "SKYIE_VAAPI_DEVICE"
DEFAULT_VAAPI_DEVICE = "/dev/dri/renderD128"
SOFTWARE = "libx264"
# The order `auto` tries them in: NVENC is the fastest and most common on servers; a machine
# with an Intel GPU usually has both QSV and VAAPI, and QSV gives the better quality of the two.
HARDWARE = ("h264_nvenc", "h264_qsv", "h264_vaapi")
ENCODER_NAMES = ("auto", SOFTWARE, *HARDWARE)
PRESETS = ("fast", "balanced", "quality")

# preset -> (x264 preset, crf): the settings render.py has always used. veryfast keeps a 30 s
# 1080x1920 render well inside a minute on two cores; slower presets buy quality per byte.
X264_SETTINGS = {"fast": ("veryfast", 22), "balanced": ("fast", 21), "quality": ("medium", 20)}
# NVENC: p1 (fastest) .. p7 (best); -cq is its constant-quality target, about CRF + 2 for the
# same look, since NVENC spends bits less cleverly than x264.
NVENC_SETTINGS = {"fast": ("p1", 24), "balanced": ("p4", 23), "quality": ("p6", 21)}
# QSV: its own speed presets, and -global_quality selects intelligent constant quality (ICQ).
QSV_SETTINGS = {"fast": ("veryfast", 24), "balanced": ("medium", 23), "quality": ("slower", 21)}
# VAAPI drivers differ in what they offer; constant QP is the rate control every one supports.
VAAPI_QP = {"fast": 24, "balanced": 23, "quality": 21}
# Hardware H.264 encoders stop at 4096 pixels a side; larger frames go to libx264.
HW_MAX_SIDE = 4096

_TEST_TIMEOUT_S = 30.0
_TEST_SIZE = 256  # above every hardware encoder's minimum frame size
_LOG_PREFIX = re.compile(r"^(?:\[[^\]]*\]\s*)+")


@dataclass(frozen=True)
class Encoder:
    """One H.264 encoder and the extra arguments an ffmpeg command needs to use it."""

    name: str
    # Global options placed before the first -i (VAAPI opens its device there).
    input_args: tuple[str, ...] = ()
    # Appended to the end of each filter chain feeding this encoder, e.g. ",format=nv12,hwupload"
    # (empty, or starting with a comma).
    filter_suffix: str = ""

    @property
    def hardware(self) -> bool:
        return self.name != SOFTWARE

    def output_args(self, preset: str) -> list[str]:
        """The -c:v and quality options for `preset` (fast, balanced or quality)."""
        if preset not in PRESETS:
            raise MediaError(f"unknown preset {preset!r}; use one of {sorted(PRESETS)}")
        if self.name == SOFTWARE:
            x264_preset, crf = X264_SETTINGS[preset]
            return [
                "-c:v", "libx264", "-preset", x264_preset, "-crf", str(crf),
                "-pix_fmt", "yuv420p", "-profile:v", "high",
            ]  # fmt: skip
        if self.name == "h264_nvenc":
            nv_preset, cq = NVENC_SETTINGS[preset]
            return [
                "-c:v", "h264_nvenc", "-preset", nv_preset, "-tune", "hq",
                "-rc", "vbr", "-cq", str(cq), "-b:v", "0", "-spatial-aq", "1",
                "-pix_fmt", "yuv420p", "-profile:v", "high",
            ]  # fmt: skip
        if self.name == "h264_qsv":
            qsv_preset, quality = QSV_SETTINGS[preset]
            return [
                "-c:v", "h264_qsv", "-preset", qsv_preset, "-global_quality", str(quality),
                "-pix_fmt", "nv12", "-profile:v", "high",
            ]  # fmt: skip
        if self.name == "h264_vaapi":
            # Frames arrive already uploaded (filter_suffix), so no -pix_fmt here.
            return [
                "-c:v", "h264_vaapi", "-rc_mode", "CQP", "-qp", str(VAAPI_QP[preset]),
                "-profile:v", "high",
            ]  # fmt: skip
        raise MediaError(f"no settings for video encoder {self.name!r}")


LIBX264 = Encoder(SOFTWARE)


def hardware_encoder(name: str, *, vaapi_device: str = DEFAULT_VAAPI_DEVICE) -> Encoder:
    """The Encoder for hardware encoder `name` (not checked for working here)."""
    if name == "h264_vaapi":
        return Encoder(name, ("-vaapi_device", vaapi_device), ",format=nv12,hwupload")
    if name in HARDWARE:
        return Encoder(name)
    raise MediaError(f"{name!r} is not a hardware encoder; use one of {', '.join(HARDWARE)}")


@dataclass(frozen=True)
class EncoderChoice:
    """The encoder a process uses, and why: what was asked for and why the others were not."""

    encoder: Encoder
    requested: str
    reason: str
    skipped: dict[str, str] = field(default_factory=dict)  # encoder name -> why not used


@cache
def listed_encoders(exe: str) -> frozenset[str]:
    """Names of the video encoders `ffmpeg -encoders` lists for the binary at `exe`."""
    try:
        done = subprocess.run(
            [exe, "-hide_banner", "-nostdin", "-encoders"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=_TEST_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MediaError(f"could not list the encoders of {exe}: {exc}") from exc
    names = set()
    for line in done.stdout.splitlines():
        parts = line.split()
        # " V....D libx264   libx264 H.264 / AVC ..." — capability flags, then the name.
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0].startswith("V"):
            names.add(parts[1])
    return frozenset(names)


def _first_error(stderr: str) -> str:
    for line in stderr.splitlines():
        text = _LOG_PREFIX.sub("", line.strip()).strip()
        if text:
            return text
    return "ffmpeg printed no error"


def trial_encode(encoder: Encoder, exe: str) -> str | None:
    """Encode two tiny frames through `encoder`; None when it works, else why it does not."""
    cmd = [exe, "-hide_banner", "-nostdin", "-loglevel", "error", *encoder.input_args]
    cmd += ["-f", "lavfi", "-i", f"color=c=gray:s={_TEST_SIZE}x{_TEST_SIZE}:r=25:d=1"]
    cmd += ["-vf", f"format=yuv420p{encoder.filter_suffix}", "-frames:v", "2"]
    cmd += [*encoder.output_args("balanced"), "-f", "null", "-"]
    try:
        done = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=_TEST_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"test encode took over {_TEST_TIMEOUT_S:g} s"
    except OSError as exc:
        return f"could not run ffmpeg: {exc}"
    return None if done.returncode == 0 else f"test encode failed: {_first_error(done.stderr)}"


def _unusable(name: str, exe: str, vaapi_device: str) -> str | None:
    """Why hardware encoder `name` cannot be used with `exe` here, or None if it works."""
    if name not in listed_encoders(exe):
        return "not built into this ffmpeg"
    if name == "h264_vaapi" and not Path(vaapi_device).exists():
        return f"no VAAPI device {vaapi_device}"
    return trial_encode(hardware_encoder(name, vaapi_device=vaapi_device), exe)


@cache
def _choose(requested: str, exe: str, vaapi_device: str) -> EncoderChoice:
    skipped: dict[str, str] = {}
    candidates = HARDWARE if requested == "auto" else (requested,) if requested in HARDWARE else ()
    for name in candidates:
        why = _unusable(name, exe, vaapi_device)
        if why is None:
            choice = EncoderChoice(
                hardware_encoder(name, vaapi_device=vaapi_device),
                requested,
                f"{name} passed a test encode",
                skipped,
            )
            log.info("video encoder: %s (%s; requested %s)", name, choice.reason, requested)
            return choice
        skipped[name] = why
    if SOFTWARE not in listed_encoders(exe):
        raise MediaError(f"{exe} has no libx264 encoder (and no working hardware H.264 encoder)")
    if requested == SOFTWARE:
        reason = f"{ENCODER_ENV}=libx264"
    elif requested == "auto":
        reason = "no hardware encoder works here"
    else:
        reason = f"requested {requested} does not work here"
    choice = EncoderChoice(LIBX264, requested, reason, skipped)
    details = "; ".join(f"{name}: {why}" for name, why in skipped.items())
    if requested in HARDWARE:
        log.warning("video encoder: libx264, because %s (%s)", reason, details)
    else:
        log.info("video encoder: libx264 (%s)%s", reason, f"; skipped {details}" if details else "")
    return choice


def select_encoder() -> EncoderChoice:
    """The encoder this process uses (chosen once per setting and ffmpeg binary, then cached).

    Raises MediaError for a `SKYIE_VIDEO_ENCODER` value that names no known encoder.
    """
    requested = os.environ.get(ENCODER_ENV, "").strip().lower() or "auto"
    if requested not in ENCODER_NAMES:
        raise MediaError(
            f"{ENCODER_ENV}={requested!r} is not a known video encoder; "
            f"use one of {', '.join(ENCODER_NAMES)}"
        )
    vaapi_device = os.environ.get(VAAPI_DEVICE_ENV, "").strip() or DEFAULT_VAAPI_DEVICE
    return _choose(requested, ffmpeg_exe(), vaapi_device)


def reset_encoder_cache() -> None:
    """Forget the encoder choice and the encoder lists (tests; after a driver change)."""
    _choose.cache_clear()
    listed_encoders.cache_clear()
    _preview_format.cache_clear()


def video_encoder(*, width: int, height: int) -> Encoder:
    """The encoder for a width x height video: the process's choice, or libx264 beyond what
    hardware H.264 encoders accept."""
    encoder = select_encoder().encoder
    if encoder.hardware and max(width, height) > HW_MAX_SIDE:
        return LIBX264
    return encoder


def video_encoder_args(preset: str, *, width: int, height: int) -> list[str]:
    """Output options encoding a width x height video at `preset` (e.g. ["-c:v", "libx264",
    "-preset", "veryfast", "-crf", "22", ...]). Pair with `video_encoder(...)`'s input_args and
    filter_suffix, which a hardware encoder may need too."""
    return video_encoder(width=width, height=height).output_args(preset)


def fallback_encoder(failed: Encoder, error: MediaError) -> Encoder | None:
    """libx264 to retry with after hardware encoder `failed` broke a job, else None."""
    if not failed.hardware:
        return None
    log.warning("%s failed (%s); retrying with libx264", failed.name, error.message.splitlines()[0])
    return LIBX264


def run_with_fallback(
    build: Callable[[Encoder], Sequence[str]],
    encoder: Encoder,
    *,
    run: Callable[..., float] = run_ffmpeg,
    on_progress: ProgressCallback | None = None,
    **run_kwargs: Any,
) -> Encoder:
    """Run the ffmpeg command `build(encoder)` makes; if a hardware encoder fails, run it once
    more with libx264. Returns the encoder that succeeded. Progress never goes backwards, so the
    retry does not make a progress bar jump; `run_kwargs` go to `run` (run_ffmpeg)."""
    best = -1.0

    def progress(fraction: float) -> None:
        nonlocal best
        if on_progress is not None and fraction > best:
            best = fraction
            on_progress(fraction)

    while True:
        try:
            run(build(encoder), on_progress=progress if on_progress else None, **run_kwargs)
            return encoder
        except MediaError as exc:
            retry = fallback_encoder(encoder, exc)
            if retry is None:
                raise
            encoder = retry


@cache
def _preview_format(exe: str) -> Literal["webp", "gif"]:
    return "webp" if {"libwebp_anim", "libwebp"} & listed_encoders(exe) else "gif"


def preview_format() -> Literal["webp", "gif"]:
    """Animated WebP when this ffmpeg has a WebP encoder (smaller, full colour), else GIF."""
    return _preview_format(ffmpeg_exe())


def preview_chains(src: str, dst: str, fmt: str, width: int, fps: int) -> list[str]:
    """Filter chains making [src] an animated-preview stream [dst] (`width` wide) for `fmt`."""
    base = f"[{src}]fps={fps},scale={width}:-2:flags=lanczos"
    if fmt == "webp":
        return [f"{base},format=bgra[{dst}]"]
    # One palette for the whole clip, then ordered dithering: no crawling noise between frames.
    return [
        f"{base},split=2[{dst}a][{dst}b]",
        f"[{dst}a]palettegen=max_colors=128:stats_mode=diff[{dst}p]",
        f"[{dst}b][{dst}p]paletteuse=dither=bayer:bayer_scale=3:diff_mode=rectangle[{dst}]",
    ]


def preview_output_args(src: str, fmt: str, out: Path) -> list[str]:
    """Output options writing stream [src] to `out` as a looping animated WebP or GIF."""
    if fmt == "webp":
        codec = "libwebp_anim" if "libwebp_anim" in listed_encoders(ffmpeg_exe()) else "libwebp"
        encode = ["-c:v", codec, "-quality", "70", "-compression_level", "4"]
    else:
        encode = ["-c:v", "gif"]
    return ["-map", f"[{src}]", *encode, "-loop", "0", "-an", "-f", fmt, str(out.resolve())]
