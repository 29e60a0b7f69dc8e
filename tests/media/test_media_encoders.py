"""Encoder choice (real detection on this machine, simulated hardware) and preset settings."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

import media.encoders as encoders
from media.encoders import (
    ENCODER_ENV,
    HARDWARE,
    LIBX264,
    PRESETS,
    VAAPI_DEVICE_ENV,
    X264_SETTINGS,
    Encoder,
    EncoderChoice,
    fallback_encoder,
    hardware_encoder,
    listed_encoders,
    reset_encoder_cache,
    run_with_fallback,
    select_encoder,
    video_encoder,
    video_encoder_args,
)
from media.ffmpeg import MediaError, ffmpeg_exe, probe, run_ffmpeg
from media.render import X264_PRESETS

LOGGER = "skyie.media.encoders"


@pytest.fixture(autouse=True)
def fresh_choice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test chooses anew, from the default setting, and leaves no choice behind."""
    monkeypatch.delenv(ENCODER_ENV, raising=False)
    monkeypatch.delenv(VAAPI_DEVICE_ENV, raising=False)
    reset_encoder_cache()
    yield
    monkeypatch.undo()
    reset_encoder_cache()


def simulate(monkeypatch: pytest.MonkeyPatch, working: set[str]) -> None:
    """Pretend every encoder is built in and only those in `working` pass the test encode."""
    monkeypatch.setattr(encoders, "listed_encoders", lambda exe: frozenset({"libx264", *HARDWARE}))
    # Any existing file stands in for the VAAPI render node.
    monkeypatch.setenv(VAAPI_DEVICE_ENV, __file__)

    def trial(encoder: Encoder, exe: str) -> str | None:
        return None if encoder.name in working else "test encode failed: no such device"

    monkeypatch.setattr(encoders, "trial_encode", trial)


def test_auto_chooses_by_real_detection_and_records_why(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER):
        choice = select_encoder()
    assert choice.requested == "auto"
    if choice.encoder.hardware:  # a machine with a working GPU encoder
        assert choice.reason == f"{choice.encoder.name} passed a test encode"
    else:
        # This CPU machine: the bundled ffmpeg lists NVENC, QSV and VAAPI, none of which work.
        assert choice.encoder == LIBX264
        assert choice.reason == "no hardware encoder works here"
        assert set(choice.skipped) == set(HARDWARE)
        assert all(why for why in choice.skipped.values())
        assert "video encoder: libx264 (no hardware encoder works here)" in caplog.text
        for name in HARDWARE:
            assert name in caplog.text


def test_choice_is_made_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    first = select_encoder()
    monkeypatch.setattr(encoders, "trial_encode", lambda *a: pytest.fail("tested again"))
    assert select_encoder() is first


def test_libx264_can_be_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENCODER_ENV, " LIBX264 ")
    choice = select_encoder()
    assert choice == EncoderChoice(LIBX264, "libx264", f"{ENCODER_ENV}=libx264", {})


def test_unknown_encoder_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENCODER_ENV, "h265_magic")
    with pytest.raises(MediaError, match=rf"{ENCODER_ENV}='h265_magic' is not a known video "):
        select_encoder()
    with pytest.raises(MediaError, match="use one of auto, libx264, h264_nvenc"):
        video_encoder_args("fast", width=64, height=64)


def test_requested_hardware_that_fails_falls_back_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    simulate(monkeypatch, working=set())
    monkeypatch.setenv(ENCODER_ENV, "h264_nvenc")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        choice = select_encoder()
    assert choice.encoder == LIBX264
    assert choice.reason == "requested h264_nvenc does not work here"
    assert choice.skipped == {"h264_nvenc": "test encode failed: no such device"}
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "h264_nvenc: test encode failed: no such device" in record.getMessage()


def test_requested_hardware_that_works_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    simulate(monkeypatch, working={"h264_vaapi"})
    monkeypatch.setenv(ENCODER_ENV, "h264_vaapi")
    assert select_encoder().encoder == hardware_encoder("h264_vaapi", vaapi_device=__file__)


def test_auto_takes_the_first_working_hardware_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    simulate(monkeypatch, working={"h264_qsv", "h264_vaapi"})
    choice = select_encoder()
    assert choice.encoder.name == "h264_qsv"
    assert choice.skipped == {"h264_nvenc": "test encode failed: no such device"}


