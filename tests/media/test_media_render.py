"""End-to-end renders of tiny timelines, checked by decoding the result."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image

from media.ffmpeg import MediaError, ffmpeg_exe, probe
from media.render import render
from media.spec import Canvas, Clip, RenderSpec, Word, host_box
from tests.media.conftest import make_media

if TYPE_CHECKING:
    from tests.media.conftest import Tones

SMALL = Canvas(180, 320, 25)
RATE = 48_000


def decode_audio(path: Path) -> np.ndarray:
    """The output's audio as float32, shape (samples, 2), at 48 kHz."""
    cmd = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:a"]
    cmd += ["-f", "f32le", "-ac", "2", "-ar", str(RATE), "-"]
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype="<f4").reshape(-1, 2)


def decode_frames(path: Path, canvas: Canvas) -> np.ndarray:
    """Every video frame as RGB, shape (frames, height, width, 3)."""
    cmd = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v"]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, canvas.height, canvas.width, 3)


def tone_level(audio: np.ndarray, hz: float, start: float, end: float) -> float:
    """Amplitude of the `hz` component of the left channel between `start` and `end` seconds."""
    chunk = audio[int(start * RATE) : int(end * RATE), 0].astype(np.float64)
    t = np.arange(len(chunk)) / RATE
    return float(2 * abs(np.mean(chunk * np.exp(-2j * np.pi * hz * t))))


def db(ratio: float) -> float:
    return float(20 * np.log10(max(ratio, 1e-9)))


@pytest.fixture(scope="module")
def full_render(
    tmp_path_factory: pytest.TempPathFactory,
    clip_a: Path,
    still: Path,
    short_clip: Path,
    voice: Path,
    music: Path,
) -> tuple[RenderSpec, Path, list[float]]:
    """Video clip + still + too-short looping clip, two voices, looping music and captions."""
    spec = RenderSpec(
        canvas=SMALL,
        clips=[
            Clip(clip_a, 2.0, voice=voice, kind="talking"),
            Clip(still, 1.6, fit="crop"),
            Clip(short_clip, 2.0, voice=voice),
        ],
        music=music,
        words=[Word("Hello", 0.1, 0.5), Word("there.", 0.5, 0.9), Word("Again!", 3.7, 4.4)],
        # The mix at its own level, so the test can find each tone where it put it.
        normalize_loudness=False,
    )
    out = tmp_path_factory.mktemp("render") / "out.mp4"
    progress: list[float] = []
    result = render(spec, out, on_progress=progress.append)
    assert result.path == out
    return spec, out, progress


def test_output_format_and_exact_duration(
    full_render: tuple[RenderSpec, Path, list[float]],
) -> None:
    _, out, progress = full_render
    info = probe(out)
    assert (info.width, info.height) == (180, 320)
    assert (info.video_codec, info.pix_fmt, info.fps) == ("h264", "yuv420p", 25.0)
    assert (info.audio_codec, info.sample_rate, info.channels) == ("aac", 48000, 2)
    assert info.duration_s == pytest.approx(5.6, abs=1 / 25)
    assert len(decode_frames(out, SMALL)) == 140  # 5.6 s at 25 fps, to the frame
    assert len(decode_audio(out)) == pytest.approx(5.6 * RATE, abs=RATE / 25)
    assert progress[-1] == 1.0 and progress == sorted(progress)


def test_voices_at_their_offsets_at_full_level(
    full_render: tuple[RenderSpec, Path, list[float]], tones: Tones
) -> None:
    audio = decode_audio(full_render[1])
    # Voice one plays 0-1 s, voice two at the third clip's start (3.6 s) for 1 s.
    for start, end in [(0.1, 0.9), (3.7, 4.5)]:
        level = tone_level(audio, tones.voice_hz, start, end)
        assert abs(db(level / tones.voice_amplitude)) < 1.5, (
            "voice must not be attenuated by mixing"
        )
    for start, end in [(1.2, 3.5), (4.8, 5.5)]:
        assert tone_level(audio, tones.voice_hz, start, end) < tones.voice_amplitude / 30


