"""Lite key-frame engine: an illustrated scene drawn from the prompt's words, deterministic."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image
from pydantic import BaseModel

from gpu.engines.base import EngineOutput, ProgressFn, no_progress, stable_seed
from gpu.engines.lite.interior import render_interior
from gpu.engines.lite.landscape import render_outdoor
from gpu.engines.lite.paint import Canvas
from gpu.engines.lite.scene import plan_scene
from gpu.schemas import ImageRequest

ENGINE = "lite.scene"


def render_image(prompt: str, width: int, height: int, seed: int) -> Image.Image:
    """The scene for `prompt` as an RGB image; the same prompt and seed give the same pixels."""
    rng = np.random.default_rng(stable_seed(prompt.strip().lower(), seed))
    plan = plan_scene(prompt, rng)
    canvas = Canvas(width, height)
    if plan.setting == "interior":
        render_interior(canvas, plan, rng)
    else:
        render_outdoor(canvas, plan, rng)
    if plan.tint is not None:
        tint = np.asarray(plan.tint, np.float32)
        canvas.rgb *= 0.9 + 0.18 * tint  # colour words push the whole palette gently their way
    canvas.vignette(0.22)
    return Image.fromarray(canvas.to_uint8(), "RGB")


def generate(
    request: ImageRequest, out_dir: Path, progress: ProgressFn = no_progress
) -> EngineOutput:
    """Write `image.png` for the request."""
    image = render_image(request.prompt, request.width, request.height, request.seed)
    progress(0.9)
    path = out_dir / "image.png"
    image.save(path, optimize=False, compress_level=3)
    progress(1.0)
    return EngineOutput(
        files={"image": path}, engine=ENGINE, width=request.width, height=request.height
    )


def run(
    request: BaseModel, inputs: Mapping[str, Path], out_dir: Path, progress: ProgressFn
) -> EngineOutput:
    """Engine entry point for `image`."""
    assert isinstance(request, ImageRequest)
    return generate(request, out_dir, progress)
