"""Multi-format export and thumbnails, checked by probing and decoding the outputs."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import media.export
from media.export import EXPORT_PRESETS, ExportTarget, export_formats, thumbnail
from media.ffmpeg import MediaError, ffmpeg_exe, probe

MASTER_S = 2.0
TALL = ExportTarget("tall", 180, 320)
WIDE = ExportTarget("wide", 320, 180, "pad")
SQUARE = ExportTarget("sq", 200, 200)
TARGETS = (TALL, WIDE, SQUARE)


@pytest.fixture(scope="module")
def master(media_dir: Path, make_media: Callable[..., Path]) -> Path:
    """2 s of 360x640 portrait test pattern with an AAC tone, like a small rendered master."""
    return make_media(
        media_dir / "export master.mp4",
        *("-f", "lavfi", "-i", f"testsrc2=s=360x640:r=30:d={MASTER_S}"),
        *("-f", "lavfi", "-i", f"sine=f=440:d={MASTER_S}"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
        *("-c:a", "aac", "-shortest"),
    )


@pytest.fixture(scope="module")
def exported(
    master: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, Path], int]]:
    """One export of all TARGETS, and how many times ffmpeg was run for it."""
    calls: list[Any] = []
    real_run = media.export.run_ffmpeg

    def counting_run(*args: Any, **kwargs: Any) -> float:
        calls.append(args)
        return real_run(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(media.export, "run_ffmpeg", counting_run)
        outputs = export_formats(master, TARGETS, tmp_path_factory.mktemp("exports"))
    yield outputs, len(calls)


def decode_frame(path: Path, width: int, height: int, at_s: float = 1.0) -> np.ndarray:
    """One RGB frame, shape (height, width, 3)."""
    cmd = [ffmpeg_exe(), "-v", "error", "-ss", str(at_s), "-i", str(path), "-frames:v", "1"]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)


def test_presets_have_platform_sizes() -> None:
    sizes = {name: (t.width, t.height, t.fit) for name, t in EXPORT_PRESETS.items()}
    assert sizes == {
        "tiktok": (1080, 1920, "crop"),
        "reels": (1080, 1920, "crop"),
        "shorts": (1080, 1920, "crop"),
        "youtube": (1920, 1080, "pad"),
        "instagram": (1080, 1350, "crop"),
        "square": (1080, 1080, "crop"),
        "x": (1280, 720, "pad"),
    }
    assert all(t.name == name for name, t in EXPORT_PRESETS.items())


def test_every_target_is_written_at_its_size(exported: tuple[dict[str, Path], int]) -> None:
    outputs, _ = exported
    assert set(outputs) == {t.name for t in TARGETS}
    for target in TARGETS:
        path = outputs[target.name]
        assert path.name == f"{target.name}.mp4"
        info = probe(path)
        assert (info.width, info.height) == (target.width, target.height)
        assert info.video_codec == "h264" and info.pix_fmt == "yuv420p"
        assert info.audio_codec == "aac"
        assert info.duration_s == pytest.approx(MASTER_S, abs=0.1)
    # Nothing but the finished files is left behind.
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(f"{t.name}.mp4" for t in TARGETS)


def test_all_targets_come_from_one_ffmpeg_run(exported: tuple[dict[str, Path], int]) -> None:
    _, ffmpeg_runs = exported
    assert ffmpeg_runs == 1


def test_pad_fills_the_borders_with_blur_not_black(exported: tuple[dict[str, Path], int]) -> None:
    outputs, _ = exported
    frame = decode_frame(outputs[WIDE.name], WIDE.width, WIDE.height).astype(np.float64)
    # The 9:16 picture fitted into 320x180 is about 100 px wide, centred: the outer 80 px on each
    # side are background.
    left, right = frame[:, :80], frame[:, -80:]
    for band in (left, right):
        assert band.mean() > 40, "border is (near) black: expected a blurred picture"
    # Blurred, so no hard edges: neighbouring pixels differ far less than in the sharp centre.
    centre = frame[:, 120:200]
    assert np.abs(np.diff(left, axis=1)).mean() < np.abs(np.diff(centre, axis=1)).mean() / 3


def test_crop_fills_the_whole_frame(exported: tuple[dict[str, Path], int]) -> None:
    outputs, _ = exported
    frame = decode_frame(outputs[SQUARE.name], SQUARE.width, SQUARE.height)
    # testsrc2 has no black columns or rows at its edges, so cropping must leave none either.
    assert frame[:, :4].mean() > 40 and frame[:, -4:].mean() > 40
    assert frame[:4].mean() > 20 and frame[-4:].mean() > 20


def test_non_aac_audio_is_reencoded(
    media_dir: Path, make_media: Callable[..., Path], tmp_path: Path
) -> None:
    mkv = make_media(
        media_dir / "pcm master.mkv",
        *("-f", "lavfi", "-i", "testsrc2=s=360x640:r=25:d=1"),
        *("-f", "lavfi", "-i", "sine=f=440:d=1"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_s16le", "-shortest"),
    )
    out = export_formats(mkv, [TALL], tmp_path)[TALL.name]
    info = probe(out)
    assert info.audio_codec == "aac" and info.duration_s == pytest.approx(1.0, abs=0.1)


def test_thumbnail_is_a_jpeg_of_the_requested_width(master: Path, tmp_path: Path) -> None:
    out = thumbnail(master, tmp_path / "thumb.jpg", width=270)
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"
    info = probe(out)
    assert (info.width, info.height) == (270, 480)
    default = thumbnail(master, tmp_path / "default.jpg")
    assert probe(default).width == 540


def test_thumbnail_time_outside_the_video_is_rejected(master: Path, tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="outside"):
        thumbnail(master, tmp_path / "late.jpg", at_s=MASTER_S + 5)


def test_empty_master_is_rejected(empty_file: Path, tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"empty\.mp4: file is empty \(0 bytes\)"):
        export_formats(empty_file, [TALL], tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ([TALL, ExportTarget("tall", 320, 180)], "duplicate export target name 'tall'"),
        ([TALL, ExportTarget("TALL", 320, 180)], "duplicate export target name 'TALL'"),
        ([ExportTarget("odd", 181, 320)], r"'odd': size 181x320 must be even"),
        ([ExportTarget("tiny", 8, 8)], r"'tiny': size 8x8 must be even and between 16"),
        ([ExportTarget("../up", 180, 320)], "name '../up' is invalid"),
        ([], "no export targets"),
    ],
)
def test_invalid_targets_are_rejected(
    master: Path, tmp_path: Path, targets: list[ExportTarget], message: str
) -> None:
    with pytest.raises(MediaError, match=message):
        export_formats(master, targets, tmp_path)


def test_unknown_preset_is_rejected(master: Path, tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="unknown preset 'ultra'"):
        export_formats(master, [TALL], tmp_path, preset="ultra")  # type: ignore[arg-type]


def test_cancelled_export_leaves_no_files(master: Path, tmp_path: Path) -> None:
    class Cancelled(Exception):
        pass

    def cancel(fraction: float) -> None:
        raise Cancelled

    with pytest.raises(Cancelled):
        export_formats(master, TARGETS, tmp_path, on_progress=cancel)
    assert list(tmp_path.iterdir()) == []
