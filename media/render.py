"""One-pass render of a RenderSpec: one ffmpeg process, one filter graph, one H.264/AAC encode.

Pictures are fitted inside the graph (media/pictures.py), joined by cuts or transitions here,
captioned, and encoded once; the soundtrack (media/mix.py) is measured for loudness in a quick
audio-only pass first, so the single encode already has the right level.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from media.captions import CaptionSettings, caption_style, copy_caption_fonts, write_ass
from media.encoders import (
    LIBX264,
    PRESETS,
    X264_SETTINGS,
    Encoder,
    run_with_fallback,
    video_encoder,
)
from media.ffmpeg import MediaError, probe, run_ffmpeg
from media.graph import AUDIO_BITRATE, SAMPLE_RATE, Graph, Slot, escape_filter_value, on_clock
from media.mix import add_mix, finish, loudness_gain_db, measure_integrated
from media.pictures import add_picture
from media.quality import Expectations, Interval, QualityProbe, attach_probe, evaluate
from media.spec import TRANSITIONS, Clip, RenderResult, RenderSpec, Word
from media.watermark import caption_band, watermark_chains

__all__ = [
    "AUDIO_BITRATE",
    "SAMPLE_RATE",
    "X264_PRESETS",
    "build_render_args",
    "escape_filter_value",
    "render",
]

# spec.preset -> (x264 preset, crf), kept here for callers; media/encoders.py owns them.
X264_PRESETS = X264_SETTINGS
# Our transition names -> ffmpeg's xfade transitions.
_XFADE = {"crossfade": "fade", "fade": "fadeblack", "slide": "slideleft", "wipe": "wipeleft"}
# A transition never takes more than this share of either clip it joins.
_MAX_TRANSITION_SHARE = 0.5


def _timeline(clips: Sequence[Clip], fps: int) -> list[Slot]:
    # Boundaries are rounded on the running total, not per clip, so rounding never accumulates:
    # the output lasts the sum of clip durations to within half a frame.
    slots = []
    elapsed = 0.0
    for n, clip in enumerate(clips, start=1):
        start_frame = round(elapsed * fps)
        elapsed += clip.duration_s
        frames = round(elapsed * fps) - start_frame
        if frames <= 0:
            raise MediaError(
                f"clip {n} ({clip.video.name}) lasts {clip.duration_s:g} s, "
                f"less than one frame at {fps} fps"
            )
        start_sample = round(start_frame * SAMPLE_RATE / fps)
        end_sample = round((start_frame + frames) * SAMPLE_RATE / fps)
        slots.append(Slot(start_frame, frames, start_sample, end_sample - start_sample))
    return slots


def transition_frames(clips: Sequence[Clip], slots: Sequence[Slot], fps: int) -> list[int]:
    """Frames of overlap into each clip (0 for the first clip and for cuts)."""
    overlaps = [0]
    for prev, (clip, slot) in zip(slots, zip(clips[1:], slots[1:], strict=True), strict=False):
        if clip.transition == "cut":
            overlaps.append(0)
            continue
        longest = _MAX_TRANSITION_SHARE * min(prev.frames, slot.frames)
        overlaps.append(int(min(round(clip.transition_s * fps), longest)))
    return overlaps


def _validate(spec: RenderSpec) -> None:
    c = spec.canvas
    if c.width < 16 or c.height < 16 or c.width % 2 or c.height % 2:
        raise MediaError(f"canvas {c.width}x{c.height} must be even and at least 16x16 (H.264)")
    if not 1 <= c.fps <= 120:
        raise MediaError(f"canvas fps {c.fps} is outside 1-120")
    if not spec.clips:
        raise MediaError("nothing to render: the spec has no clips")
    for n, clip in enumerate(spec.clips, start=1):
        if not (math.isfinite(clip.duration_s) and clip.duration_s > 0):
            raise MediaError(f"clip {n} ({clip.video.name}) has duration {clip.duration_s!r} s")
        if clip.transition not in TRANSITIONS:
            raise MediaError(
                f"clip {n}: unknown transition {clip.transition!r}; use one of "
                f"{', '.join(TRANSITIONS)}"
            )
        if not (math.isfinite(clip.transition_s) and 0 < clip.transition_s <= 3):
            raise MediaError(f"clip {n}: transition_s {clip.transition_s!r} is not in (0, 3] s")
        if clip.fit not in ("auto", "crop", "pad"):
            raise MediaError(f"clip {n}: fit {clip.fit!r} is not auto, crop or pad")
    if not (math.isfinite(spec.music_gain_db) and spec.music_gain_db <= 24):
        raise MediaError(f"music_gain_db {spec.music_gain_db!r} is not a sensible gain")
    if spec.preset not in PRESETS:
        raise MediaError(f"unknown preset {spec.preset!r}; use one of {sorted(PRESETS)}")


def _join(
    graph: Graph, labels: list[str], clips: Sequence[Clip], slots: Sequence[Slot], fps: int
) -> str:
    """One picture stream from the clips' pictures: cuts concatenate, transitions overlap.

    xfade works in 4:4:4 only, so a stream passed through it whole would be converted there and
    back on every frame (a quarter of the render's time for three crossfades). Each picture is
    split instead: only the frames that overlap go through xfade; the rest are concatenated
    untouched.
    """
    overlaps = [*transition_frames(clips, slots, fps), 0]
    pieces: list[str] = []
    tails: list[str | None] = []
    for n, (label, slot) in enumerate(zip(labels, slots, strict=True)):
        head, tail = overlaps[n], overlaps[n + 1]
        # Frames [0, head) blend with the previous clip's tail; [frames, frames + tail) run on
        # into the next clip's head. Both are 0 for cuts.
        spans = {
            "head": (0, head),
            "body": (head, slot.frames),
            "tail": (slot.frames, slot.frames + tail),
        }
        parts = {name: span for name, span in spans.items() if span[1] > span[0]}
        if len(parts) == 1:
            segments = {"body": label}
        else:
            segments = {name: f"{label}{name}" for name in parts}
            graph.chains.append(
                f"[{label}]split={len(parts)}" + "".join(f"[{s}in]" for s in segments.values())
            )
            for name, (start, end) in parts.items():
                graph.chains.append(
                    f"[{segments[name]}in]trim=start_frame={start}:end_frame={end},"
                    f"setpts=PTS-STARTPTS[{segments[name]}]"
                )
        if head:
            previous = tails[n - 1]
            assert previous is not None
            graph.chains += _blend(
                clips[n].transition, previous, segments["head"], f"x{n}", head, fps
            )
            pieces.append(f"x{n}")
        pieces.append(segments["body"])
        tails.append(segments.get("tail"))
    if len(pieces) == 1:
        return pieces[0]
    # concat's output clock is microseconds; put the joined stream back on the frame clock.
    graph.chains.append(
        "".join(f"[{p}]" for p in pieces)
        + f"concat=n={len(pieces)}:v=1:a=0,{on_clock(fps)}[joined]"
    )
    return "joined"


def _blend(kind: str, outgoing: str, incoming: str, out: str, frames: int, fps: int) -> list[str]:
    """Chains blending `frames` frames of `outgoing` into as many of `incoming` by `kind`."""
    if kind == "crossfade":
        # The incoming picture fades in over the outgoing one: an alpha ramp and one blend,
        # in 4:2:0, a third of the work of xfade's conversions to 4:4:4 and back.
        return [
            f"[{incoming}]format=yuva420p,fade=t=in:s=0:n={frames}:alpha=1[{out}in]",
            f"[{outgoing}][{out}in]overlay=format=yuv420,format=yuv420p[{out}]",
        ]
    return [
        f"[{outgoing}][{incoming}]xfade=transition={_XFADE[kind]}"
        f":duration={frames / fps:.6f}:offset=0,format=yuv420p[{out}]"
    ]


def _soundtrack(
    spec: RenderSpec, slots: Sequence[Slot], total_samples: int, workdir: Path
) -> float:
    """The gain that brings this spec's mix to the loudness target, measured audio-only."""
    if not spec.normalize_loudness or not (spec.music or any(c.voice for c in spec.clips)):
        return 0.0
    graph = Graph(workdir)
    label = add_mix(graph, spec.clips, slots, spec.music, spec.music_gain_db, total_samples)
    assert label is not None
    return loudness_gain_db(measure_integrated(graph, label, total_samples / SAMPLE_RATE))


def build_render_args(
    spec: RenderSpec,
    out_path: Path,
    workdir: Path,
    *,
    gain_db: float = 0.0,
    encoder: Encoder = LIBX264,
    quality: QualityProbe | None = None,
) -> tuple[list[str], float, tuple[int, int] | None]:
    """The ffmpeg arguments rendering `spec` to `out_path`, the output duration in seconds, and
    the rows the burned-in captions may cover (None without captions).

    Probes every input (so a bad file fails here, named) and writes the caption files it needs
    into `workdir`, which must outlive the ffmpeg run. `gain_db` is the soundtrack's loudness
    correction (see `render`); `quality`, made by `attach_probe("vout", "aout", workdir)`,
    measures the encoded frames and samples on the way out.
    """
    _validate(spec)
    canvas = spec.canvas
    slots = _timeline(spec.clips, canvas.fps)
    total_frames = sum(s.frames for s in slots)
    total_samples = round(total_frames * SAMPLE_RATE / canvas.fps)
    total_s = total_frames / canvas.fps

    graph = Graph(workdir)
    overlaps = [*transition_frames(spec.clips, slots, canvas.fps)[1:], 0]
    labels = [
        add_picture(graph, n, clip, slot, canvas, extra)
        for n, (clip, slot, extra) in enumerate(
            zip(spec.clips, slots, overlaps, strict=True), start=1
        )
    ]
    video = _join(graph, labels, spec.clips, slots, canvas.fps)
    words = [w for w in spec.words if w.start < total_s]
    band = None
    if spec.burn_captions and words:
        video, band = _burn_captions(graph, video, spec, words)
    if spec.watermark is not None:
        video = _add_watermark(graph, video, spec, band)
    # Tag the stream as the BT.709 it was converted to, so players do not guess.
    graph.chains.append(
        f"[{video}]setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709[vout]"
    )
    mix = add_mix(graph, spec.clips, slots, spec.music, spec.music_gain_db, total_samples)
    finish(graph, mix, gain_db, total_samples)
    video_out, audio_out = "vout", "aout"
    if quality is not None:
        graph.chains += quality.chains
        video_out = quality.video_label or video_out
        audio_out = quality.audio_label or audio_out
    if encoder.filter_suffix:
        graph.chains.append(f"[{video_out}]{encoder.filter_suffix.lstrip(',')}[venc]")
        video_out = "venc"

    args = [
        "-y",
        *encoder.input_args,
        *graph.inputs,
        "-filter_complex",
        graph.filter_complex(),
        "-map", f"[{video_out}]",
        "-map", f"[{audio_out}]",
        *encoder.output_args(spec.preset), "-r", str(canvas.fps),
        "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(SAMPLE_RATE), "-ac", "2",
        "-movflags", "+faststart",
        "-f", "mp4",
        str(out_path.resolve()),
        *(quality.output_args if quality else ()),
    ]  # fmt: skip
    return args, total_s, band


def _burn_captions(
    graph: Graph, video: str, spec: RenderSpec, words: list[Word]
) -> tuple[str, tuple[int, int] | None]:
    """Burn the captions; returns the new label and the rows the captions may cover."""
    # libass gets a directory holding only our fonts (Latin, Arabic, Hebrew, CJK), so it never
    # falls back to system fonts and never tries to load a licence text as one.
    fonts = copy_caption_fonts(graph.workdir / "fonts")
    ass_path = graph.workdir / "captions.ass"
    settings = spec.captions or CaptionSettings()
    cues = write_ass(words, spec.canvas, ass_path, settings=settings)
    graph.chains.append(
        f"[{video}]ass=filename={escape_filter_value(str(ass_path))}"
        f":fontsdir={escape_filter_value(str(fonts))}[captioned]"
    )
    return "captioned", caption_band(spec.canvas, cues, caption_style(spec.canvas, cues, settings))


def _add_watermark(graph: Graph, video: str, spec: RenderSpec, band: tuple[int, int] | None) -> str:
    mark = spec.watermark
    assert mark is not None
    logo = None
    if mark.logo is not None:
        logo = f"{graph.add_input(mark.logo)}:v"  # one frame; overlay repeats it
    canvas = spec.canvas
    graph.chains += watermark_chains(
        mark, video, "marked", canvas.width, canvas.height, logo=logo, caption_band=band
    )
    return "marked"


def _expectations(spec: RenderSpec, slots: Sequence[Slot]) -> Expectations:
    """What this spec's output must measure: its length, sound, and where stills are meant."""
    fps = spec.canvas.fps
    stills = []
    for clip, slot in zip(spec.clips, slots, strict=True):
        start, end = slot.start_frame / fps, (slot.start_frame + slot.frames) / fps
        info = probe(clip.video)
        if info.is_still_image:
            stills.append(Interval(start, end))
        elif clip.kind == "talking" and info.duration_s < end - start:
            stills.append(Interval(start + info.duration_s, end))  # holds its last frame
    return Expectations(
        duration_s=sum(s.frames for s in slots) / fps,
        fps=fps,
        audible=spec.music is not None or any(c.voice for c in spec.clips),
        still_intervals=tuple(stills),
        # Without normalisation the level is the mix's own: only silence is a fault then.
        loudness_tolerance_lu=2.0 if spec.normalize_loudness else math.inf,
    )


def render(
    spec: RenderSpec,
    out_path: Path,
    *,
    on_progress: Callable[[float], None] | None = None,
) -> RenderResult:
    """Render `spec` into an MP4 at `out_path` (written in place; callers move it atomically).

    `on_progress` receives fractions in [0, 1]; raising from it cancels the render and kills
    ffmpeg. Bad inputs and ffmpeg failures raise MediaError naming the file or the cause.
    """
    out_path = Path(out_path)
    if not out_path.parent.is_dir():
        raise MediaError(f"output folder {out_path.parent} does not exist")
    with tempfile.TemporaryDirectory(prefix="skyie-render-") as tmp:
        _validate(spec)
        slots = _timeline(spec.clips, spec.canvas.fps)
        total_samples = round(sum(s.frames for s in slots) * SAMPLE_RATE / spec.canvas.fps)
        gain = _soundtrack(spec, slots, total_samples, Path(tmp))
        quality = attach_probe("vout", "aout", Path(tmp))
        total_s = sum(s.frames for s in slots) / spec.canvas.fps
        band: tuple[int, int] | None = None

        def build(encoder: Encoder) -> list[str]:
            nonlocal band
            args, _, band = build_render_args(
                spec, out_path, Path(tmp), gain_db=gain, encoder=encoder, quality=quality
            )
            return args

        try:
            run_with_fallback(
                build,
                video_encoder(width=spec.canvas.width, height=spec.canvas.height),
                run=run_ffmpeg,
                duration_s=total_s,
                on_progress=on_progress,
                what="render",
            )
            info = probe(out_path)
            # A render that came out wrong (black, frozen, silent, off length) fails here,
            # named, instead of reaching the person.
            evaluate(quality.read(), info, _expectations(spec, slots))
        except BaseException:
            # A cut-off MP4 has no index and plays nowhere; leaving it would only mislead.
            out_path.unlink(missing_ok=True)
            raise
    return RenderResult(
        path=out_path,
        duration_s=info.duration_s,
        width=info.width,
        height=info.height,
        caption_band=band,
    )