def test_music_bed_loops_and_ducks_under_voice(
    full_render: tuple[RenderSpec, Path, list[float]], tones: Tones
) -> None:
    spec, out, _ = full_render
    audio = decode_audio(out)
    bed = tones.music_amplitude * 10 ** (spec.music_gain_db / 20)
    alone = tone_level(audio, tones.music_hz, 1.6, 3.4)
    assert abs(db(alone / bed)) < 2.0, "music plays at music_gain_db where nobody speaks"
    under_voice = tone_level(audio, tones.music_hz, 3.8, 4.2)
    assert db(under_voice / alone) < -6, "music is ducked while the voice plays"
    assert tone_level(audio, tones.music_hz, 4.6, 5.0) > bed / 10, "music loops past its 1.5 s"
    assert np.abs(audio[-RATE // 50 :]).max() < bed / 4, "music fades out at the end"


def test_still_image_holds_and_short_clip_loops(
    full_render: tuple[RenderSpec, Path, list[float]],
) -> None:
    frames = decode_frames(full_render[1], SMALL).astype(np.int16)
    top = frames[:, : SMALL.height // 2]  # above the captions
    still_slot, loop_slot = top[50:90], top[90:140]
    # A still stays still; a few pixels of encoder noise (B-frames drift a little) are fine.
    change = np.abs(still_slot - still_slot[0])
    assert change.mean() < 0.5 and np.percentile(change, 99.9) < 12, "a still stays still"
    # Blue dominates the still: the picture was fitted, not left black.
    assert still_slot[0, ..., 2].mean() > 60
    assert np.abs(still_slot[0] - top[49]).mean() > 10, "a cut between clips"
    # The 1 s b-roll clip fills its 2 s slot by looping: its second second moves like its first.
    motion = np.abs(np.diff(loop_slot, axis=0)).mean(axis=(1, 2, 3))
    # (24 fps to 25 fps repeats one frame a second; a freeze would repeat many.)
    assert (motion[25:] > 0.5).mean() > 0.9, "no frozen frames in the looped half"
    assert np.abs(loop_slot[0] - loop_slot[24]).mean() < np.abs(loop_slot[0] - loop_slot[12]).mean()


def test_talking_clip_shorter_than_slot_holds_last_frame(tmp_path: Path, short_clip: Path) -> None:
    spec = RenderSpec(canvas=SMALL, clips=[Clip(short_clip, 1.6, kind="talking")])
    out = render(spec, tmp_path / "held.mp4").path
    frames = decode_frames(out, SMALL).astype(np.int16)
    assert len(frames) == 40
    assert np.abs(np.diff(frames[:20], axis=0)).mean() > 0.5, "moves while the clip lasts"
    assert np.abs(frames[27:] - frames[26]).mean() < 1, "then holds its last frame"
    assert frames[-1].mean() > 30, "held, not black"


def test_silent_track_when_no_voice_or_music(tmp_path: Path, still: Path) -> None:
    out = render(RenderSpec(canvas=SMALL, clips=[Clip(still, 1.0)]), tmp_path / "quiet.mp4").path
    info = probe(out)
    assert info.has_audio and info.audio_codec == "aac"
    audio = decode_audio(out)
    assert len(audio) == pytest.approx(RATE, abs=RATE / 25)
    assert np.abs(audio).max() < 1e-3


def test_captions_are_burned_with_the_active_word_highlighted(tmp_path: Path, still: Path) -> None:
    words = [Word("Hello", 0.0, 0.5), Word("world", 0.5, 1.0)]
    frames = {}
    for burn in (True, False):
        spec = RenderSpec(canvas=SMALL, clips=[Clip(still, 1.0)], words=words, burn_captions=burn)
        frames[burn] = decode_frames(render(spec, tmp_path / f"burn-{burn}.mp4").path, SMALL)
    with_text, without = frames[True].astype(np.int16), frames[False].astype(np.int16)
    band = slice(int(SMALL.height * 0.6), int(SMALL.height * 0.8))
    assert np.abs(with_text[:, band] - without[:, band]).max(axis=-1).mean() > 5
    assert np.abs(with_text[:, :150] - without[:, :150]).max() < 12, "nothing drawn up top"

    def highlight_x(frame: np.ndarray) -> float:
        r, g, b = (frame[band, :, c] for c in range(3))
        _, xs = np.nonzero((r > 180) & (g > 160) & (b < 110))
        assert len(xs) > 5, "the active word is drawn in the highlight colour"
        return float(xs.mean())

    assert highlight_x(with_text[5]) < SMALL.width / 2 < highlight_x(with_text[18])


def test_render_with_awkward_temp_path(
    tmp_path: Path, still: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caption file path goes through filter-graph escaping: quotes, colons, brackets."""
    awkward = tmp_path / "it's [odd]; a:b, c\\d"
    awkward.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(awkward))
    spec = RenderSpec(canvas=SMALL, clips=[Clip(still, 0.4)], words=[Word("Quoted", 0.0, 0.4)])
    result = render(spec, tmp_path / "odd.mp4")
    assert result.duration_s == pytest.approx(0.4, abs=0.05)


@pytest.mark.parametrize("fixture", ["empty_file", "text_file"])
def test_bad_clip_file_is_named(
    fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    bad: Path = request.getfixturevalue(fixture)
    spec = RenderSpec(canvas=SMALL, clips=[Clip(bad, 1.0)])
    with pytest.raises(MediaError, match=bad.name):
        render(spec, tmp_path / "never.mp4")
    assert not (tmp_path / "never.mp4").exists()


def test_voice_without_audio_is_named(tmp_path: Path, still: Path, short_clip: Path) -> None:
    spec = RenderSpec(canvas=SMALL, clips=[Clip(still, 1.0, voice=short_clip)])
    with pytest.raises(MediaError, match=r"clip 1: voice file .*short clip\.mp4 has no audio"):
        render(spec, tmp_path / "never.mp4")


@pytest.mark.parametrize(
    ("canvas", "duration", "message"),
    [(Canvas(181, 320), 1.0, "must be even"), (SMALL, 0.0, "clip 1 .* duration 0.0")],
)
def test_invalid_spec_is_explained(
    tmp_path: Path, still: Path, canvas: Canvas, duration: float, message: str
) -> None:
    with pytest.raises(MediaError, match=message):
        render(RenderSpec(canvas=canvas, clips=[Clip(still, duration)]), tmp_path / "x.mp4")


def test_full_size_vertical_smoke(
    tmp_path: Path, clip_a: Path, voice: Path, music: Path, make_media: Callable[..., Path]
) -> None:
    """The real 1080x1920 canvas, from a landscape source, with every layer switched on."""
    canvas = Canvas(1080, 1920, 30)
    photo = make_media(
        tmp_path / "photo.jpg", "-f", "lavfi", "-i", "testsrc2=s=1600x1200", "-frames:v", "1"
    )
    spec = RenderSpec(
        canvas=canvas,
        clips=[Clip(clip_a, 1.5, voice=voice), Clip(photo, 1.5)],
        music=music,
        words=[Word("Full", 0.2, 0.6), Word("size", 0.6, 1.0), Word("smoke.", 1.0, 1.6)],
    )
    result = render(spec, tmp_path / "vertical.mp4")
    assert (result.width, result.height) == (1080, 1920)
    assert result.duration_s == pytest.approx(3.0, abs=1 / 30)


def test_host_is_set_over_its_background(tmp_path: Path, media_dir: Path) -> None:
    """A talking clip with a background fills the host frame; the backdrop shows around it."""
    host = make_media(
        media_dir / "host.mp4",
        *("-f", "lavfi", "-i", "color=c=red:s=200x250:r=25:d=1"),
        *("-c:v", "libx264", "-preset", "ultrafast"),
    )
    backdrop = media_dir / "backdrop.png"
    Image.new("RGB", (300, 500), (0, 0, 230)).save(backdrop)
    spec = RenderSpec(
        canvas=SMALL,
        clips=[
            Clip(host, 1.0, kind="talking", background=backdrop),
            Clip(host, 0.4, kind="talking"),
        ],
    )
    out = render(spec, tmp_path / "host.mp4").path
    frames = decode_frames(out, SMALL).astype(np.int16)
    x, y, w, h = host_box(SMALL.width, SMALL.height)
    assert (w, h) == (144, 180) and x > 0 and y > 0 and y + h < SMALL.height
    first = frames[10]
    inside = first[y + h // 4 : y + 3 * h // 4, x + w // 4 : x + 3 * w // 4]
    assert inside[..., 0].mean() > 180 and inside[..., 2].mean() < 60, "the host fills its frame"
    for outside in (first[: y - 2], first[y + h + 2 :], first[:, : x - 2]):
        assert outside[..., 2].mean() > 180 and outside[..., 0].mean() < 60, "backdrop around"
    # The corners are rounded: the frame's very corner shows the backdrop, not the host.
    assert first[y + 1, x + 1, 2] > first[y + 1, x + 1, 0]
    # Without a background the host fills the canvas again.
    assert frames[-3][..., 0].mean() > 180
