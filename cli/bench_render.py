"""`skyie bench render`: our one-pass render and export pack against the encode-once limit.

The inputs are made first with the lite engines (the same files a job would get from the GPU):
six clips at generation size, narration with word timings, a music bed. Then, timed side by
side on the same machine: the 30 s 1080x1920 production (transitions, host over a background,
captions, ducked music, loudness), the five-format export pack of its master, and the limit —
decoding the same clips, fitting them to the same canvas and encoding them once with the same
encoder settings, with nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gpu.engines.lite import avatar, image, motion, music, tts
from gpu.schemas import I2VRequest, ImageRequest, LipsyncRequest, MusicRequest, TTSRequest
from media.export import EXPORT_PRESETS, export_formats
from media.ffmpeg import run_ffmpeg
from media.graph import Graph
from media.pictures import fit_chains
from media.render import X264_PRESETS, render
from media.spec import Canvas, Clip, RenderSpec, Transition, Word, host_box

CANVAS = Canvas(1080, 1920, 30)
GEN = (720, 1280)
CLIP_S = 5.0
PACK = ("tiktok", "youtube", "instagram", "square", "x")
SCENES = [
    ("talking", "Hi, I'm Maya. Here are three quick ways to cut your energy bill."),
    ("broll", "close-up of a smart thermostat on a white wall, morning light"),
    ("broll", "rooftop solar panels on a sunny suburban street, aerial shot"),
    ("broll", "hands sealing a drafty window with weather strip, warm light"),
    ("broll", "a family kitchen at night with efficient LED lights"),
    ("talking", "Small changes add up fast. Follow for part two next week."),
]
NARRATION = [
    SCENES[0][1],
    "First, let a smart thermostat learn your schedule.",
    "Second, make some of your own power on the roof.",
    "Third, seal the gaps where warm air leaks out.",
    "And switch every bulb to LED while you are at it.",
    SCENES[5][1],
]


@dataclass
class Inputs:
    clips: list[Clip]
    music: Path
    words: list[Word]


def _quiet(_fraction: float) -> None:
    return None


def make_inputs(folder: Path, say: Callable[[str], None]) -> Inputs:
    """Six 5 s clips (two talking hosts, four b-roll), their narration and a music bed."""
    clips, words = [], []
    backdrop = image.run(
        ImageRequest(prompt="a bright modern studio with soft light", width=GEN[0], height=GEN[1]),
        {},
        _mkdir(folder / "backdrop"),
        _quiet,
    ).files["image"]
    portrait = Path(__file__).resolve().parent.parent / "core" / "assets" / "default_avatar.png"
    _, _, box_w, box_h = host_box(CANVAS.width, CANVAS.height)
    host = (round(box_w * 1280 / box_h / 2) * 2, 1280)
    for n, ((kind, prompt), line) in enumerate(zip(SCENES, NARRATION, strict=True)):
        say(f"making clip {n + 1}/6 ({kind})")
        speech = tts.run(TTSRequest(text=line), {}, _mkdir(folder / f"tts{n}"), _quiet)
        start = n * CLIP_S
        words += [Word(w.word, start + w.start, start + w.end) for w in speech.words]
        voice = speech.files["audio"]
        if kind == "talking":
            request = LipsyncRequest(
                portrait_file_id="p", audio_file_id="a", width=host[0], height=host[1], fps=30
            )
            inputs = {"portrait_file_id": portrait, "audio_file_id": voice}
            host_video = avatar.run(request, inputs, _mkdir(folder / f"clip{n}"), _quiet)
            clips.append(
                Clip(host_video.files["video"], CLIP_S, voice, "talking", background=backdrop)
            )
            continue
        key = image.run(
            ImageRequest(prompt=prompt, width=GEN[0], height=GEN[1], seed=n),
            {},
            _mkdir(folder / f"key{n}"),
            _quiet,
        ).files["image"]
        request_v = I2VRequest(
            image_file_id="k", prompt=prompt, duration_s=CLIP_S, fps=30,
            width=GEN[0], height=GEN[1], seed=n,
        )  # fmt: skip
        video = motion.run_i2v(
            request_v, {"image_file_id": key}, _mkdir(folder / f"clip{n}"), _quiet
        )
        transition: Transition = "crossfade" if SCENES[n - 1][0] == "broll" else "cut"
        clips.append(Clip(video.files["video"], CLIP_S, voice, "broll", transition=transition))
    say("making the music bed")
    bed = music.run(
        MusicRequest(prompt="upbeat light background music", duration_s=40),
        {},
        _mkdir(folder / "music"),
        _quiet,
    ).files["audio"]
    return Inputs(clips, bed, words)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def limit_args(clips: list[Clip], out: Path, workdir: Path) -> list[str]:
    """Decode every clip, fit it to the canvas as the render does, encode once; no audio."""
    graph = Graph(workdir)
    frames = round(CLIP_S * CANVAS.fps)
    labels = []
    for n, clip in enumerate(clips):
        i = graph.add_input(clip.video, "-t", f"{CLIP_S + 1:.3f}")
        graph.chains.append(f"[{i}:v]setpts=PTS-STARTPTS,fps={CANVAS.fps}[r{n}]")
        graph.chains += fit_chains(f"r{n}", f"f{n}", CANVAS.width, CANVAS.height, "crop")
        graph.chains.append(f"[f{n}]trim=end_frame={frames},setpts=PTS-STARTPTS[v{n}]")
        labels.append(f"[v{n}]")
    graph.chains.append(f"{''.join(labels)}concat=n={len(labels)}:v=1:a=0[vout]")
    x264_preset, crf = X264_PRESETS["fast"]
    return [
        "-y", *graph.inputs, "-filter_complex", graph.filter_complex(), "-map", "[vout]",
        "-c:v", "libx264", "-preset", x264_preset, "-crf", str(crf),
        "-pix_fmt", "yuv420p", "-profile:v", "high", "-r", str(CANVAS.fps),
        "-an", "-movflags", "+faststart", "-f", "mp4", str(out.resolve()),
    ]  # fmt: skip


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def run_render_bench(folder: Path, say: Callable[[str], None], rounds: int = 1) -> list[str]:
    """Make the inputs, time the three jobs `rounds` times each (best of), return the report."""
    inputs = make_inputs(folder / "inputs", say)
    spec = RenderSpec(CANVAS, inputs.clips, music=inputs.music, words=inputs.words)
    master, limit_out = folder / "master.mp4", folder / "limit.mp4"
    work = _mkdir(folder / "limit-work")
    pack = [EXPORT_PRESETS[name] for name in PACK]
    out = _mkdir(folder / "pack")
    args = limit_args(inputs.clips, limit_out, work)
    times: dict[str, list[float]] = {"limit": [], "render": [], "exportpack": []}
    for r in range(rounds):
        say(f"round {r + 1}/{rounds}: limit")
        times["limit"].append(_timed(lambda: run_ffmpeg(args, what="limit")))
        say(f"round {r + 1}/{rounds}: production render")
        times["render"].append(_timed(lambda: render(spec, master)))
        say(f"round {r + 1}/{rounds}: export pack")
        times["exportpack"].append(_timed(lambda: export_formats(master, pack, out)))
    best = {name: min(values) for name, values in times.items()}
    return [
        f"inputs: 6 clips of {CLIP_S:g} s at {GEN[0]}x{GEN[1]}, narration with "
        f"{len(inputs.words)} timed words, music bed",
        f"limit (decode + fit + encode once, {CANVAS.width}x{CANVAS.height}): "
        f"{best['limit']:.2f} s",
        f"production render (transitions, host over background, captions, music, loudness): "
        f"{best['render']:.2f} s",
        f"export pack ({', '.join(PACK)}): {best['exportpack']:.2f} s",
        f"render/limit = {best['render'] / best['limit']:.2f}",
        f"exportpack/limit = {best['exportpack'] / best['limit']:.2f}",
    ]
