"""Quality checks: each fault made on purpose in a tiny lavfi file, caught with its numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from media.ffmpeg import MediaError, probe, run_ffmpeg
from media.quality import (
    Expectations,
    Interval,
    QualityError,
    attach_probe,
    check_file,
    evaluate,
    failures,
    measure_file,
)
from tests.media.conftest import make_media

PICTURE = "testsrc2=s=64x48:r=25"
# A stereo 1 kHz tone whose peak is -14 dBFS measures about -14 LUFS: on target.
TONE = "sine=f=1000:sample_rate=48000:d={d},volume={gain}dB,pan=stereo|c0=c0|c1=c0"
X264 = ("-c:v", "libx264", "-preset", "ultrafast")
AAC = ("-c:a", "aac")


def tone(seconds: float, gain_db: float = 4.0) -> tuple[str, ...]:
    return ("-f", "lavfi", "-i", TONE.format(d=seconds, gain=gain_db))


def picture(seconds: float, extra: str = "") -> tuple[str, ...]:
    return ("-f", "lavfi", "-i", f"{PICTURE}:d={seconds}{extra}")


def black_between(start: float, end: float) -> str:
    return f",drawbox=enable='between(t,{start},{end})':c=black:t=fill"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("quality")


@pytest.fixture(scope="module")
def good(work: Path) -> Path:
    """3 s of moving picture with a tone on target, H.264/AAC in MP4 like our renders."""
    return make_media(work / "good.mp4", *picture(3), *tone(3), *X264, *AAC)


def failed(path: Path, expectations: Expectations | None = None) -> str:
    """The QualityError message checking `path` raises."""
    with pytest.raises(QualityError) as caught:
        check_file(path, expectations or Expectations())
    return str(caught.value)


def test_good_file_passes_with_its_numbers(good: Path) -> None:
    report = check_file(good, Expectations(duration_s=3.0, fps=25))

    assert report.video_frames == 75
    assert report.video_duration_s == pytest.approx(3.0, abs=0.01)
    assert report.audio_duration_s == pytest.approx(3.0, abs=0.03)
    assert report.black == () and report.frozen == ()
    assert report.integrated_lufs == pytest.approx(-14.0, abs=1.0)
    assert report.true_peak_dbtp is not None and report.true_peak_dbtp < -10


def test_wrong_length_is_named(good: Path) -> None:
    message = failed(good, Expectations(duration_s=5.0))

    assert "video lasts 3.00 s, expected 5.00 s" in message
    assert "audio lasts 3.00 s, expected 5.00 s" in message


def test_black_stretch_fails_with_its_times(work: Path) -> None:
    path = make_media(work / "black.mp4", *picture(4, black_between(1, 2.5)), *tone(4), *X264, *AAC)

    message = failed(path)

    assert message.startswith("quality check failed: ")
    assert "1.5 s of black picture from 1.0 s to 2.5 s" in message
    # The black picture is also a still one; it is reported once.
    assert "frozen" not in message


def test_black_until_the_end_is_measured_to_the_end(work: Path) -> None:
    # blackdetect tags no end when the video ends black; the stretch runs to the last frame.
    path = make_media(
        work / "black-end.mp4", *picture(3.5, black_between(2, 4)), *tone(3.5), *X264, *AAC
    )

    assert "1.5 s of black picture from 2.0 s to 3.5 s" in failed(path)


def test_short_fade_through_black_is_a_transition(work: Path) -> None:
    path = make_media(work / "fade.mp4", *picture(3, black_between(1, 1.5)), *tone(3), *X264, *AAC)

    report = check_file(path, Expectations())

    assert len(report.black) == 1 and report.black[0].length < 1.0


@pytest.fixture(scope="module")
def frozen(work: Path) -> Path:
    """1 s of moving picture, then its last frame held for 2.5 s."""
    held = ",tpad=stop_mode=clone:stop_duration=2.5"
    return make_media(work / "frozen.mp4", *picture(1, held), *tone(3.5), *X264, *AAC)


def test_frozen_stretch_fails(frozen: Path) -> None:
    message = failed(frozen)

    # The held frame starts at 1 s (testsrc2's last frames barely move at a quarter size).
    assert re.search(r"picture frozen for 2\.[5-6] s from (0\.9|1\.0) s to 3\.5 s", message)


def test_intended_still_is_not_a_freeze(frozen: Path) -> None:
    # A still image's slot or a talking clip holding its last frame: stillness was asked for.
    check_file(frozen, Expectations(still_intervals=(Interval(1.0, 3.5),)))


def test_still_interval_only_covers_its_own_time(frozen: Path) -> None:
    # 1.6 s of the freeze lies before the intended still: under the 2 s limit.
    check_file(frozen, Expectations(still_intervals=(Interval(2.5, 3.5),)))

    message = failed(frozen, Expectations(still_intervals=(Interval(3.2, 3.5),)))

    assert re.search(r"picture frozen for 2\.[2-3] s from (0\.9|1\.0) s to 3\.2 s", message)


def test_too_quiet_fails(work: Path) -> None:
    path = make_media(work / "quiet.mp4", *picture(3), *tone(3, gain_db=-13), *X264, *AAC)

    message = failed(path)

    assert re.search(r"loudness -3[01]\.\d LUFS, expected -14 ± 2", message)
    assert "true peak" not in message


def test_too_loud_fails_on_loudness_and_peak(work: Path) -> None:
    path = make_media(work / "loud.mp4", *picture(3), *tone(3, gain_db=18), *X264, *AAC)

    message = failed(path)

    assert "LUFS, expected -14 ± 2" in message
    assert "dBTP, above the -1 dBTP ceiling" in message


def test_clipping_peaks_fail_at_the_right_loudness(work: Path) -> None:
    # On-target tone with a 10 ms burst near full scale every second.
    bursts = "aevalsrc='sin(2*PI*1000*t)*if(lt(mod(t\\,1)\\,0.01)\\,0.95\\,0.2)':s=48000:d=3"
    audio = ("-f", "lavfi", "-i", f"{bursts},pan=stereo|c0=c0|c1=c0")
    path = make_media(work / "peaks.mp4", *picture(3), *audio, *X264, *AAC)

    message = failed(path)

    assert "dBTP, above the -1 dBTP ceiling" in message
    assert "LUFS" not in message


def test_missing_audio_fails_unless_allowed(work: Path) -> None:
    path = make_media(work / "mute.mp4", *picture(3), *X264)

    assert "no audio track" in failed(path)
    check_file(path, Expectations(audio_required=False))


def test_silence_is_a_fault_only_when_sound_is_expected(work: Path) -> None:
    silence = ("-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo:d=3")
    path = make_media(work / "silent.mp4", *picture(3), *silence, *X264, *AAC)

    assert "audio is silent" in failed(path)
    # No voice and no music in the spec: a silent track is what was asked for.
    check_file(path, Expectations(audible=False))


def test_audio_shorter_than_video_fails(work: Path) -> None:
    path = make_media(work / "short-audio.mp4", *picture(3), *tone(2), *X264, *AAC)

    message = failed(path)

    assert "audio lasts 2.00 s but video 3.00 s (1.00 s apart, at most 0.09 s allowed)" in message


def test_every_failure_is_listed_in_one_error(work: Path) -> None:
    path = make_media(
        work / "bad.mp4", *picture(4, black_between(0.5, 2)), *tone(3, -13), *X264, *AAC
    )

    with pytest.raises(MediaError) as caught:
        check_file(path, Expectations(duration_s=4.0))

    assert isinstance(caught.value, QualityError)
    assert len(caught.value.failures) == 4  # audio length, drift, black, loudness
    assert str(caught.value).count("; ") == 3


@pytest.mark.parametrize("with_black", [False, True])
def test_probe_in_the_render_graph(tmp_path: Path, with_black: bool) -> None:
    # Awkward characters in the folder prove the log paths are escaped inside the graph.
    workdir = tmp_path / "work: it's [1],x"
    workdir.mkdir()
    out = tmp_path / "out.mp4"
    black = black_between(1, 2.5) if with_black else ""
    chains = [f"[0:v]format=yuv420p{black}[vout]", "[1:a]anull[aout]"]
    quality = attach_probe("vout", "aout", workdir, sample_rate=48_000)
    args = [
        "-y",
        *picture(3),
        *tone(3),
        "-filter_complex",
        ";".join([*chains, *quality.chains]),
        *("-map", f"[{quality.video_label}]", "-map", f"[{quality.audio_label}]"),
        *X264,
        *AAC,
        str(out),
        *quality.output_args,
    ]
    run_ffmpeg(args, what="test render")

    report = quality.read()
    info = probe(out)
    # The in-graph numbers are those of the file that was written.
    from_file, _ = measure_file(out)
    assert report.video_frames == from_file.video_frames == 75
    assert report.video_duration_s == pytest.approx(from_file.video_duration_s, abs=0.01)
    assert report.audio_duration_s == pytest.approx(from_file.audio_duration_s, abs=0.03)
    assert report.integrated_lufs == pytest.approx(from_file.integrated_lufs, abs=0.5)
    assert report.black == from_file.black
    expectations = Expectations(duration_s=3.0, fps=25)
    if with_black:
        assert failures(report, info, expectations) == [
            "1.5 s of black picture from 1.0 s to 2.5 s"
        ]
    else:
        evaluate(report, info, expectations)


def test_two_probes_share_a_graph_and_a_workdir(tmp_path: Path) -> None:
    # An export measures each of its outputs in its one graph.
    first = attach_probe("va", "aa", tmp_path)
    second = attach_probe("vb", None, tmp_path)
    chains = ["[0:v]split=2[va][vb]", "[1:a]anull[aa]", *first.chains, *second.chains]
    args = [*picture(2), *tone(2), "-filter_complex", ";".join(chains)]
    for label in (first.video_label, first.audio_label, second.video_label):
        args += ["-map", f"[{label}]"]
    run_ffmpeg([*args, "-f", "null", "-", *first.output_args, *second.output_args])

    one, two = first.read(), second.read()

    assert one.video_frames == two.video_frames == 50
    assert one.audio_duration_s == pytest.approx(2.0, abs=0.01)
    assert two.audio_duration_s is None


def test_unwritten_measurements_are_an_error(tmp_path: Path) -> None:
    quality = attach_probe("vout", "aout", tmp_path)

    with pytest.raises(MediaError, match="quality measurements missing"):
        quality.read()