def test_encoders_missing_from_the_binary_are_skipped_without_a_test(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(encoders, "listed_encoders", lambda exe: frozenset({"libx264"}))
    monkeypatch.setattr(encoders, "trial_encode", lambda *a: pytest.fail("no test expected"))
    choice = select_encoder()
    assert choice.encoder == LIBX264
    assert choice.skipped == dict.fromkeys(HARDWARE, "not built into this ffmpeg")


def test_the_bundled_ffmpeg_lists_what_we_use() -> None:
    names = listed_encoders(ffmpeg_exe())
    assert {"libx264", "h264_nvenc", "h264_qsv", "h264_vaapi", "gif"} <= names


def test_hardware_frames_beyond_4096_go_to_libx264(monkeypatch: pytest.MonkeyPatch) -> None:
    simulate(monkeypatch, working={"h264_nvenc"})
    assert video_encoder(width=1920, height=1080).name == "h264_nvenc"
    assert video_encoder(width=8192, height=4320) == LIBX264
    assert video_encoder_args("fast", width=8192, height=4320)[:2] == ["-c:v", "libx264"]


def test_libx264_keeps_the_render_settings() -> None:
    assert X264_SETTINGS == X264_PRESETS
    assert LIBX264.output_args("fast") == [
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "22",
        "-pix_fmt", "yuv420p", "-profile:v", "high",
    ]  # fmt: skip
    assert LIBX264.input_args == () and LIBX264.filter_suffix == "" and not LIBX264.hardware


def test_hardware_settings_per_preset() -> None:
    nvenc = hardware_encoder("h264_nvenc")
    assert [nvenc.output_args(p)[3] for p in PRESETS] == ["p1", "p4", "p6"]
    assert "-cq" in nvenc.output_args("fast")
    vaapi = hardware_encoder("h264_vaapi", vaapi_device="/dev/dri/renderD129")
    assert vaapi.input_args == ("-vaapi_device", "/dev/dri/renderD129")
    assert vaapi.filter_suffix == ",format=nv12,hwupload"
    assert "-pix_fmt" not in vaapi.output_args("quality")
    assert "-global_quality" in hardware_encoder("h264_qsv").output_args("balanced")
    with pytest.raises(MediaError, match="'libx264' is not a hardware encoder"):
        hardware_encoder("libx264")


def test_unknown_preset_is_rejected() -> None:
    with pytest.raises(MediaError, match="unknown preset 'ultra'"):
        LIBX264.output_args("ultra")


@pytest.mark.parametrize("preset", PRESETS)
def test_libx264_args_encode_a_real_clip(preset: str, tmp_path: Path) -> None:
    out = tmp_path / f"{preset}.mp4"
    args = ["-f", "lavfi", "-i", "testsrc2=s=64x64:r=10:d=0.3", *LIBX264.output_args(preset)]
    run_ffmpeg([*args, "-f", "mp4", str(out)], what=f"{preset} test encode")
    info = probe(out)
    assert (info.video_codec, info.pix_fmt, info.width, info.height) == ("h264", "yuv420p", 64, 64)


def test_run_with_fallback_retries_a_hardware_failure_with_libx264(
    caplog: pytest.LogCaptureFixture,
) -> None:
    nvenc = hardware_encoder("h264_nvenc")
    built: list[Encoder] = []
    reported: list[float] = []

    def build(encoder: Encoder) -> list[str]:
        built.append(encoder)
        return [encoder.name]

    def run(args: Sequence[str], *, on_progress: Any, **kwargs: Any) -> float:
        on_progress(0.5)
        if args == ["h264_nvenc"]:
            raise MediaError("export failed (ffmpeg exit 1):\nOpenEncodeSessionEx failed")
        on_progress(0.25)  # the retry starts over; the caller must not see it go back
        on_progress(1.0)
        return 1.0

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        used = run_with_fallback(build, nvenc, run=run, on_progress=reported.append)
    assert used == LIBX264 and built == [nvenc, LIBX264]
    assert reported == [0.5, 1.0]
    assert "h264_nvenc failed (export failed (ffmpeg exit 1):); retrying with libx264" in (
        caplog.text
    )


def test_libx264_failures_are_not_retried() -> None:
    error = MediaError("render failed")
    assert fallback_encoder(LIBX264, error) is None

    def run(args: Sequence[str], **kwargs: Any) -> float:
        raise error

    with pytest.raises(MediaError, match="render failed"):
        run_with_fallback(lambda encoder: [], LIBX264, run=run)
