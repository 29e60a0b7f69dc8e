"""Tiny media inputs generated with ffmpeg's lavfi sources, shared by the media tests."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from media.ffmpeg import ffmpeg_exe

VOICE_HZ = 1000.0
VOICE_AMPLITUDE = 0.4
MUSIC_HZ = 150.0
MUSIC_AMPLITUDE = 0.5


@dataclass(frozen=True)
class Tones:
    """What the generated voice and music contain, so tests can find them in a mix."""

    voice_hz: float = VOICE_HZ
    voice_amplitude: float = VOICE_AMPLITUDE
    music_hz: float = MUSIC_HZ
    music_amplitude: float = MUSIC_AMPLITUDE


def make_media(path: Path, *args: str) -> Path:
    """Run ffmpeg to create `path` from lavfi sources (args go between the binary and `path`)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args, str(path)]
    subprocess.run(cmd, check=True, capture_output=True)
    return path


@pytest.fixture(scope="session")
def tones() -> Tones:
    return Tones()


@pytest.fixture(scope="session", name="make_media")
def make_media_fixture() -> Callable[..., Path]:
    return make_media


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media-inputs")


@pytest.fixture(scope="session")
def clip_a(media_dir: Path) -> Path:
    """2 s of moving test pattern, landscape 320x240 at 25 fps, with its own (ignored) audio."""
    return make_media(
        media_dir / "clip_a.mp4",
        *("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2"),
        *("-f", "lavfi", "-i", "sine=f=440:d=2"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest"),
    )


@pytest.fixture(scope="session")
def short_clip(media_dir: Path) -> Path:
    """1 s of moving pattern at 24 fps, shorter than the slots it is given."""
    return make_media(
        media_dir / "short clip.mp4",
        *("-f", "lavfi", "-i", "testsrc2=s=240x320:r=24:d=1"),
        *("-c:v", "libx264", "-preset", "ultrafast"),
    )


@pytest.fixture(scope="session")
def still(media_dir: Path) -> Path:
    """A 400x300 PNG: dark blue with a light square, so captions and crops are easy to see."""
    path = media_dir / "still.png"
    image = Image.new("RGB", (400, 300), (20, 30, 90))
    image.paste((200, 200, 200), (150, 100, 250, 200))
    image.save(path)
    return path


@pytest.fixture(scope="session")
def voice(media_dir: Path) -> Path:
    """1 s of a 1 kHz tone, mono 24 kHz like a TTS engine's output."""
    return make_media(
        media_dir / "voice.wav",
        *("-f", "lavfi", "-i", f"sine=f={VOICE_HZ}:d=1:sample_rate=24000"),
        *("-af", f"volume={VOICE_AMPLITUDE / 0.125}", "-ac", "1"),
    )


@pytest.fixture(scope="session")
def music(media_dir: Path) -> Path:
    """1.5 s of a 150 Hz half-scale tone in stereo AAC, shorter than the videos: it must loop."""
    return make_media(
        media_dir / "music.m4a",
        *(
            "-f",
            "lavfi",
            "-i",
            f"sine=f={MUSIC_HZ}:d=1.5",
            "-af",
            f"volume={MUSIC_AMPLITUDE / 0.125},pan=stereo|c0=c0|c1=c0",
        ),
        *("-c:a", "aac", "-b:a", "128k"),
    )


@pytest.fixture(scope="session")
def empty_file(media_dir: Path) -> Path:
    path = media_dir / "empty.mp4"
    path.write_bytes(b"")
    return path


@pytest.fixture(scope="session")
def text_file(media_dir: Path) -> Path:
    path = media_dir / "notes.mp4"
    path.write_text("these are meeting notes, not a video\n", encoding="utf-8")
    return path
