"""Quality checks on a rendered video: duration drift, black or frozen picture, loudness, audio.

The checks are measured inside the render's own ffmpeg process: the final video and audio are
split, and the copies go through cheap analysis filters (blackdetect and freezedetect on a
quarter-size picture, astats and ebur128 on the samples) into a null output. So the measurement
sees the very frames and samples that are encoded and costs no second decode. The filters write
what they find as frame metadata to text files, which `QualityProbe.read` parses after ffmpeg
ends; `evaluate` then compares the numbers with what the spec implies.
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from media.ffmpeg import MediaError, MediaInfo, probe, run_ffmpeg
from media.graph import SAMPLE_RATE, escape_filter_value

# Freezes are measured from this length up; `evaluate` decides which ones matter. Shorter than
# that are the duplicated frames of frame-rate conversion and low-fps animation.
_FREEZE_DETECT_S = 0.25
# Markers the analysis adds to or reads from the frames' metadata.
_FRAME_KEY = "skyie.frame"
_SAMPLES_KEY = "lavfi.astats.Overall.Number_of_samples"
# ebur128 reports -70 LUFS (its absolute gate) for silence and anything quieter.
_SILENCE_LUFS = -69.5


class QualityError(MediaError):
    """A render came out wrong; the message lists every failed check with its numbers."""

    def __init__(self, failures: Sequence[str]) -> None:
        super().__init__("quality check failed: " + "; ".join(failures))
        self.failures = tuple(failures)


@dataclass(frozen=True)
class Interval:
    """A stretch of the timeline, in seconds."""

    start: float
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class QualityReport:
    """What the analysis measured. Durations are end times: last frame or sample, from t=0."""

    video_frames: int = 0
    video_duration_s: float | None = None  # None without video frames
    audio_duration_s: float | None = None  # None without audio
    black: tuple[Interval, ...] = ()
    frozen: tuple[Interval, ...] = ()
    integrated_lufs: float | None = None  # -70.0 for silence
    true_peak_dbtp: float | None = None  # -inf for digital silence


@dataclass(frozen=True)
class Expectations:
    """What a correct render looks like; the defaults are our delivery targets."""

    duration_s: float | None = None  # None: only video against audio is compared
    fps: float | None = None  # for the one-frame tolerance; else the file's rate
    # Streams may differ by one frame plus this: AAC ends on whole 1024-sample frames.
    duration_margin_s: float = 0.05
    audio_required: bool = True
    # False when the spec has neither voice nor music: silence is then correct, not a fault.
    audible: bool = True
    # Where a held picture is intended: a still image's slot, a talking clip holding its last
    # frame. Freezes there are not faults.
    still_intervals: tuple[Interval, ...] = ()
    # Fades through black are shorter than this; a longer black stretch is a missing picture.
    max_black_s: float = 1.0
    max_freeze_s: float = 2.0
    loudness_target_lufs: float = -14.0
    loudness_tolerance_lu: float = 2.0
    max_true_peak_dbtp: float = -1.0
    true_peak_tolerance_db: float = 0.3


def _video_analysis(log: Path) -> str:
    # Black means no picture (Y under 5 %), not a dark scene: a night sky must pass.
    # An eighth of the size (but not under 128 pixels wide), sampled rather than averaged, is
    # plenty to see black or a still picture and makes the analysis free next to encoding
    # (averaging would cost a third of a decode). Every frame gets a marker so the log also
    # records the last frame's time (blackdetect and freezedetect only tag frames where
    # something changes).
    return (
        "scale=w='max(2,2*trunc(max(iw/8,min(iw,128))/2))':h=-2:flags=fast_bilinear,"
        f"blackdetect=d=0.1:pix_th=0.05,freezedetect=d={_FREEZE_DETECT_S},"
        f"metadata=mode=add:key={_FRAME_KEY}:value=1,"
        f"metadata=mode=print:file={escape_filter_value(str(log))}"
    )


def _audio_analysis(samples_log: Path, loudness_log: Path) -> str:
    # astats runs before ebur128 because ebur128 regroups the audio into 100 ms frames; its
    # running sample count gives the exact audio length. ebur128 reports the running integrated
    # loudness and true peak on each frame, so the last values are those of the whole track.
    return (
        "astats=metadata=1:measure_perchannel=none:measure_overall=Number_of_samples,"
        f"ametadata=mode=print:key={_SAMPLES_KEY}:file={escape_filter_value(str(samples_log))},"
        "ebur128=metadata=1:peak=true,"
        f"ametadata=mode=print:file={escape_filter_value(str(loudness_log))}"
    )


@dataclass(frozen=True)
class QualityProbe:
    """Analysis spliced into one ffmpeg command; `attach_probe` says how to wire it in."""

    chains: tuple[str, ...]
    output_args: tuple[str, ...]
    video_label: str | None
    audio_label: str | None
    video_log: Path | None
    samples_log: Path | None
    loudness_log: Path | None
    sample_rate: int

    def read(self) -> QualityReport:
        """Parse the measurement files; call after ffmpeg has exited."""
        report = QualityReport()
        if self.video_log is not None:
            report = _read_video(_read_log(self.video_log), report)
        if self.samples_log is not None and self.loudness_log is not None:
            report = _read_audio(
                _read_log(self.samples_log), _read_log(self.loudness_log), self.sample_rate, report
            )
        return report


def _tag(label: str) -> str:
    """A stream label ("vout", "0:v:0") as a safe part of labels and file names."""
    return re.sub(r"[^A-Za-z0-9_]", "_", label)


def _build(
    video: str | None, audio: str | None, workdir: Path, sample_rate: int, *, tap: bool
) -> QualityProbe:
    """Analysis of streams `video` and `audio`; `tap` keeps a copy of each for the encoder."""
    chains: list[str] = []
    sinks: list[str] = []
    out_video = out_audio = None
    video_log = samples_log = loudness_log = None
    # Names derive from the input labels, so several probes can share a graph and a workdir
    # (an export measuring each of its outputs).
    if video is not None:
        tag = _tag(video)
        source = video
        if tap:
            out_video, source = f"q_{tag}", f"q_{tag}_in"
            chains.append(f"[{video}]split=2[{out_video}][{source}]")
        video_log = workdir / f"quality-{tag}.txt"
        chains.append(f"[{source}]{_video_analysis(video_log)}[q_{tag}_sink]")
        sinks += ["-map", f"[q_{tag}_sink]"]
    if audio is not None:
        tag = _tag(audio)
        source = audio
        if tap:
            out_audio, source = f"q_{tag}", f"q_{tag}_in"
            chains.append(f"[{audio}]asplit=2[{out_audio}][{source}]")
        samples_log = workdir / f"quality-{tag}-samples.txt"
        loudness_log = workdir / f"quality-{tag}-loudness.txt"
        chains.append(f"[{source}]{_audio_analysis(samples_log, loudness_log)}[q_{tag}_sink]")
        sinks += ["-map", f"[q_{tag}_sink]"]
    # The analysed copies end in a null output: ffmpeg runs every filter that feeds an output,
    # and the null muxer writes nothing.
    output_args = (*sinks, "-f", "null", "-") if sinks else ()
    return QualityProbe(
        chains=tuple(chains),
        output_args=output_args,
        video_label=out_video,
        audio_label=out_audio,
        video_log=video_log,
        samples_log=samples_log,
        loudness_log=loudness_log,
        sample_rate=sample_rate,
    )


def attach_probe(
    video: str, audio: str | None, workdir: Path, *, sample_rate: int = SAMPLE_RATE
) -> QualityProbe:
    """Measure the streams labelled `video` and `audio` (the final [vout]/[aout]) in-graph.

    Add `probe.chains` to the graph; they consume those labels, so map `probe.video_label` and
    `probe.audio_label` to the real output instead, and append `probe.output_args` after that
    output's file name. After ffmpeg ends, `probe.read()` has the numbers. `sample_rate` is
    that of `audio`; `workdir` must outlive the run and `read()`.
    """
    return _build(video, audio, workdir, sample_rate, tap=True)


def _read_log(path: Path) -> list[tuple[float, dict[str, str]]]:
    """(pts_time, metadata) per frame from a metadata=mode=print file."""
    if not path.is_file():
        raise MediaError(f"quality measurements missing: {path} was not written")
    frames: list[tuple[float, dict[str, str]]] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("frame:"):
            time = line.rpartition("pts_time:")[2].strip()
            frames.append((float(time) if _is_number(time) else math.nan, {}))
        elif frames and "=" in line:
            key, _, value = line.partition("=")
            frames[-1][1][key.strip()] = value.strip()
    return frames


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _intervals(
    frames: list[tuple[float, dict[str, str]]], start_key: str, end_key: str, end_s: float
) -> tuple[Interval, ...]:
    """Pair start and end tags; a stretch still open at the end lasts to the end of the video."""
    found: list[Interval] = []
    start: float | None = None
    for _, meta in frames:
        if start_key in meta and _is_number(meta[start_key]):
            start = float(meta[start_key])
        if end_key in meta and _is_number(meta[end_key]) and start is not None:
            found.append(Interval(start, float(meta[end_key])))
            start = None
    if start is not None and end_s > start:
        found.append(Interval(start, end_s))
    return tuple(found)


def _read_video(frames: list[tuple[float, dict[str, str]]], report: QualityReport) -> QualityReport:
    times = [t for t, meta in frames if _FRAME_KEY in meta and math.isfinite(t)]
    if not times:
        return report
    # The last frame lasts one frame interval; frames are evenly spaced in our outputs.
    steps = [b - a for a, b in itertools.pairwise(times)]
    end_s = times[-1] + statistics.median(steps) if steps else None
    stop = end_s if end_s is not None else times[-1]
    return replace(
        report,
        video_frames=len(times),
        video_duration_s=end_s,
        black=_intervals(frames, "lavfi.black_start", "lavfi.black_end", stop),
        frozen=_intervals(
            frames, "lavfi.freezedetect.freeze_start", "lavfi.freezedetect.freeze_end", stop
        ),
    )


def _read_audio(
    counts: list[tuple[float, dict[str, str]]],
    loudness: list[tuple[float, dict[str, str]]],
    sample_rate: int,
    report: QualityReport,
) -> QualityReport:
    samples = [float(m[_SAMPLES_KEY]) for _, m in counts if _is_number(m.get(_SAMPLES_KEY, ""))]
    if not samples:
        return replace(report, audio_duration_s=0.0)
    # astats counts cumulatively, so the last count is the whole track, per channel.
    start = counts[0][0] if math.isfinite(counts[0][0]) else 0.0
    lufs = [float(m["lavfi.r128.I"]) for _, m in loudness if _is_number(m.get("lavfi.r128.I", ""))]
    peaks = [
        float(m["lavfi.r128.true_peak"])
        for _, m in loudness
        if _is_number(m.get("lavfi.r128.true_peak", ""))
    ]
    peak = max(peaks, default=0.0)  # linear amplitude, not dB
    return replace(
        report,
        audio_duration_s=start + samples[-1] / sample_rate,
        integrated_lufs=lufs[-1] if lufs else None,
        true_peak_dbtp=20 * math.log10(peak) if peak > 0 else -math.inf,
    )


def measure_file(
    path: Path | str, *, timeout_s: float | None = None
) -> tuple[QualityReport, MediaInfo]:
    """Measure an existing file the way `attach_probe` measures a render: one decode."""
    info = probe(path)
    source = str(info.path.resolve())
    with tempfile.TemporaryDirectory(prefix="skyie-quality-") as tmp:
        measure = _build(
            "0:v:0" if info.has_video else None,
            "0:a:0" if info.has_audio else None,
            Path(tmp),
            info.sample_rate or SAMPLE_RATE,
            tap=False,
        )
        args = ["-i", source, "-filter_complex", ";".join(measure.chains), *measure.output_args]
        run_ffmpeg(
            args, duration_s=info.duration_s, timeout_s=timeout_s, what=f"{path}: quality check"
        )
        return measure.read(), info


def check_file(
    path: Path | str, expectations: Expectations, *, timeout_s: float | None = None
) -> QualityReport:
    """Measure `path` and raise QualityError unless it meets `expectations`."""
    report, info = measure_file(path, timeout_s=timeout_s)
    evaluate(report, info, expectations)
    return report


def _subtract(span: Interval, cuts: Sequence[Interval]) -> list[Interval]:
    """The parts of `span` outside every interval in `cuts`."""
    pieces = [span]
    for cut in cuts:
        pieces = [
            part
            for piece in pieces
            for part in (
                Interval(piece.start, min(piece.end, cut.start)),
                Interval(max(piece.start, cut.end), piece.end),
            )
            if part.length > 0
        ]
    return pieces


def _duration_failures(report: QualityReport, info: MediaInfo, exp: Expectations) -> Iterator[str]:
    fps = exp.fps or info.fps or 25.0
    tolerance = 1 / fps + exp.duration_margin_s
    video_s = report.video_duration_s if report.video_duration_s is not None else info.duration_s
    audio_s = report.audio_duration_s
    measured = {"video": video_s if info.has_video else None, "audio": audio_s}
    if exp.duration_s is not None:
        for name, seconds in measured.items():
            if seconds is not None and abs(seconds - exp.duration_s) > tolerance:
                yield f"{name} lasts {seconds:.2f} s, expected {exp.duration_s:.2f} s"
    if video_s is not None and audio_s is not None and abs(video_s - audio_s) > tolerance:
        yield (
            f"audio lasts {audio_s:.2f} s but video {video_s:.2f} s "
            f"({abs(video_s - audio_s):.2f} s apart, at most {tolerance:.2f} s allowed)"
        )


def _picture_failures(report: QualityReport, exp: Expectations) -> Iterator[str]:
    for black in report.black:
        if black.length > exp.max_black_s:
            yield (
                f"{black.length:.1f} s of black picture "
                f"from {black.start:.1f} s to {black.end:.1f} s"
            )
    # A black stretch is also a frozen one; it is reported once, as black.
    for frozen in report.frozen:
        for piece in _subtract(frozen, [*exp.still_intervals, *report.black]):
            if piece.length > exp.max_freeze_s:
                yield (
                    f"picture frozen for {piece.length:.1f} s "
                    f"from {piece.start:.1f} s to {piece.end:.1f} s"
                )


def _audio_failures(report: QualityReport, info: MediaInfo, exp: Expectations) -> Iterator[str]:
    if not info.has_audio:
        if exp.audio_required:
            yield "no audio track"
        return
    if report.audio_duration_s == 0.0:
        yield "audio track has no samples"
        return
    lufs = report.integrated_lufs
    if exp.audible:
        if lufs is None or lufs <= _SILENCE_LUFS:
            yield "audio is silent, expected voice or music"
        elif abs(lufs - exp.loudness_target_lufs) > exp.loudness_tolerance_lu:
            yield (
                f"loudness {lufs:.1f} LUFS, expected "
                f"{exp.loudness_target_lufs:g} ± {exp.loudness_tolerance_lu:g}"
            )
    peak = report.true_peak_dbtp
    if peak is not None and peak > exp.max_true_peak_dbtp + exp.true_peak_tolerance_db:
        yield f"true peak {peak:.1f} dBTP, above the {exp.max_true_peak_dbtp:g} dBTP ceiling"


def failures(report: QualityReport, info: MediaInfo, expectations: Expectations) -> list[str]:
    """Every failed check, worded for the user; empty when the render is good."""
    found = [] if info.has_video else ["no video track"]
    if info.has_video and report.video_frames == 0:
        found.append("video track has no frames")
    found += _duration_failures(report, info, expectations)
    found += _picture_failures(report, expectations)
    found += _audio_failures(report, info, expectations)
    return found


def evaluate(report: QualityReport, info: MediaInfo, expectations: Expectations) -> None:
    """Raise QualityError naming each failed check; `info` is the probe of the output file."""
    if found := failures(report, info, expectations):
        raise QualityError(found)
