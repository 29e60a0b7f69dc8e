"""One-pass render of a RenderSpec: one ffmpeg process, one filter graph, one H.264/AAC encode."""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from media.captions import FONT_PATH, write_ass
from media.ffmpeg import MediaError, MediaInfo, probe, run_ffmpeg
from media.spec import Canvas, Clip, RenderResult, RenderSpec, host_box

SAMPLE_RATE = 48_000
AUDIO_BITRATE = "160k"
# spec.preset -> (x264 preset, crf). veryfast keeps a 30 s 1080x1920 render well inside a
# minute on two cores; the slower presets spend time on better quality per byte.
X264_PRESETS = {"fast": ("veryfast", 22), "balanced": ("fast", 21), "quality": ("medium", 20)}

# Music sits under speech: the voice drives a compressor on the music bed (about -10 dB while
# someone talks), and the bed fades in and out instead of starting and stopping abruptly.
_DUCK = "threshold=0.025:ratio=5:attack=20:release=600:knee=4"
_MUSIC_FADE_IN_S = 1.0
_MUSIC_FADE_OUT_S = 2.0
# The sum of voice and music can pass full scale; a look-ahead limiter (delay compensated, so
# timing is unchanged) keeps peaks under -0.3 dBFS without touching normal levels.
_LIMITER = "alimiter=limit=0.966:level=0:latency=1"


def escape_filter_value(value: str) -> str:
    """Quote `value` for use as a filter option inside a -filter_complex graph.

    Two levels, as ffmpeg parses them: first the option value (`\\`, `'`, `:`), then the graph
    description, which splits on `[],;` and also consumes `\\` and `'`.
    """
    for ch in "\\':":
        value = value.replace(ch, "\\" + ch)
    for ch in "\\'[],;":
        value = value.replace(ch, "\\" + ch)
    return value


def _to_stereo(info: MediaInfo) -> str:
    # Mono speech goes to both speakers at full level; the default upmix would lower it 3 dB.
    upmix = "pan=stereo|c0=c0|c1=c0," if info.channels == 1 else ""
    return f"aresample={SAMPLE_RATE},{upmix}aformat=sample_fmts=fltp:channel_layouts=stereo"


@dataclass
class _Plan:
    """Inputs and filter chains of the single ffmpeg command, built up clip by clip."""

    workdir: Path
    inputs: list[str] = field(default_factory=list)
    chains: list[str] = field(default_factory=list)
    count: int = 0

    def add_input(self, path: Path, *options: str) -> int:
        self.inputs += [*options, "-i", str(path.resolve())]
        self.count += 1
        return self.count - 1


@dataclass(frozen=True)
class _Slot:
    """Where a clip lands on the output timeline, in whole frames and whole samples."""

    start_frame: int
    frames: int
    start_sample: int
    samples: int


def _timeline(clips: list[Clip], fps: int) -> list[_Slot]:
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
        slots.append(_Slot(start_frame, frames, start_sample, end_sample - start_sample))
    return slots


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
    if not (math.isfinite(spec.music_gain_db) and spec.music_gain_db <= 24):
        raise MediaError(f"music_gain_db {spec.music_gain_db!r} is not a sensible gain")
    if spec.preset not in X264_PRESETS:
        raise MediaError(f"unknown preset {spec.preset!r}; use one of {sorted(X264_PRESETS)}")


def _fit(width: int, height: int) -> str:
    # Crop-to-fill: scale until both sides cover the frame, then cut the overflow centred.
    # Every source is converted to BT.709 (what players assume for HD, and what the caption
    # colours are drawn in), so stills and videos of any origin keep their colours.
    return (
        f"scale={width}:{height}:force_original_aspect_ratio=increase:flags=bicubic"
        f":out_color_matrix=bt709:out_range=tv,crop={width}:{height},setsar=1,format=yuv420p"
    )


def _still(plan: _Plan, path: Path, width: int, height: int, frames: int, fps: int) -> str:
    """A picture held for `frames` frames; returns the filter chain reading it (no label)."""
    # Decode and scale the picture once, then repeat the scaled frame: far cheaper than
    # decoding a large photo 30 times a second.
    i = plan.add_input(path)
    return f"[{i}:v]{_fit(width, height)},loop=loop={frames - 1}:size=1:start=0,setpts=N/({fps}*TB)"


