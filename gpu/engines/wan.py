"""Wan 2.2 video engines through diffusers: text-to-video, image-to-video and character animation.

Models, each a diffusers folder under the models directory (`SKYIE_MODELS_DIR`):

- t2v: Wan2.2-T2V-A14B (`Wan2.2-T2V-A14B-Diffusers`, `WanPipeline`, two 14B experts);
- i2v: Wan2.2-I2V-A14B (`Wan2.2-I2V-A14B-Diffusers`, `WanImageToVideoPipeline`);
- ti2v: Wan2.2-TI2V-5B (`Wan2.2-TI2V-5B-Diffusers`), which does text- and image-to-video with
  one set of weights, so it also serves t2v / i2v when the A14B folders are missing (and
  I2V-A14B serves ti2v when TI2V-5B is missing);
- animate: Wan2.2-Animate-14B (`Wan2.2-Animate-14B-Diffusers`, `WanAnimatePipeline`).

A request's preset picks denoising steps, generation size and clip length (`PRESETS`). Frames are
generated at the model's own frame rate (16 fps for A14B, 24 for 5B, 30 for Animate: what each was
trained at, so motion keeps its real speed), at about the preset's pixel count in the requested
aspect ratio. The MP4 is then written at the requested size (ffmpeg scales) and frame rate: each
output frame shows the generated frame on screen at its time, as ffmpeg's fps filter would.
One pass makes at most `Preset.max_frames` frames (about 5 s); a longer request plays that clip
slower to fill the time rather than run out of memory.

Animate: Wan's own preprocessing turns the driving clip into a rendered pose-skeleton video and a
tracked face-crop video (pose and face detectors that are not part of diffusers). Here both are
derived from the driving clip itself: the pose video is the clip's frames, cropped to fill the
generation size; the face video is a fixed square from the upper middle of each frame (where an
upright performer's head usually is), resized to the motion encoder's input size. The model
follows this input less faithfully than real skeletons and face tracks. The clip is resampled to
30 fps, at most `MAX_DRIVING_S` seconds, and the output lasts as long as the clip.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel

from gpu.engines.base import (
    Engine,
    EngineConfig,
    EngineError,
    EngineOutput,
    ProgressFn,
    is_out_of_memory,
    require_input,
)
from gpu.engines.cache import ModelSpec, ModelTooLarge
from gpu.engines.media import VideoPreset, VideoWriter, cover_box, ffmpeg_exe, load_image
from gpu.engines.registry import Slot
from gpu.schemas import AnimateRequest, I2VRequest, InferKind, T2VRequest

# The whole pose video sits on the GPU as float32 during an animation: 20 s of 720p is 6.6 GB.
MAX_DRIVING_S = 20.0

# What Wan's authors ask the model to stay away from (their default negative prompt, in English;
# the UMT5 text encoder is multilingual). Only used where classifier-free guidance is on.
NEGATIVE_PROMPT = (
    "garish colours, overexposed, static, blurred details, subtitles, style, artwork, painting, "
    "still picture, greyish overall, worst quality, low quality, JPEG artefacts, ugly, mutilated, "
    "extra fingers, badly drawn hands, badly drawn face, deformed, disfigured, malformed limbs, "
    "fused fingers, motionless frame, cluttered background, three legs, crowded background, "
    "walking backwards"
)
# Wan-Animate's default prompt ("the person in the video is moving"), for requests without one.
ANIMATE_PROMPT = "视频中的人在做动作"


@dataclass(frozen=True)
class Preset:
    """How one request preset generates: denoising steps, about how many pixels a frame has
    (`size` is a landscape reference; the request's aspect ratio reshapes it), the model's frame
    rate, and the most frames one pass makes (for Animate, one segment's length). Frame counts
    are 4k+1 (the VAE packs 4 frames after the first into each latent frame)."""

    steps: int
    size: tuple[int, int]
    fps: int
    max_frames: int


Family = Literal["a14b", "5b", "animate"]
PresetTable = Mapping[Family, Mapping[VideoPreset, Preset]]

# A step's cost grows with pixels x frames, and faster than that at 720p (attention is
# quadratic in the token count): quality at 720p costs several times fast at 480p.
PRESETS: dict[Family, dict[VideoPreset, Preset]] = {
    "a14b": {  # trained at 480p and 720p, 16 fps, 81 frames; its authors sample 40 steps
        "fast": Preset(steps=20, size=(832, 480), fps=16, max_frames=81),
        "balanced": Preset(steps=40, size=(832, 480), fps=16, max_frames=81),
        "quality": Preset(steps=40, size=(1280, 720), fps=16, max_frames=81),
    },
    "5b": {  # trained at 1280x704, 24 fps, 121 frames; its authors sample 50 steps
        "fast": Preset(steps=20, size=(832, 480), fps=24, max_frames=121),
        "balanced": Preset(steps=30, size=(1280, 704), fps=24, max_frames=121),
        "quality": Preset(steps=50, size=(1280, 704), fps=24, max_frames=121),
    },
    "animate": {  # 30 fps, segments of 77 frames, 20 steps without guidance
        "fast": Preset(steps=12, size=(832, 480), fps=30, max_frames=77),
        "balanced": Preset(steps=20, size=(832, 480), fps=30, max_frames=77),
        "quality": Preset(steps=20, size=(1280, 720), fps=30, max_frames=77),
    },
}


@dataclass(frozen=True)
class WanModel:
    """One Wan checkpoint: where it lives, how it loads, what it costs.

    `resident_gb` is VRAM with every component on the GPU (bf16 weights, the UMT5-XXL text encoder
    at 11.4 GB included, plus activations and VAE decoding at 720p). Where the budget is smaller,
    a model with `offload_gb` keeps components in host memory and moves each one to the GPU while
    it runs (diffusers' model CPU offload): one 14B expert (28.6 GB) at a time, at the price of
    moving about 30 GB over PCIe per clip.
    """

    name: str  # cache, health and EngineOutput.engine name
    label: str
    folder: str
    family: Family
    pipeline: Literal["WanPipeline", "WanImageToVideoPipeline", "WanAnimatePipeline"]
    resident_gb: float
    offload_gb: float | None
    guidance: float  # classifier-free guidance (of the high-noise expert, for A14B)
    guidance_low_noise: float | None = None  # A14B's low-noise expert

    def path(self, config: EngineConfig) -> Path:
        return config.models_dir / self.folder

    def placement(self, config: EngineConfig) -> tuple[float, bool]:
        """VRAM to reserve, and whether to offload to fit the budget (GPUs only)."""
        fits = config.cache.budget_gb >= self.resident_gb
        if fits or self.offload_gb is None or not config.device.startswith("cuda"):
            return self.resident_gb, False
        return self.offload_gb, True


T2V_A14B = WanModel(
    "wan2.2-t2v-a14b", "Wan2.2-T2V-A14B", "Wan2.2-T2V-A14B-Diffusers", "a14b", "WanPipeline",
    resident_gb=82, offload_gb=40, guidance=4.0, guidance_low_noise=3.0,
)  # fmt: skip
I2V_A14B = WanModel(
    "wan2.2-i2v-a14b", "Wan2.2-I2V-A14B", "Wan2.2-I2V-A14B-Diffusers", "a14b",
    "WanImageToVideoPipeline", resident_gb=82, offload_gb=40, guidance=3.5, guidance_low_noise=3.5,
)  # fmt: skip
# 5B: 10 GB of transformer beside the text encoder; one pipeline object serves text and image
# (it is loaded as WanPipeline and wrapped as WanImageToVideoPipeline on demand), so no offload.
TI2V_5B = WanModel(
    "wan2.2-ti2v-5b", "Wan2.2-TI2V-5B", "Wan2.2-TI2V-5B-Diffusers", "5b", "WanPipeline",
    resident_gb=30, offload_gb=None, guidance=5.0,
)  # fmt: skip
ANIMATE_14B = WanModel(
    "wan2.2-animate-14b", "Wan2.2-Animate-14B", "Wan2.2-Animate-14B-Diffusers", "animate",
    "WanAnimatePipeline", resident_gb=60, offload_gb=46, guidance=1.0,
)  # fmt: skip


def slots(config: EngineConfig, *, presets: PresetTable | None = None) -> dict[InferKind, Slot]:
    """The Wan engines whose weights are present, else the reason; nothing is loaded here."""
    table = presets or PRESETS
    missing = _missing_packages()
    if missing:
        why = f"Python package(s) {', '.join(missing)} not installed (pip install '.[ml]')"
        return {kind: Slot(None, f"Wan 2.2 unavailable: {why}") for kind in _KINDS}
    have = {m.name: _weights_problem(m, config) is None for m in _MODELS}

    def video(mode: Literal["t2v", "i2v"], choices: list[WanModel]) -> Slot:
        """The first model of `choices` present; later ones stand in for the missing first."""
        problems = [_weights_problem(m, config) or "" for m in choices]
        for n, model in enumerate(choices):
            if have[model.name]:
                engine = WanVideoEngine(model, config, mode=mode, presets=table[model.family])
                note = f"{model.label} via diffusers from {model.path(config)}"
                if n:
                    note += f", standing in for {choices[0].label} ({problems[0]})"
                return _slot(engine, note, model, config)
        return Slot(None, "; ".join(problems))

    slots_ = {
        InferKind.t2v: video("t2v", [T2V_A14B, TI2V_5B]),
        InferKind.i2v: video("i2v", [I2V_A14B, TI2V_5B]),
        InferKind.ti2v: video("i2v", [TI2V_5B, I2V_A14B]),
    }
    if have[ANIMATE_14B.name]:
        engine = WanAnimateEngine(ANIMATE_14B, config, presets=table["animate"])
        note = (
            f"{ANIMATE_14B.label} via diffusers from {ANIMATE_14B.path(config)}; pose and face "
            "inputs are the driving clip's own frames (no pose or face detector)"
        )
        slots_[InferKind.animate] = _slot(engine, note, ANIMATE_14B, config)
    else:
        slots_[InferKind.animate] = Slot(None, _weights_problem(ANIMATE_14B, config) or "")
    return slots_


_KINDS = (InferKind.t2v, InferKind.i2v, InferKind.ti2v, InferKind.animate)
_MODELS = (T2V_A14B, I2V_A14B, TI2V_5B, ANIMATE_14B)


def _missing_packages() -> list[str]:
    # ftfy: diffusers' image-to-video and Animate pipelines call it on every prompt.
    names = ("torch", "diffusers", "transformers", "accelerate", "ftfy")
    return [name for name in names if importlib.util.find_spec(name) is None]


def _weights_problem(model: WanModel, config: EngineConfig) -> str | None:
    path = model.path(config)
    if not path.is_dir():
        return f"{model.label} weights not found at {path}"
    if not (path / "model_index.json").is_file():
        return f"{model.label} folder {path} has no model_index.json (not a diffusers folder)"
    return None


def _slot(engine: Engine, note: str, model: WanModel, config: EngineConfig) -> Slot:
    return Slot(engine, note, model.name, lambda: config.cache.is_loaded(model.name))


class _WanEngine:
    """What the video and animation engines share: loading through the cache, seeds, progress,
    out-of-memory recovery and writing the MP4."""

    def __init__(
        self, model: WanModel, config: EngineConfig, presets: Mapping[VideoPreset, Preset]
    ) -> None:
        self.model = model
        self.config = config
        self.presets = presets

    def multiple(self) -> int:
        """What each generated side must be a multiple of: the VAE's downscale times the
        transformer's patch (16 for A14B, 32 for 5B), read from the folder's configs so that
        inputs are checked before the model loads."""
        folder = self.model.path(self.config)
        try:
            vae = json.loads((folder / "vae" / "config.json").read_text())
            transformer = json.loads((folder / "transformer" / "config.json").read_text())
            # diffusers' defaults where a config predates the key
            return int(vae.get("scale_factor_spatial", 8)) * int(
                transformer.get("patch_size", [1, 2, 2])[-1]
            )
        except (OSError, ValueError, TypeError, IndexError) as exc:
            raise EngineError(
                f"{self.model.label} configs in {folder} are unreadable: {exc}"
            ) from exc

    def spec(self) -> ModelSpec:
        vram_gb, offload = self.model.placement(self.config)
        return ModelSpec(self.model.name, vram_gb, load=lambda: self._load(offload))

    def _load(self, offload: bool) -> Any:
        import diffusers
        import torch

        folder = str(self.model.path(self.config))
        # Wan's VAE decodes visibly cleaner in float32 (diffusers' documented setup), for ~1 GB.
        vae = diffusers.AutoencoderKLWan.from_pretrained(
            folder, subfolder="vae", torch_dtype=torch.float32
        )
        cls = getattr(diffusers, self.model.pipeline)
        pipe = cls.from_pretrained(folder, vae=vae, torch_dtype=_torch_dtype(self.config.dtype))
        pipe.set_progress_bar_config(disable=True)
        if offload:
            pipe.enable_model_cpu_offload(device=self.config.device)
        else:
            pipe.to(self.config.device)
        return pipe

    def generate(self, run: Callable[[Any], np.ndarray]) -> np.ndarray:
        """`run(pipeline)` with the model loaded through the cache; GPU memory errors become
        EngineErrors after everything idle is unloaded, so the server keeps serving."""
        try:
            with self.config.cache.use(self.spec()) as pipe:
                return run(pipe)
        except ModelTooLarge as exc:
            raise EngineError(str(exc)) from exc
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            self.config.cache.unload_all()
            raise EngineError(
                f"{self.model.label} ran out of GPU memory; try the fast preset, a shorter clip "
                "or a larger VRAM budget"
            ) from exc

    def generator(self, seed: int) -> Any:
        import torch

        return torch.Generator(self.config.device).manual_seed(seed)

    def write(
        self,
        frames: np.ndarray,
        out_dir: Path,
        *,
        gen_fps: int,
        duration_s: float,
        request: T2VRequest | AnimateRequest,
    ) -> EngineOutput:
        """Encode generated frames (n, h, w, 3; floats in 0..1) to the requested MP4."""
        pixels = (np.clip(frames, 0.0, 1.0) * 255.0).round().astype(np.uint8)
        picks = resample_frames(len(pixels), gen_fps, duration_s, request.fps)
        out = out_dir / "clip.mp4"
        gen_h, gen_w = pixels.shape[1:3]
        with VideoWriter(
            out, width=request.width, height=request.height, fps=request.fps,
            frame_size=(gen_w, gen_h), preset=request.preset,
        ) as writer:  # fmt: skip
            for index in picks:
                writer.write(pixels[index])
        return EngineOutput(
            files={"video": out}, engine=self.model.name, duration_s=len(picks) / request.fps,
            width=request.width, height=request.height,
        )  # fmt: skip


class WanVideoEngine(_WanEngine):
    """t2v, i2v and ti2v: a prompt (and for i2v a key frame) to a clip of the requested length."""

    def __init__(
        self,
        model: WanModel,
        config: EngineConfig,
        *,
        mode: Literal["t2v", "i2v"],
        presets: Mapping[VideoPreset, Preset] | None = None,
    ) -> None:
        super().__init__(model, config, presets or PRESETS[model.family])
        self.mode = mode

    def __call__(
        self, request: BaseModel, inputs: Mapping[str, Path], out_dir: Path, progress: ProgressFn
    ) -> EngineOutput:
        assert isinstance(request, T2VRequest)
        preset = self.presets[request.preset]
        image = None
        if self.mode == "i2v":
            assert isinstance(request, I2VRequest)
            path = require_input(inputs, "image_file_id")
            image = load_image(path, what="key frame image (image_file_id)")
        num_frames = clip_frames(request.duration_s, preset)
        width, height = generation_size(request.width, request.height, preset, self.multiple())

        def run(pipe: Any) -> np.ndarray:
            progress(0.03)
            args: dict[str, Any] = {
                "prompt": request.prompt, "negative_prompt": NEGATIVE_PROMPT, "height": height,
                "width": width, "num_frames": num_frames, "num_inference_steps": preset.steps,
                "guidance_scale": self.model.guidance, "generator": self.generator(request.seed),
                "output_type": "np",
                "callback_on_step_end": _step_progress(progress, preset.steps, 0.05, 0.9),
            }  # fmt: skip
            if pipe.config.get("boundary_ratio") is not None:
                args["guidance_scale_2"] = self.model.guidance_low_noise or self.model.guidance
            if image is not None:
                pipe = self._image_pipeline(pipe)
                args["image"] = fill(image, width, height)
            return np.asarray(pipe(**args).frames[0])

        frames = self.generate(run)
        progress(0.93)
        output = self.write(
            frames, out_dir, gen_fps=preset.fps, duration_s=request.duration_s, request=request
        )
        progress(1.0)
        return output

    @staticmethod
    def _image_pipeline(pipe: Any) -> Any:
        """TI2V-5B is loaded as WanPipeline; image-to-video wraps the same modules (no copy).

        Not `from_pipe`: it casts every shared module to one dtype, undoing the float32 VAE."""
        from diffusers import WanImageToVideoPipeline

        if isinstance(pipe, WanImageToVideoPipeline):
            return pipe
        wrapped: Any = WanImageToVideoPipeline(
            tokenizer=pipe.tokenizer, text_encoder=pipe.text_encoder, vae=pipe.vae,
            scheduler=pipe.scheduler, transformer=pipe.transformer,
            transformer_2=pipe.transformer_2, boundary_ratio=pipe.config.get("boundary_ratio"),
            expand_timesteps=pipe.config.get("expand_timesteps", False),
        )  # fmt: skip
        wrapped.set_progress_bar_config(disable=True)
        return wrapped


class WanAnimateEngine(_WanEngine):
    """animate: the character image performs the motion of the driving clip (see the module
    docstring for how pose and face inputs are derived)."""

    def __init__(
        self,
        model: WanModel,
        config: EngineConfig,
        *,
        presets: Mapping[VideoPreset, Preset] | None = None,
    ) -> None:
        super().__init__(model, config, presets or PRESETS[model.family])

    def __call__(
        self, request: BaseModel, inputs: Mapping[str, Path], out_dir: Path, progress: ProgressFn
    ) -> EngineOutput:
        assert isinstance(request, AnimateRequest)
        preset = self.presets[request.preset]
        character = load_image(
            require_input(inputs, "image_file_id"), what="character image (image_file_id)"
        )
        width, height = generation_size(request.width, request.height, preset, self.multiple())
        # Read before the model loads: a bad clip fails in a second, not after a 14B load.
        pose = read_driving_video(require_input(inputs, "video_file_id"), width, height, preset.fps)
        segment = preset.max_frames
        steps = animate_segments(len(pose), segment) * preset.steps
        progress(0.02)

        def run(pipe: Any) -> np.ndarray:
            face_size = int(pipe.transformer.config.motion_encoder_size)
            box = face_box(width, height)
            face = [
                f.resize((face_size, face_size), Image.Resampling.BICUBIC, box=box) for f in pose
            ]
            progress(0.05)
            result = pipe(
                image=character, pose_video=pose, face_video=face,
                prompt=request.prompt.strip() or ANIMATE_PROMPT, height=height, width=width,
                segment_frame_length=segment, num_inference_steps=preset.steps, mode="animate",
                guidance_scale=self.model.guidance, generator=self.generator(request.seed),
                output_type="np",
                callback_on_step_end=_step_progress(progress, steps, 0.05, 0.9),
            )  # fmt: skip
            return np.asarray(result.frames[0])

        frames = self.generate(run)
        progress(0.93)
        output = self.write(
            frames, out_dir, gen_fps=preset.fps, duration_s=len(frames) / preset.fps,
            request=request,
        )  # fmt: skip
        progress(1.0)
        return output


def clip_frames(duration_s: float, preset: Preset) -> int:
    """Frames to generate: the fewest 4k+1 covering the duration at the model's rate, at least 5,
    at most the preset's maximum."""
    needed = math.ceil(duration_s * preset.fps - 1e-6)
    frames = max(5, 4 * math.ceil((needed - 1) / 4) + 1)
    return min(frames, preset.max_frames)


def generation_size(width: int, height: int, preset: Preset, multiple: int) -> tuple[int, int]:
    """About the preset's pixel count in the requested aspect ratio, each side a multiple of
    `multiple` (VAE downscale x transformer patch: 16 for A14B, 32 for 5B)."""
    area = preset.size[0] * preset.size[1]
    ratio = width / height
    gen_w = max(multiple, round(math.sqrt(area * ratio) / multiple) * multiple)
    gen_h = max(multiple, round(math.sqrt(area / ratio) / multiple) * multiple)
    return gen_w, gen_h


def resample_frames(count: int, gen_fps: float, duration_s: float, out_fps: int) -> list[int]:
    """Which generated frame each output frame shows: the one on screen at that time when the
    clip plays at `gen_fps`, or slower when it is too short to fill `duration_s`."""
    total = max(1, round(duration_s * out_fps))
    rate = min(gen_fps, count / duration_s)
    return [min(int(k * rate / out_fps + 1e-9), count - 1) for k in range(total)]


def animate_segments(frames: int, segment: int, overlap: int = 1) -> int:
    """How many segments WanAnimatePipeline generates for a pose video (each overlaps the last
    by `overlap` frames); used to scale progress across all of their steps."""
    step = segment - overlap
    rest = (frames - overlap) % step
    return (frames + (step - rest if rest else 0)) // step


def face_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The square of a frame standing in for a tracked face crop: centred horizontally, half the
    shorter side, from 5% below the top (an upright performer's head and shoulders)."""
    side = max(2, min(width, height) // 2)
    left, top = (width - side) // 2, round(height * 0.05)
    return left, top, left + side, min(top + side, height)


def fill(image: Image.Image, width: int, height: int) -> Image.Image:
    """The image cropped to the aspect ratio and resized to the size (no stretching)."""
    box = cover_box(*image.size, width, height)
    return image.resize((width, height), Image.Resampling.LANCZOS, box=box)


def read_driving_video(path: Path, width: int, height: int, fps: int) -> list[Image.Image]:
    """The driving clip's frames at `fps`, cropped to fill width x height (ffmpeg decodes)."""
    limit = int(MAX_DRIVING_S * fps)
    vf = (
        f"fps={fps},scale={width}:{height}:force_original_aspect_ratio=increase:flags=bicubic,"
        f"crop={width}:{height},format=rgb24"
    )
    cmd = [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-an", "-sn", "-vf", vf]
    cmd += ["-frames:v", str(limit + 1), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    frame_bytes = width * height * 3
    count = len(proc.stdout) // frame_bytes
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        detail = " | ".join(line.strip() for line in lines[-4:]) or "ffmpeg failed"
        raise EngineError(f"driving video (video_file_id) is not a readable video: {detail}")
    if count > limit:
        raise EngineError(
            f"driving video (video_file_id) is longer than {MAX_DRIVING_S:g} s; trim it first"
        )
    if count < 2:
        raise EngineError(
            f"driving video (video_file_id) is too short: {count} frame(s) at {fps} fps; "
            "it must be a moving clip"
        )
    data = np.frombuffer(proc.stdout, np.uint8, count * frame_bytes)
    return [Image.fromarray(f) for f in data.reshape(count, height, width, 3)]


def _step_progress(progress: ProgressFn, steps: int, start: float, end: float) -> Any:
    """A diffusers callback_on_step_end reporting denoising steps as progress start..end."""
    done = 0

    def callback(_pipe: Any, _step: int, _t: Any, _kwargs: dict[str, Any]) -> dict[str, Any]:
        nonlocal done
        done += 1
        progress(start + (end - start) * min(done / max(steps, 1), 1.0))
        return {}

    return callback


def _torch_dtype(name: str) -> Any:
    import torch

    dtypes = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}
    if name not in dtypes:
        raise EngineError(f"unsupported dtype {name!r}; use one of {', '.join(dtypes)}")
    return dtypes[name]
