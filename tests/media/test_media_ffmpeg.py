"""Finding and running ffmpeg, and probing files, including broken ones."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image

from media import ffmpeg as ffmpeg_module
from media.ffmpeg import MediaError, ffmpeg_exe, parse_probe_output, probe, run_ffmpeg

LONG_SOURCE = ["-f", "lavfi", "-i", "testsrc2=s=640x360:d=600", "-f", "null", "-"]


def test_probe_video_with_audio(clip_a: Path) -> None:
    info = probe(clip_a)
    assert (info.width, info.height, info.fps) == (320, 240, 25.0)
    assert info.has_video and info.has_audio
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert info.pix_fmt == "yuv420p"
    assert info.duration_s == pytest.approx(2.0, abs=0.05)
    assert not info.is_still_image


def test_probe_audio_and_image(voice: Path, still: Path) -> None:
    audio = probe(voice)
    assert not audio.has_video and audio.has_audio
    assert (audio.sample_rate, audio.channels, audio.audio_codec) == (24000, 1, "pcm_s16le")
    assert audio.duration_s == pytest.approx(1.0, abs=0.01)
    image = probe(still)
    assert image.is_still_image and (image.width, image.height) == (400, 300)
    assert image.duration_s == 0.0


@pytest.mark.parametrize("fixture", ["empty_file", "text_file"])
def test_probe_rejects_non_media_naming_the_file(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(fixture)
    with pytest.raises(MediaError, match=path.name):
        probe(path)


def test_probe_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"nothing-here\.mp4: no such file"):
        probe(tmp_path / "nothing-here.mp4")


def test_probe_raw_stream_measures_duration(media_dir: Path) -> None:
    raw = media_dir / "raw.h264"
    subprocess.run(
        [
            *(
                ffmpeg_exe(),
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=s=64x48:r=25:d=1.2",
            ),
            *("-c:v", "libx264", "-preset", "ultrafast", str(raw)),
        ],
        check=True,
    )
    assert probe(raw).duration_s == pytest.approx(1.2, abs=0.05)


ROTATED_WITH_COVER = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'phone: take 1.mov':
  Duration: 00:01:02.50, start: 0.000000, bitrate: 9000 kb/s
  Stream #0:0[0x1](und): Video: hevc (Main 10) (hvc1 / 0x31637668), yuv420p10le(tv, bt2020nc/\
bt2020/arib-std-b67), 1920x1080, 8000 kb/s, 29.97 fps, 29.97 tbr, 600 tbn (default)
    Side data:
      displaymatrix: rotation of -90.00 degrees
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, 5.1, fltp, 256 kb/s
  Stream #0:2[0x3]: Video: mjpeg (Baseline), yuvj420p(pc), 600x600, 90k tbr (attached pic)
At least one output file must be specified
"""

COVER_ONLY = """Input #0, mp3, from 'song.mp3':
  Duration: N/A, start: 0.025057, bitrate: N/A
  Stream #0:0: Audio: mp3 (mp3float), 44100 Hz, stereo, fltp, 192 kb/s
  Stream #0:1: Video: png, rgba(pc), 500x500, 90k tbr, 90k tbn (attached pic)
"""


def test_parse_rotation_hdr_and_surround() -> None:
    info = parse_probe_output(Path("phone: take 1.mov"), ROTATED_WITH_COVER)
    assert (info.width, info.height) == (1080, 1920)  # displayed upright
    assert info.fps == pytest.approx(29.97)
    assert (info.video_codec, info.pix_fmt) == ("hevc", "yuv420p10le")
    assert (info.audio_codec, info.sample_rate, info.channels) == ("aac", 44100, 6)
    assert info.duration_s == pytest.approx(62.5)
    assert info.format_name == "mov,mp4,m4a,3gp,3g2,mj2"


def test_parse_cover_art_is_not_a_video() -> None:
    info = parse_probe_output(Path("song.mp3"), COVER_ONLY)
    assert not info.has_video and info.has_audio and info.channels == 2
    assert info.duration_s == 0.0


def test_run_failure_carries_stderr_tail() -> None:
    args = ["-f", "lavfi", "-i", "nosuchsource=d=1", "-f", "null", "-"]
    with pytest.raises(MediaError, match="probe step failed") as caught:
        run_ffmpeg(args, what="probe step")
    assert "nosuchsource" in caught.value.stderr_tail
    assert "nosuchsource" in str(caught.value)


def test_progress_is_monotonic_and_ends_at_one() -> None:
    seen: list[float] = []
    args = ["-f", "lavfi", "-i", "testsrc2=s=320x240:d=2", "-f", "null", "-"]
    reached = run_ffmpeg(args, duration_s=2.0, on_progress=seen.append)
    assert reached == pytest.approx(2.0, abs=0.1)
    assert seen and seen[-1] == 1.0
    assert seen == sorted(seen) and all(0.0 <= f <= 1.0 for f in seen)


class _Cancelled(Exception):
    pass


def test_cancel_from_progress_kills_ffmpeg(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[subprocess.Popen[str]] = []
    real_popen = subprocess.Popen

    def recording_popen(*args: object, **kwargs: object) -> subprocess.Popen[str]:
        proc = real_popen(*args, **kwargs)  # type: ignore[call-overload]
        started.append(proc)
        return proc

    monkeypatch.setattr(ffmpeg_module.subprocess, "Popen", recording_popen)

    def cancel(_: float) -> None:
        raise _Cancelled

    began = time.monotonic()
    with pytest.raises(_Cancelled):
        run_ffmpeg(LONG_SOURCE, duration_s=600, on_progress=cancel)
    assert time.monotonic() - began < 10
    assert started and started[0].poll() is not None


def test_timeout_kills_and_says_so() -> None:
    with pytest.raises(MediaError, match=r"timed out after 0\.5 s"):
        run_ffmpeg(LONG_SOURCE, timeout_s=0.5, what="slow job")


def test_skyie_ffmpeg_env(monkeypatch: pytest.MonkeyPatch) -> None:
    real = ffmpeg_exe()
    monkeypatch.setenv("SKYIE_FFMPEG", "/no/such/ffmpeg")
    with pytest.raises(MediaError, match="SKYIE_FFMPEG"):
        ffmpeg_exe()
    monkeypatch.setenv("SKYIE_FFMPEG", real)
    assert ffmpeg_exe() == real


def test_probe_answers_for_the_file_as_it_is_now(tmp_path: Path) -> None:
    """Answers are remembered per file version: a file written again is probed again."""
    path = tmp_path / "changing.png"
    Image.new("RGB", (40, 20)).save(path)
    assert (probe(path).width, probe(path).height) == (40, 20)
    Image.new("RGB", (64, 48)).save(path)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    assert (probe(path).width, probe(path).height) == (64, 48)
    assert probe(str(path)).path == Path(str(path))