def _host_mask(plan: _Plan, width: int, height: int) -> Path:
    """A grey mask with rounded, softened corners for the host's frame (written once)."""
    path = plan.workdir / f"host-mask-{width}x{height}.png"
    if not path.exists():
        radius = max(4, width // 20)
        blur = max(1, width // 200)
        mask = Image.new("L", (width, height), 0)
        ImageDraw.Draw(mask).rounded_rectangle(
            (blur, blur, width - 1 - blur, height - 1 - blur), radius=radius, fill=255
        )
        mask.filter(ImageFilter.GaussianBlur(blur)).save(path)
    return path


def _add_clip(plan: _Plan, n: int, clip: Clip, slot: _Slot, canvas: Canvas) -> str:
    """Add clip `n`'s picture (exactly `slot.frames` frames); returns its output label."""
    info = probe(clip.video)
    if not info.has_video:
        raise MediaError(f"clip {n}: {clip.video} has no video stream")
    fps, label = canvas.fps, f"v{n}"
    if clip.background is None:
        width, height = canvas.width, canvas.height
    else:
        bx, by, width, height = host_box(canvas.width, canvas.height)
    picture = f"p{n}" if clip.background else label
    if info.is_still_image:
        chain = _still(plan, clip.video, width, height, slot.frames, fps)
        plan.chains.append(f"{chain}[{picture}]")
    else:
        seconds = slot.frames / fps
        # A b-roll clip shorter than its slot loops; a talking clip holds its last frame
        # instead, since restarting a face mid-sentence looks broken. tpad also covers a loop
        # that falls short.
        loop = ["-stream_loop", "-1"] if clip.kind == "broll" else []
        i = plan.add_input(clip.video, *loop, "-t", f"{seconds + 1:.3f}")
        plan.chains.append(
            f"[{i}:v]setpts=PTS-STARTPTS,fps={fps},{_fit(width, height)},"
            f"tpad=stop_mode=clone:stop_duration={seconds:.3f},"
            f"trim=end_frame={slot.frames},setpts=PTS-STARTPTS[{picture}]"
        )
    if clip.background is not None:
        if not probe(clip.background).has_video:
            raise MediaError(f"clip {n}: background {clip.background} is not a picture")
        backdrop = _still(plan, clip.background, canvas.width, canvas.height, slot.frames, fps)
        plan.chains.append(f"{backdrop}[b{n}]")
        m = plan.add_input(_host_mask(plan, width, height))
        plan.chains.append(
            f"[{m}:v]format=gray,loop=loop={slot.frames - 1}:size=1:start=0,"
            f"setpts=N/({fps}*TB)[m{n}]"
        )
        plan.chains.append(f"[{picture}][m{n}]alphamerge[h{n}]")
        plan.chains.append(
            f"[b{n}][h{n}]overlay=x={bx}:y={by}:format=yuv420:eof_action=pass,"
            f"format=yuv420p[{label}]"
        )
    return label


def _add_voice(plan: _Plan, n: int, voice: Path, slot: _Slot) -> str:
    """Add clip `n`'s voice at the clip's start, cut at the clip's end; returns its label."""
    info = probe(voice)
    if not info.has_audio:
        raise MediaError(f"clip {n}: voice file {voice} has no audio stream")
    i = plan.add_input(voice)
    label = f"a{n}"
    fade_start = max(0.0, slot.samples / SAMPLE_RATE - 0.03)
    plan.chains.append(
        f"[{i}:a]{_to_stereo(info)},atrim=end_sample={slot.samples},asetpts=N/SR/TB,"
        # A voice that runs past its clip is cut there; the short fade avoids a click.
        f"afade=t=out:st={fade_start:.4f}:d=0.03,"
        f"adelay=delays={slot.start_sample}S:all=1[{label}]"
    )
    return label


def _add_music(plan: _Plan, music: Path, gain_db: float, total_samples: int) -> str:
    info = probe(music)
    if not info.has_audio:
        raise MediaError(f"music file {music} has no audio stream")
    total_s = total_samples / SAMPLE_RATE
    i = plan.add_input(music, "-stream_loop", "-1", "-t", f"{total_s + 1:.3f}")
    fade_in = min(_MUSIC_FADE_IN_S, total_s / 4)
    fade_out = min(_MUSIC_FADE_OUT_S, total_s / 4)
    plan.chains.append(
        f"[{i}:a]{_to_stereo(info)},atrim=end_sample={total_samples},asetpts=N/SR/TB,"
        f"volume={gain_db:.2f}dB,afade=t=in:d={fade_in:.3f},"
        f"afade=t=out:st={total_s - fade_out:.3f}:d={fade_out:.3f},"
        f"apad=whole_len={total_samples}[music]"
    )
    return "music"


def _mix_audio(plan: _Plan, spec: RenderSpec, slots: list[_Slot], total_samples: int) -> None:
    """Voices at their offsets, the ducked music bed, or silence; ends as label [aout]."""
    exact = f"apad=whole_len={total_samples},atrim=end_sample={total_samples}"
    voices = [
        _add_voice(plan, n, clip.voice, slot)
        for n, (clip, slot) in enumerate(zip(spec.clips, slots, strict=True), start=1)
        if clip.voice is not None
    ]
    music = _add_music(plan, spec.music, spec.music_gain_db, total_samples) if spec.music else None
    if voices:
        pads = "".join(f"[{v}]" for v in voices)
        # normalize=0: amix would otherwise divide every voice by the input count.
        mix = (
            f"amix=inputs={len(voices)}:normalize=0:dropout_transition=0,"
            if len(voices) > 1
            else ""
        )
        plan.chains.append(f"{pads}{mix}{exact}[voice]")
    if voices and music:
        plan.chains.append("[voice]asplit=2[voice_mix][voice_key]")
        plan.chains.append(f"[{music}][voice_key]sidechaincompress={_DUCK}[ducked]")
        plan.chains.append(
            "[voice_mix][ducked]amix=inputs=2:normalize=0:duration=first:dropout_transition=0,"
            f"{_LIMITER},{exact}[aout]"
        )
    elif voices or music:
        plan.chains.append(f"[{'voice' if voices else music}]{_LIMITER},{exact}[aout]")
    else:
        # Platforms reject or mis-handle video without an audio track, so silence is encoded.
        plan.chains.append(
            f"anullsrc=r={SAMPLE_RATE}:cl=stereo,atrim=end_sample={total_samples}[aout]"
        )


def build_render_args(spec: RenderSpec, out_path: Path, workdir: Path) -> tuple[list[str], float]:
    """The ffmpeg arguments rendering `spec` to `out_path`, and the output duration in seconds.

    Probes every input (so a bad file fails here, named) and writes the caption files it needs
    into `workdir`, which must outlive the ffmpeg run.
    """
    _validate(spec)
    canvas = spec.canvas
    slots = _timeline(spec.clips, canvas.fps)
    total_frames = sum(s.frames for s in slots)
    total_samples = round(total_frames * SAMPLE_RATE / canvas.fps)
    total_s = total_frames / canvas.fps

    plan = _Plan(workdir)
    labels = [
        _add_clip(plan, n, clip, slot, canvas)
        for n, (clip, slot) in enumerate(zip(spec.clips, slots, strict=True), start=1)
    ]
    video = labels[0]
    if len(labels) > 1:
        pads = "".join(f"[{label}]" for label in labels)
        plan.chains.append(f"{pads}concat=n={len(labels)}:v=1:a=0[joined]")
        video = "joined"
    words = [w for w in spec.words if w.start < total_s]
    if spec.burn_captions and words:
        # libass gets a directory holding only our font, so it never falls back to system fonts
        # and never tries to load the licence text next to the font as one.
        fonts = workdir / "fonts"
        fonts.mkdir(exist_ok=True)
        shutil.copyfile(FONT_PATH, fonts / FONT_PATH.name)
        ass_path = workdir / "captions.ass"
        write_ass(words, canvas, ass_path)
        plan.chains.append(
            f"[{video}]ass=filename={escape_filter_value(str(ass_path))}"
            f":fontsdir={escape_filter_value(str(fonts))}[captioned]"
        )
        video = "captioned"
    # Tag the stream as the BT.709 it was converted to, so players do not guess.
    plan.chains.append(
        f"[{video}]setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709[vout]"
    )
    _mix_audio(plan, spec, slots, total_samples)

    x264_preset, crf = X264_PRESETS[spec.preset]
    args = [
        "-y",
        *plan.inputs,
        "-filter_complex",
        ";".join(plan.chains),
        "-map", "[vout]",
        "-map", "[aout]",
        "-c:v", "libx264", "-preset", x264_preset, "-crf", str(crf),
        "-pix_fmt", "yuv420p", "-profile:v", "high", "-r", str(canvas.fps),
        "-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(SAMPLE_RATE), "-ac", "2",
        "-movflags", "+faststart",
        "-f", "mp4",
        str(out_path.resolve()),
    ]  # fmt: skip
    return args, total_s


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
        args, total_s = build_render_args(spec, out_path, Path(tmp))
        try:
            run_ffmpeg(args, duration_s=total_s, on_progress=on_progress, what="render")
        except BaseException:
            # A cut-off MP4 has no index and plays nowhere; leaving it would only mislead.
            out_path.unlink(missing_ok=True)
            raise
    info = probe(out_path)
    return RenderResult(
        path=out_path, duration_s=info.duration_s, width=info.width, height=info.height
    )
