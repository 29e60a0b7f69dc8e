"""Multi-format export and thumbnails, checked by probing and decoding the outputs."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import media.export
from media.encoders import hardware_encoder, preview_format
from media.export import (
    EXPORT_PACK,
    EXPORT_PRESETS,
    PREVIEW,
    ExportTarget,
    animated_preview,
    export_formats,
    frame_target,
    thumbnail,
)
from media.ffmpeg import MediaError, ffmpeg_exe, probe
from media.watermark import Watermark

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


# --- the export pack at full size -----------------------------------------------------------

PACK_FPS = 10


@pytest.fixture(scope="module")
def short_master(media_dir: Path, make_media: Callable[..., Path]) -> Path:
    """0.5 s at 10 fps: enough to probe full-size outputs without encoding many 1080p frames."""
    return make_media(
        media_dir / "short master.mp4",
        *("-f", "lavfi", "-i", f"testsrc2=s=360x640:r={PACK_FPS}:d=0.5"),
        *("-f", "lavfi", "-i", "sine=f=440:d=0.5"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
        *("-c:a", "aac", "-shortest"),
    )


def test_export_pack_names_the_five_distinct_formats() -> None:
    sizes = {
        name: (EXPORT_PRESETS[name].width, EXPORT_PRESETS[name].height) for name in EXPORT_PACK
    }
    assert sizes == {
        "tiktok": (1080, 1920),
        "youtube": (1920, 1080),
        "instagram": (1080, 1350),
        "square": (1080, 1080),
        "x": (1280, 720),
    }


def test_full_size_pack_probes_right(short_master: Path, tmp_path: Path) -> None:
    master_s = probe(short_master).duration_s
    outputs = export_formats(short_master, [EXPORT_PRESETS[n] for n in EXPORT_PACK], tmp_path)
    assert set(outputs) == set(EXPORT_PACK)
    for name in EXPORT_PACK:
        info = probe(outputs[name])
        target = EXPORT_PRESETS[name]
        assert (info.width, info.height) == (target.width, target.height), name
        assert (info.video_codec, info.audio_codec, info.pix_fmt) == ("h264", "aac", "yuv420p")
        assert info.duration_s == pytest.approx(master_s, abs=1 / PACK_FPS), name


# --- caption-aware framing ------------------------------------------------------------------

BAND = (560, 600)  # rows of the bright band in the 360x640 banded master


@pytest.fixture(scope="module")
def banded_master(media_dir: Path, make_media: Callable[..., Path]) -> Path:
    """Dark grey 360x640 with a white band at rows 560-600, where captions would be burned."""
    top, bottom = BAND
    return make_media(
        media_dir / "banded master.mp4",
        *("-f", "lavfi", "-i", "color=c=0x202020:s=360x640:r=10:d=1"),
        *("-f", "lavfi", "-i", "sine=f=440:d=1"),
        "-vf", f"drawbox=x=0:y={top}:w=360:h={bottom - top}:color=white:t=fill",
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
        *("-c:a", "aac", "-shortest"),
    )  # fmt: skip


def bright_rows(frame: np.ndarray) -> np.ndarray:
    return np.nonzero(frame.mean(axis=(1, 2)) > 200)[0]


def test_crop_keeps_the_caption_band_in_view(banded_master: Path, tmp_path: Path) -> None:
    square = ExportTarget("sq", 200, 200)
    plain = export_formats(banded_master, [square], tmp_path / "plain")["sq"]
    # Centred, the 200x356 scaled picture is cut to rows 78-278: the band (311-334) is lost.
    assert bright_rows(decode_frame(plain, 200, 200, 0.5)).size == 0
    aware = export_formats(banded_master, [square], tmp_path / "aware", caption_band=BAND)["sq"]
    rows = bright_rows(decode_frame(aware, 200, 200, 0.5))
    framing = frame_target(square, 360, 640, BAND)
    assert framing.fit == "crop" and framing.caption_band is not None
    top, bottom = framing.caption_band
    assert rows.size >= 15 and top - 2 <= rows.min() and rows.max() <= bottom + 2
    assert rows.max() < 200 - 3, "band pushed against the bottom edge"


def test_a_band_too_tall_for_the_crop_pads_instead(banded_master: Path, tmp_path: Path) -> None:
    strip = ExportTarget("strip", 320, 64)  # crop would keep only 64 of 569 scaled rows
    band = (300, 600)
    framing = frame_target(strip, 360, 640, band)
    assert framing.fit == "pad" and framing.scaled == (36, 64)
    out = export_formats(banded_master, [strip], tmp_path, caption_band=band)["strip"]
    frame = decode_frame(out, 320, 64, 0.5)
    # The whole master is visible, band included, in the middle 36 columns.
    x = framing.offset[0]
    assert bright_rows(frame[:, x + 4 : x + 32]).size >= 2


def test_framing_places_crops_by_the_band() -> None:
    tall = ExportTarget("tall", 1080, 1920)
    square = ExportTarget("sq", 1080, 1080)
    # No band: centred, as before.
    assert frame_target(square, 1080, 1920, None).offset == (0, 420)
    # A band already inside the centred window leaves it there.
    assert frame_target(square, 1080, 1920, (1300, 1440)).offset == (0, 420)
    # A band below it moves the window down just enough (plus a small gap).
    moved = frame_target(square, 1080, 1920, (1700, 1800))
    assert moved.fit == "crop" and 1800 - 1080 < moved.offset[1] <= 1700
    assert moved.caption_band == (1700 - moved.offset[1], 1800 - moved.offset[1])
    # A landscape master cut to portrait would lose the ends of every caption line: padded.
    assert frame_target(tall, 1920, 1080, (900, 1000)).fit == "pad"
    assert frame_target(tall, 1920, 1080, None).fit == "crop"
    # Pad targets report where the band lands in them.
    youtube = frame_target(EXPORT_PRESETS["youtube"], 1080, 1920, (1300, 1440))
    assert youtube.fit == "pad" and youtube.scaled == (608, 1080)
    assert youtube.caption_band == (731, 810)


@pytest.mark.parametrize(
    ("band", "message"),
    [
        ((600, 560), r"caption band \(600, 560\) is not rows \(top, bottom\)"),
        ((-1, 10), r"caption band \(-1, 10\) is not rows"),
        ((0.5, 10), r"caption band \(0.5, 10\) is not rows"),
        ((1, 2, 3), r"caption band \(1, 2, 3\) is not rows"),
        ((0, 641), r"caption band \(0, 641\) is not rows within 640 px"),
    ],
)
def test_invalid_caption_band_is_rejected(
    banded_master: Path, tmp_path: Path, band: tuple[int, int], message: str
) -> None:
    with pytest.raises(MediaError, match=message):
        export_formats(banded_master, [TALL], tmp_path, caption_band=band)


def test_caption_band_from_json_is_accepted(banded_master: Path, tmp_path: Path) -> None:
    band: Any = [560, 600]  # as stored in a step's metadata
    out = export_formats(banded_master, [ExportTarget("sq", 200, 200)], tmp_path, caption_band=band)
    assert bright_rows(decode_frame(out["sq"], 200, 200, 0.5)).size >= 15


def test_preview_folder_must_exist(master: Path, tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"preview folder .*missing does not exist"):
        export_formats(master, [TALL], tmp_path, preview=tmp_path / "missing" / "p.webp")


# --- watermark, preview, encoder fallback ---------------------------------------------------


@pytest.fixture(scope="module")
def grey_master(media_dir: Path, make_media: Callable[..., Path]) -> Path:
    return make_media(
        media_dir / "grey master.mp4",
        *("-f", "lavfi", "-i", "color=c=0x808080:s=360x640:r=10:d=1"),
        *("-f", "lavfi", "-i", "sine=f=440:d=1"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
        *("-c:a", "aac", "-shortest"),
    )


def test_watermark_is_drawn_on_every_output(grey_master: Path, tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    Image.new("RGB", (40, 20), (255, 0, 0)).save(logo)
    wm = Watermark(logo=logo, position="top-right", opacity=1.0, size=0.15)
    outputs = export_formats(grey_master, TARGETS, tmp_path / "out", watermark=wm)
    for target in TARGETS:
        frame = decode_frame(outputs[target.name], target.width, target.height, 0.5)
        w, h = target.width, target.height
        red = (frame[..., 0].astype(int) - frame[..., 1]) > 100
        assert red[: h // 2, w // 2 :].sum() > 50, target.name
        assert red.sum() == red[: h // 2, w // 2 :].sum(), target.name


def test_text_watermark_keeps_clear_of_the_captions(banded_master: Path, tmp_path: Path) -> None:
    wm = Watermark(text="Skyie", position="bottom-left", opacity=1.0, size=0.1)
    square = ExportTarget("sq", 200, 200)
    out = export_formats(banded_master, [square], tmp_path, caption_band=BAND, watermark=wm)
    frame = decode_frame(out["sq"], 200, 200, 0.5)
    band = frame_target(square, 360, 640, BAND).caption_band
    assert band is not None
    drawn = np.abs(frame.astype(int) - 0x20).sum(axis=2) > 60
    drawn[band[0] - 1 : band[1] + 2] = False  # the band itself is bright
    ys = np.nonzero(drawn.any(axis=1))[0]
    assert ys.size and ys.max() < band[0]


def animated(path: Path) -> tuple[str, int, tuple[int, int]]:
    with Image.open(path) as image:
        return image.format or "", getattr(image, "n_frames", 1), image.size


def test_preview_comes_from_the_same_ffmpeg_run(
    master: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []
    real_run = media.export.run_ffmpeg
    monkeypatch.setattr(
        media.export, "run_ffmpeg", lambda *a, **k: calls.append(a) or real_run(*a, **k)
    )
    outputs = export_formats(master, [TALL], tmp_path, preview=tmp_path / "preview.webp")
    assert len(calls) == 1
    assert outputs[PREVIEW] == tmp_path / f"preview.{preview_format()}"
    fmt, frames, size = animated(outputs[PREVIEW])
    assert fmt == preview_format().upper() == "WEBP"
    assert size == (320, 568)
    assert frames == 24  # the whole 2 s master (shorter than 3 s) at 12 fps
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preview.webp", "tall.mp4"]


def test_preview_name_cannot_clash_with_a_target(master: Path, tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="'preview' clashes with the preview"):
        export_formats(
            master, [ExportTarget("preview", 180, 320)], tmp_path, preview=tmp_path / "p"
        )


def test_animated_preview_from_a_third_in(master: Path, tmp_path: Path) -> None:
    out = animated_preview(master, tmp_path / "clip.webp", seconds=1.0, width=160, fps=10)
    assert out == tmp_path / "clip.webp"
    fmt, frames, size = animated(out)
    assert (fmt, frames, size) == ("WEBP", 10, (160, 284))
    # testsrc2 shows the time: the first preview frame is the master's frame at 2/3 s.
    first = np.asarray(Image.open(out).convert("RGB"), dtype=np.float64)
    expected = decode_frame(master, 360, 640, 2 / 3)
    scaled = np.asarray(Image.fromarray(expected).resize((160, 284)), dtype=np.float64)
    other = np.asarray(Image.fromarray(decode_frame(master, 360, 640, 0.0)).resize((160, 284)))
    assert np.abs(first - scaled).mean() < np.abs(first - other).mean()


def test_gif_preview(master: Path, tmp_path: Path) -> None:
    out = animated_preview(master, tmp_path / "clip.gif", seconds=1.0, width=120, fps=8)
    assert animated(out) == ("GIF", 8, (120, 214))


def test_preview_falls_back_to_gif_without_webp(
    master: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(media.export, "preview_format", lambda: "gif")
    outputs = export_formats(master, [TALL], tmp_path, preview=tmp_path / "preview.webp")
    assert outputs[PREVIEW] == tmp_path / "preview.gif"
    fmt, frames, _ = animated(outputs[PREVIEW])
    assert (fmt, frames) == ("GIF", 24)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seconds": 0}, "preview length 0 s"),
        ({"width": 4}, "preview width 4"),
        ({"fps": 60}, "fps 60 is outside"),
    ],
)
def test_bad_preview_settings_are_rejected(
    master: Path, tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(MediaError, match=message):
        animated_preview(master, tmp_path / "p.webp", **kwargs)


def test_broken_hardware_encoder_falls_back_to_libx264(
    master: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A VAAPI encoder on a device that does not exist fails on every machine.
    broken = hardware_encoder("h264_vaapi", vaapi_device="/nonexistent/renderD999")
    monkeypatch.setattr(media.export, "video_encoder", lambda **size: broken)
    calls: list[list[str]] = []
    real_run = media.export.run_ffmpeg
    monkeypatch.setattr(
        media.export, "run_ffmpeg", lambda a, **k: calls.append(list(a)) or real_run(a, **k)
    )
    out = export_formats(master, [TALL], tmp_path)[TALL.name]
    assert len(calls) == 2
    assert "h264_vaapi" in calls[0] and "libx264" in calls[1]
    info = probe(out)
    assert (info.video_codec, info.width, info.height) == ("h264", TALL.width, TALL.height)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tall.mp4"]


def test_a_target_the_master_already_is_copied_not_reencoded(master: Path, tmp_path: Path) -> None:
    info = probe(master)
    same = ExportTarget("same", info.width, info.height)
    other = ExportTarget("other", 64, 64)
    outputs = export_formats(master, [same, other], tmp_path)

    def picture_md5(path: Path) -> str:
        cmd = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v", "-c", "copy"]
        return subprocess.run(
            [*cmd, "-f", "md5", "-"], check=True, capture_output=True
        ).stdout.decode()

    assert picture_md5(outputs["same"]) == picture_md5(master), "the same packets, untouched"
    assert (probe(outputs["other"]).width, probe(outputs["other"]).height) == (64, 64)
