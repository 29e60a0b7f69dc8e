"""LivePortrait talking heads (`lipsync`, `s2v`): a portrait animated by speech-derived motion.

LivePortrait animates a face from a driving video; speech has none. This engine derives the
driving motion from the audio instead: how open the mouth is per frame (the speech loudness,
the same analysis the lite avatar uses), blinks every few seconds and a slow, seeded head
motion that nods a little with the speech. A LivePortrait worker
(gpu/sidecars/liveportrait_worker.py) turns those curves into LivePortrait's lip/eye
retargeting and head pose, and encodes the frames; this side then muxes the speech in.

The worker runs with the LivePortrait checkout on its path (`SKYIE_LIVEPORTRAIT_DIR`), under
the checkout's own virtualenv (`.venv` or `venv` inside it) when there is one, else under this
server's interpreter. Weights: `SKYIE_MODELS_DIR/liveportrait`, the Hugging Face repository
KwaiVGI/LivePortrait as downloaded (what LivePortrait calls `pretrained_weights`).
"""

from __future__ import annotations

import math
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from gpu.engines.base import (
    EngineConfig,
    EngineError,
    EngineOutput,
    ProgressFn,
    require_input,
)
from gpu.engines.cache import ModelSpec
from gpu.engines.lite.mouth import blink_schedule, mouth_openness
from gpu.engines.media import decode_audio, ffmpeg_exe, load_image
from gpu.engines.registry import Slot
from gpu.engines.sidecar import Sidecar, ask_worker, sidecar_spec, worker_env
from gpu.schemas import InferKind, LipsyncRequest

ENGINE = "liveportrait"
MODEL_DIR = "liveportrait"
WORKER = Path(__file__).resolve().parents[1] / "sidecars" / "liveportrait_worker.py"
VRAM_GB = 3.0  # five small networks plus the face detector, with activations at 256x256
CHECKOUT_MARKER = "src/live_portrait_pipeline.py"
WEIGHT_FILES = (
    "liveportrait/base_models/appearance_feature_extractor.pth",
    "liveportrait/base_models/motion_extractor.pth",
    "liveportrait/base_models/spade_generator.pth",
    "liveportrait/base_models/warping_module.pth",
    "liveportrait/retargeting_models/stitching_retargeting_module.pth",
    "liveportrait/landmark.onnx",
    "insightface/models/buffalo_l/det_10g.onnx",
    "insightface/models/buffalo_l/2d106det.onnx",
)
_AUDIO_RATE = 16_000
# Head motion amplitude in degrees, and how much the head dips while speaking.
_HEAD_DEGREES = {"pitch": 1.8, "yaw": 2.5, "roll": 1.0}
_SPEECH_NOD_DEGREES = 1.2


def checkout_python(checkout: Path) -> Path:
    """The interpreter for the worker: the checkout's own virtualenv, else this one."""
    for venv in (".venv", "venv"):
        candidate = checkout / venv / "bin" / "python"
        if candidate.is_file():
            return candidate
    return Path(sys.executable)


def _unavailable(config: EngineConfig) -> str | None:
    checkout = config.liveportrait_dir
    if checkout is None:
        return "LivePortrait: set SKYIE_LIVEPORTRAIT_DIR to the LivePortrait checkout"
    if not (checkout / CHECKOUT_MARKER).is_file():
        return f"LivePortrait checkout not found at {checkout} (no {CHECKOUT_MARKER})"
    weights = config.models_dir / MODEL_DIR
    if not weights.is_dir():
        return f"LivePortrait weights not found at {weights}"
    missing = [name for name in WEIGHT_FILES if not (weights / name).is_file()]
    if missing:
        return f"LivePortrait weights incomplete at {weights}: missing {', '.join(missing)}"
    return None


def slots(
    config: EngineConfig, *, worker: Path = WORKER, python: Path | None = None
) -> dict[InferKind, Slot]:
    """`lipsync` and `s2v` slots, or why LivePortrait is unavailable here."""
    reason = _unavailable(config)
    if reason is not None:
        return {InferKind.lipsync: Slot(None, reason), InferKind.s2v: Slot(None, reason)}
    assert config.liveportrait_dir is not None
    engine = LivePortraitEngine(
        config,
        checkout=config.liveportrait_dir,
        weights=config.models_dir / MODEL_DIR,
        python=python or checkout_python(config.liveportrait_dir),
        worker=worker,
    )
    note = (
        "LivePortrait: the portrait animated by speech-driven lip and eye retargeting "
        "with a gentle head motion"
    )

    def is_loaded() -> bool:
        return config.cache.is_loaded(engine.spec.name)

    return {
        InferKind.lipsync: Slot(engine, note, model=engine.spec.name, is_loaded=is_loaded),
        InferKind.s2v: Slot(engine, note, model=engine.spec.name, is_loaded=is_loaded),
    }


