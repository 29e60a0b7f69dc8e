"""The ffmpeg binary: finding it, running it with progress and cancellation, probing media files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from pathlib import Path

ProgressCallback = Callable[[float], None]

_STDERR_TAIL_LINES = 15
_PROBE_TIMEOUT_S = 60.0


class MediaError(Exception):
    """A media operation failed; the message names the file or step and quotes ffmpeg."""

    def __init__(self, message: str, *, stderr_tail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.stderr_tail = stderr_tail


@cache
def _bundled_ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary: `SKYIE_FFMPEG` when set, else the one imageio-ffmpeg ships."""
    configured = os.environ.get("SKYIE_FFMPEG", "").strip()
    if not configured:
        try:
            return _bundled_ffmpeg()
        except Exception as exc:  # imageio-ffmpeg raises RuntimeError and friends
            raise MediaError(f"no ffmpeg binary found (set SKYIE_FFMPEG): {exc}") from exc
    found = shutil.which(configured)
    if found is None:
        raise MediaError(f"SKYIE_FFMPEG={configured!r} is not an executable file")
    return found


def _tail(lines: Sequence[str]) -> str:
    kept = [line.rstrip() for line in lines if line.strip()]
    return "\n".join(kept[-_STDERR_TAIL_LINES:])


def run_ffmpeg(
    args: Sequence[str],
    *,
    duration_s: float | None = None,
    on_progress: ProgressCallback | None = None,
    timeout_s: float | None = None,
    what: str = "ffmpeg",
) -> float:
    """Run ffmpeg with `args`; returns how many seconds of output it reported writing.

    `on_progress` gets fractions in [0, 1] (needs `duration_s`); raising from it cancels the run.
    Any exception, cancellation or `timeout_s` kills the process before this returns. A failure
    raises MediaError starting with `what` and ending with the tail of ffmpeg's stderr.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning"]
    cmd += ["-progress", "pipe:1", "-stats_period", "0.25", *args]
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    assert proc.stdout is not None and proc.stderr is not None
    stderr_lines: deque[str] = deque(maxlen=200)
    # stderr is drained on its own thread so a chatty ffmpeg can never block on a full pipe.
    reader = threading.Thread(target=stderr_lines.extend, args=(proc.stderr,), daemon=True)
    reader.start()
    timed_out = threading.Event()

    def on_timeout() -> None:
        timed_out.set()
        proc.kill()

    timer = threading.Timer(timeout_s, on_timeout) if timeout_s else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    out_time_s = 0.0
    reported = -1.0
    try:
        for line in proc.stdout:
            key, _, value = line.strip().partition("=")
            if key == "out_time_us" and value.lstrip("-").isdigit():
                out_time_s = max(out_time_s, int(value) / 1_000_000)
            elif key == "progress" and on_progress is not None and duration_s:
                fraction = min(1.0, out_time_s / duration_s)
                if fraction > reported:
                    reported = fraction
                    on_progress(fraction)
        returncode = proc.wait()
    except BaseException:
        # Covers cancellation raised by the callback and actor interrupts alike: never leave an
        # orphan encoder burning CPU.
        proc.kill()
        proc.wait()
        raise
    finally:
        if timer is not None:
            timer.cancel()
        reader.join(timeout=5)
        proc.stdout.close()
        proc.stderr.close()
    tail = _tail(stderr_lines)
    if timed_out.is_set():
        raise MediaError(f"{what} timed out after {timeout_s:g} s\n{tail}", stderr_tail=tail)
    if returncode != 0:
        raise MediaError(f"{what} failed (ffmpeg exit {returncode}):\n{tail}", stderr_tail=tail)
    if on_progress is not None and reported < 1.0:
        on_progress(1.0)
    return out_time_s


@dataclass(frozen=True)
class MediaInfo:
    """What ffmpeg reports about a media file (first video and first audio stream)."""

    path: Path
    format_name: str
    duration_s: float  # 0.0 for a still image
    width: int  # as displayed, after any rotation; 0 without video
    height: int
    fps: float  # 0.0 without video
    has_video: bool
    has_audio: bool
    video_codec: str | None
    audio_codec: str | None
    pix_fmt: str | None
    sample_rate: int | None
    channels: int | None

    @property
    def is_still_image(self) -> bool:
        """A single picture (png, jpeg, webp…) rather than a moving video."""
        single_image_formats = ("_pipe", "image2")
        return self.has_video and self.format_name.endswith(single_image_formats)


_INPUT = re.compile(r"^Input #0, (?P<format>.+?), from '", re.M)
_DURATION = re.compile(r"Duration: (?:(?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d(?:\.\d+)?)|N/A)")
_STREAM = re.compile(r"^\s*Stream #0:\d+\S*: (?P<kind>Video|Audio): (?P<rest>.*)$")
_SIZE = re.compile(r"^(?P<w>\d+)x(?P<h>\d+)\b")
_RATE = re.compile(r"^(?P<v>\d+(?:\.\d+)?)(?P<k>k?) (?P<unit>fps|tbr)$")
_ROTATION = re.compile(r"rotation of (?P<deg>-?\d+(?:\.\d+)?) degrees")
_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}


def _split_fields(text: str) -> list[str]:
    """Split a stream description on commas that are not inside parentheses or brackets."""
    fields: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            fields.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    fields.append("".join(current).strip())
    return fields


def _rate(fields: Sequence[str], unit: str) -> float:
    for field in fields:
        match = _RATE.match(field)
        if match and match["unit"] == unit:
            return float(match["v"]) * (1000 if match["k"] else 1)
    return 0.0


def parse_probe_output(path: Path, output: str) -> MediaInfo:
    """Read `ffmpeg -i` stderr into MediaInfo; raises MediaError naming the file if unreadable."""
    input_match = _INPUT.search(output)
    if input_match is None:
        errors = [ln.strip() for ln in output.splitlines() if ln.strip()]
        reason = errors[-1] if errors else "ffmpeg printed nothing"
        raise MediaError(f"{path}: not a readable media file ({reason})", stderr_tail=_tail(errors))
    video: list[str] | None = None
    audio: list[str] | None = None
    rotation = 0.0
    lines = output[input_match.start() :].splitlines()
    for n, line in enumerate(lines):
        stream = _STREAM.match(line)
        if stream is None:
            continue
        fields = _split_fields(stream["rest"])
        # Cover art in music files shows up as a one-frame video stream; it is not a picture track.
        if stream["kind"] == "Video" and video is None and "(attached pic)" not in line:
            video = fields
            for follow in lines[n + 1 : n + 8]:
                if _STREAM.match(follow):
                    break
                if rot := _ROTATION.search(follow):
                    rotation = float(rot["deg"])
        elif stream["kind"] == "Audio" and audio is None:
            audio = fields
    if video is None and audio is None:
        raise MediaError(f"{path}: no audio or video stream found")

    width = height = 0
    fps = 0.0
    video_codec = pix_fmt = None
    if video is not None:
        video_codec = video[0].split()[0]
        if len(video) > 1 and not _SIZE.match(video[1]):
            pix_fmt = video[1].split("(")[0].strip()
        for field in video[1:]:
            if size := _SIZE.match(field):
                width, height = int(size["w"]), int(size["h"])
                break
        if round(abs(rotation)) % 180 == 90:  # ffmpeg auto-rotates when decoding
            width, height = height, width
        fps = _rate(video, "fps") or _rate(video, "tbr")
    audio_codec = None
    sample_rate = channels = None
    if audio is not None:
        audio_codec = audio[0].split()[0]
        for field in audio[1:]:
            if hz := re.fullmatch(r"(\d+) Hz", field):
                sample_rate = int(hz[1])
            elif field in _CHANNELS:
                channels = _CHANNELS[field]
            elif count := re.fullmatch(r"(\d+) channels.*", field):
                channels = int(count[1])
            elif channels is None and re.fullmatch(r"\d\.\d(\(\w+\))?", field):
                channels = sum(int(d) for d in field[:3].split("."))

    duration = _DURATION.search(output)
    duration_s = 0.0
    if duration and duration["h"] is not None:
        duration_s = int(duration["h"]) * 3600 + int(duration["m"]) * 60 + float(duration["s"])
    return MediaInfo(
        path=path,
        format_name=input_match["format"],
        duration_s=duration_s,
        width=width,
        height=height,
        fps=fps,
        has_video=video is not None,
        has_audio=audio is not None,
        video_codec=video_codec,
        audio_codec=audio_codec,
        pix_fmt=pix_fmt,
        sample_rate=sample_rate,
        channels=channels,
    )


def probe(path: Path | str) -> MediaInfo:
    """Describe a media file; raises MediaError naming the file if it is missing or not media.

    Answers are remembered per file version (size and modification time), since one render
    asks about the same clips, voices and pictures several times.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    stat = path.stat()
    if stat.st_size == 0:
        raise MediaError(f"{path}: file is empty (0 bytes)")
    return replace(_probe(path.resolve(), stat.st_size, stat.st_mtime_ns), path=path)


@lru_cache(maxsize=512)
def _probe(path: Path, size: int, mtime_ns: int) -> MediaInfo:
    # An absolute path keeps a name like "clip:1.mp4" from being read as a protocol.
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)]
    try:
        done = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=_PROBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"{path}: probing took over {_PROBE_TIMEOUT_S:g} s") from exc
    info = parse_probe_output(path, done.stderr)
    if info.duration_s == 0.0 and not info.is_still_image:
        # Raw streams carry no duration in their header; decoding them is the only way to know.
        measured = run_ffmpeg(
            ["-i", str(path), "-f", "null", "-"], what=f"{path}: measuring duration"
        )
        info = replace(info, duration_s=measured)
    return info
