"""The soundtrack: voices at their clips' starts, a music bed ducked under them, and loudness
brought to the platforms' target (-14 LUFS integrated, true peak at most -1 dBTP).

Loudness is measured first on the same mix, audio only (a second or so for a 30 s video),
then applied as one fixed gain inside the render graph: a fixed gain keeps the mix's dynamics,
which a running normaliser would pump.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

from media.ffmpeg import MediaError, MediaInfo, probe, run_ffmpeg
from media.graph import SAMPLE_RATE, Graph, Slot, escape_filter_value
from media.spec import Clip

TARGET_LUFS = -14.0
TRUE_PEAK_DB = -1.0
# Music sits under speech: the voice drives a compressor on the music bed (about -10 dB while
# someone talks), and the bed fades in and out instead of starting and stopping abruptly.
_DUCK = "threshold=0.025:ratio=5:attack=20:release=600:knee=4"
_MUSIC_FADE_IN_S = 1.0
_MUSIC_FADE_OUT_S = 2.0
# Peaks after the gain are held under the true-peak ceiling by a look-ahead limiter (delay
# compensated, so timing is unchanged). It works on samples, and the AAC encoder adds a little
# overshoot, so it aims 0.6 dB lower than the ceiling; the quality check measures the result.
_LIMIT_DB = TRUE_PEAK_DB - 0.6
_MAX_GAIN_DB = 30.0  # a near-silent mix is not blown up into noise
_INTEGRATED = re.compile(r"lavfi\.r128\.I=(-?\d+(?:\.\d+)?|-inf)")


def to_stereo(info: MediaInfo) -> str:
    # Mono speech goes to both speakers at full level; the default upmix would lower it 3 dB.
    upmix = "pan=stereo|c0=c0|c1=c0," if info.channels == 1 else ""
    return f"aresample={SAMPLE_RATE},{upmix}aformat=sample_fmts=fltp:channel_layouts=stereo"


def _add_voice(graph: Graph, n: int, voice: Path, slot: Slot) -> str:
    """Add clip `n`'s voice at the clip's start, cut at the clip's end; returns its label."""
    info = probe(voice)
    if not info.has_audio:
        raise MediaError(f"clip {n}: voice file {voice} has no audio stream")
    i = graph.add_input(voice)
    label = f"a{n}"
    fade_start = max(0.0, slot.samples / SAMPLE_RATE - 0.03)
    graph.chains.append(
        f"[{i}:a]{to_stereo(info)},atrim=end_sample={slot.samples},asetpts=N/SR/TB,"
        # A voice that runs past its clip is cut there; the short fade avoids a click.
        f"afade=t=out:st={fade_start:.4f}:d=0.03,"
        f"adelay=delays={slot.start_sample}S:all=1[{label}]"
    )
    return label


def _add_music(graph: Graph, music: Path, gain_db: float, total_samples: int) -> str:
    info = probe(music)
    if not info.has_audio:
        raise MediaError(f"music file {music} has no audio stream")
    total_s = total_samples / SAMPLE_RATE
    i = graph.add_input(music, "-stream_loop", "-1", "-t", f"{total_s + 1:.3f}")
    fade_in = min(_MUSIC_FADE_IN_S, total_s / 4)
    fade_out = min(_MUSIC_FADE_OUT_S, total_s / 4)
    graph.chains.append(
        f"[{i}:a]{to_stereo(info)},atrim=end_sample={total_samples},asetpts=N/SR/TB,"
        f"volume={gain_db:.2f}dB,afade=t=in:d={fade_in:.3f},"
        f"afade=t=out:st={total_s - fade_out:.3f}:d={fade_out:.3f},"
        f"apad=whole_len={total_samples}[music]"
    )
    return "music"


def add_mix(
    graph: Graph,
    clips: Sequence[Clip],
    slots: Sequence[Slot],
    music: Path | None,
    music_gain_db: float,
    total_samples: int,
) -> str | None:
    """Voices at their offsets and the ducked music bed, before loudness; None when silent."""
    exact = f"apad=whole_len={total_samples},atrim=end_sample={total_samples}"
    voices = [
        _add_voice(graph, n, clip.voice, slot)
        for n, (clip, slot) in enumerate(zip(clips, slots, strict=True), start=1)
        if clip.voice is not None
    ]
    bed = _add_music(graph, music, music_gain_db, total_samples) if music else None
    if voices:
        pads = "".join(f"[{v}]" for v in voices)
        # normalize=0: amix would otherwise divide every voice by the input count.
        mix = (
            f"amix=inputs={len(voices)}:normalize=0:dropout_transition=0,"
            if len(voices) > 1
            else ""
        )
        graph.chains.append(f"{pads}{mix}{exact}[voice]")
    if voices and bed:
        graph.chains.append("[voice]asplit=2[voice_mix][voice_key]")
        graph.chains.append(f"[{bed}][voice_key]sidechaincompress={_DUCK}[ducked]")
        graph.chains.append(
            "[voice_mix][ducked]amix=inputs=2:normalize=0:duration=first:dropout_transition=0,"
            f"{exact}[premix]"
        )
        return "premix"
    if voices:
        return "voice"
    return bed


def measure_integrated(graph: Graph, label: str, total_s: float) -> float:
    """Integrated loudness (LUFS) of stream `label` of an audio-only graph; -inf if silent."""
    stats = graph.workdir / "loudness.txt"
    stats.unlink(missing_ok=True)
    graph.chains.append(
        f"[{label}]ebur128=metadata=1,ametadata=mode=print:key=lavfi.r128.I"
        f":file={escape_filter_value(str(stats))}[measured]"
    )
    args = ["-y", *graph.inputs, "-filter_complex", graph.filter_complex()]
    args += ["-map", "[measured]", "-f", "null", "-"]
    run_ffmpeg(args, what="loudness measurement", duration_s=total_s)
    values = _INTEGRATED.findall(stats.read_text() if stats.exists() else "")
    if not values:
        raise MediaError("loudness measurement wrote no result")
    return float(values[-1])


def loudness_gain_db(integrated: float) -> float:
    """The gain that brings a mix measured at `integrated` LUFS to the target."""
    if not math.isfinite(integrated):
        return 0.0
    return max(-_MAX_GAIN_DB, min(_MAX_GAIN_DB, TARGET_LUFS - integrated))


def finish(graph: Graph, label: str | None, gain_db: float, total_samples: int) -> None:
    """The soundtrack as label [aout]: gain and limiter, or silence when there is no sound."""
    if label is None:
        # Platforms reject or mis-handle video without an audio track, so silence is encoded.
        graph.chains.append(
            f"anullsrc=r={SAMPLE_RATE}:cl=stereo,atrim=end_sample={total_samples}[aout]"
        )
        return
    limit = 10 ** (_LIMIT_DB / 20)
    graph.chains.append(
        f"[{label}]volume={gain_db:.2f}dB,alimiter=limit={limit:.4f}:level=0:latency=1,"
        f"apad=whole_len={total_samples},atrim=end_sample={total_samples}[aout]"
    )