def head_motion(frames: int, fps: int, seed: int, mouth: np.ndarray) -> dict[str, np.ndarray]:
    """Pitch, yaw and roll offsets in degrees per frame: a few slow seeded sinusoids per axis,
    eased in from the source pose, with a small dip of the head while the mouth moves."""
    rng = np.random.default_rng(seed + 104_729)
    t = np.arange(frames, dtype=np.float64) / fps
    ease = np.clip(t / 0.6, 0.0, 1.0)
    ease = ease * ease * (3 - 2 * ease)
    window = max(1, round(0.4 * fps))
    padded = np.pad(mouth.astype(np.float64), (window // 2, window - 1 - window // 2), "edge")
    speaking = np.convolve(padded, np.ones(window) / window, mode="valid")  # frames long
    out: dict[str, np.ndarray] = {}
    for axis, degrees in _HEAD_DEGREES.items():
        freqs = rng.uniform(0.06, 0.35, size=3)
        phases = rng.uniform(0, 2 * math.pi, size=3)
        weights = rng.uniform(0.5, 1.0, size=3)
        wave = (weights[:, None] * np.sin(2 * math.pi * freqs[:, None] * t + phases[:, None])).sum(
            0
        )
        wave = wave / weights.sum()
        if axis == "pitch":
            wave = wave + speaking * (_SPEECH_NOD_DEGREES / degrees)
        out[axis] = (wave * degrees * ease).astype(np.float32)
    return out


def driving_curves(
    samples: np.ndarray, rate: int, fps: int, frames: int, seed: int
) -> dict[str, list[float]]:
    """Per-frame controls for the worker: mouth 0..1, blink 0..1, pitch/yaw/roll degrees."""
    mouth = mouth_openness(samples, rate, fps, frames)
    curves = {"mouth": mouth, "blink": blink_schedule(frames, fps, seed)}
    curves.update(head_motion(frames, fps, seed, mouth))
    return {name: [round(float(v), 4) for v in values] for name, values in curves.items()}


class LivePortraitEngine:
    """The `lipsync`/`s2v` engine: one `animate` request to the worker, then an audio mux."""

    def __init__(
        self,
        config: EngineConfig,
        *,
        checkout: Path,
        weights: Path,
        python: Path,
        worker: Path = WORKER,
        timeout_s: float | None = None,
        start_timeout_s: float = 300.0,
    ) -> None:
        self.config = config
        self.timeout_s = timeout_s
        argv = [str(python), str(worker), "--repo", str(checkout), "--weights", str(weights)]
        argv += ["--device", config.device, "--precision", config.dtype]

        def start() -> Sidecar:
            return Sidecar(
                "liveportrait",
                argv,
                env=worker_env(),
                cwd=checkout,
                start_timeout_s=start_timeout_s,
            )

        self.spec: ModelSpec = sidecar_spec(MODEL_DIR, VRAM_GB, start)

    def __call__(
        self,
        request: BaseModel,
        inputs: Mapping[str, Path],
        out_dir: Path,
        progress: ProgressFn,
    ) -> EngineOutput:
        assert isinstance(request, LipsyncRequest)
        portrait = require_input(inputs, "portrait_file_id")
        audio = require_input(inputs, "audio_file_id")
        image = load_image(portrait, what="portrait image (portrait_file_id)")
        samples = decode_audio(audio, _AUDIO_RATE, what="speech audio (audio_file_id)")
        duration = samples.size / _AUDIO_RATE
        # One frame more than the speech needs, so the picture never ends before the sound.
        frames = max(1, math.ceil(duration * request.fps))
        curves = driving_curves(samples, _AUDIO_RATE, request.fps, frames, request.seed)
        progress(0.03)
        video = out_dir / "talking.mp4"
        with tempfile.TemporaryDirectory(prefix="skyie-liveportrait-") as tmp:
            still = Path(tmp) / "portrait.png"  # any input format, as a file OpenCV reads
            image.save(still)
            silent = Path(tmp) / "silent.mp4"
            payload = {
                "portrait": str(still),
                "fps": request.fps,
                "width": request.width,
                "height": request.height,
                "seed": request.seed,
                "ffmpeg": ffmpeg_exe(),
                "out": str(silent),
                **curves,
            }
            timeout = self.timeout_s or 180.0 + 0.5 * frames
            result = ask_worker(
                self.config.cache,
                self.spec,
                "LivePortrait",
                "animate",
                payload,
                timeout_s=timeout,
                progress=lambda f: progress(0.05 + 0.85 * f),
            )
            produced = Path(str(result.get("video") or ""))
            if not produced.is_file():
                raise EngineError("LivePortrait reported success but wrote no video")
            mux_speech(produced, audio, video, duration)
        progress(1.0)
        return EngineOutput(
            files={"video": video},
            engine=ENGINE,
            duration_s=duration,
            width=request.width,
            height=request.height,
        )


def mux_speech(video: Path, audio: Path, out: Path, duration: float) -> None:
    """The silent animation with the speech as its AAC track, cut to the speech's length."""
    cmd = [ffmpeg_exe(), "-nostdin", "-y", "-v", "error", "-i", str(video), "-i", str(audio)]
    cmd += ["-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", "-b:a", "160k"]
    cmd += ["-ar", "48000", "-t", f"{duration:.3f}", "-movflags", "+faststart", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = " | ".join(proc.stderr.strip().splitlines()[-4:])
        out.unlink(missing_ok=True)
        raise EngineError(f"could not add the speech to the talking-head video: {detail}")
