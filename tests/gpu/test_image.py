"""Lite key frames: prompts drive the picture, the same prompt and seed give the same pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gpu.engines.lite.image import generate, render_image
from gpu.engines.lite.scene import plan_scene
from gpu.schemas import ImageRequest


def pixels(prompt: str, seed: int = 0) -> np.ndarray:
    return np.asarray(render_image(prompt, 180, 320, seed), dtype=np.int16)


def test_same_prompt_is_identical_and_prompts_differ() -> None:
    ocean = pixels("a calm ocean at sunset")
    assert np.array_equal(ocean, pixels("a calm ocean at sunset"))
    assert np.abs(ocean - pixels("city skyline at night")).mean() > 20
    assert np.abs(ocean - pixels("a calm ocean at sunset", seed=1)).mean() > 1


@pytest.mark.parametrize(
    "prompt",
    ["rooftop solar panels, aerial drone shot", "close-up of a smart thermostat on a white wall",
     "pine forest in the morning", "snowy mountains at dawn", "modern kitchen with plants",
     "desert dunes", "wind turbines on green hills", "rainy city street", "something unusual"],
)  # fmt: skip
def test_scenes_look_like_pictures_not_noise(prompt: str) -> None:
    image = pixels(prompt)
    assert image.shape == (320, 180, 3)
    # Illustrations are mostly smooth: neighbouring pixels are close, yet the frame has contrast.
    assert np.abs(np.diff(image, axis=1)).mean() < 12
    assert image.std() > 15


def test_prompt_words_choose_the_scene() -> None:
    rng = np.random.default_rng(0)
    night = plan_scene("city skyline at night", rng)
    assert (night.time, night.setting) == ("night", "city")
    room = plan_scene("close-up of a smart thermostat on a white wall, morning light", rng)
    assert room.setting == "interior" and {"thermostat", "closeup"} <= room.features
    assert plan_scene("rooftop solar panels", rng).features >= {"solar", "house"}


def test_engine_writes_a_png_of_the_requested_size(tmp_path: Path) -> None:
    out = generate(ImageRequest(prompt="ocean", width=200, height=120, seed=3), tmp_path)
    with Image.open(out.files["image"]) as image:
        assert image.size == (200, 120) and image.format == "PNG"
    assert (out.width, out.height) == (200, 120)
