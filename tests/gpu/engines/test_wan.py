"""Wan 2.2 engines on tiny random models saved as diffusers folders, loaded the production way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from gpu.engines.base import EngineConfig, EngineError
from gpu.engines.cache import ModelCache
from gpu.engines.media import VideoWriter
from gpu.engines.registry import Slot
from gpu.engines.wan import (
    PRESETS,
    Preset,
    clip_frames,
    face_box,
    generation_size,
    resample_frames,
    slots,
)
from gpu.schemas import AnimateRequest, I2VRequest, InferKind, T2VRequest

from ..conftest import video_frames

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")
pytest.importorskip("ftfy")
# Production passes torch_dtype, which every diffusers with Wan 2.2 understands.
pytestmark = pytest.mark.filterwarnings("ignore:`torch_dtype` is deprecated:FutureWarning")

# 2 steps, 32x32 pixels, 8 fps, at most 5 frames a pass (an Animate segment of 5 frames).
TINY = Preset(steps=2, size=(32, 32), fps=8, max_frames=5)
TINY_PRESETS: Any = {family: dict.fromkeys(PRESETS[family], TINY) for family in PRESETS}
SPECIALS = ["<pad>", "</s>", "<unk>"]
WORDS = "a red fox runs through snow at dawn the city lights glow person dances on stage"


def _tokenizer() -> Any:
    """A word-level tokenizer trained here on a few words (the real one is UMT5's)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator([WORDS], trainers.WordLevelTrainer(special_tokens=SPECIALS))
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))]
    )
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )


def _common() -> dict[str, Any]:
    torch.manual_seed(0)
    tokenizer = _tokenizer()
    text_encoder = transformers.UMT5EncoderModel(
        transformers.UMT5Config(
            vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
            relative_attention_num_buckets=8,
        )
    )  # fmt: skip
    vae = diffusers.AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
        temperal_downsample=[False, True, True],
    )  # fmt: skip
    scheduler = diffusers.UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0
    )
    return {
        "tokenizer": tokenizer,
        "text_encoder": text_encoder,
        "vae": vae,
        "scheduler": scheduler,
    }


def _transformer(in_channels: int, **extra: Any) -> Any:
    return diffusers.WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12,
        in_channels=in_channels, out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32,
        num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
        **extra,
    )  # fmt: skip


def _save_t2v_a14b(root: Path) -> None:
    """Two experts switched at a boundary, like the real A14B."""
    pipe = diffusers.WanPipeline(
        **_common(), transformer=_transformer(16), transformer_2=_transformer(16),
        boundary_ratio=0.875,
    )  # fmt: skip
    pipe.save_pretrained(root / "Wan2.2-T2V-A14B-Diffusers")


def _save_i2v_a14b(root: Path) -> None:
    """Wan 2.2's I2V has no CLIP image encoder: the key frame enters through latent channels."""
    pipe = diffusers.WanImageToVideoPipeline(
        **_common(), transformer=_transformer(36), transformer_2=_transformer(36),
        boundary_ratio=0.9,
    )  # fmt: skip
    pipe.save_pretrained(root / "Wan2.2-I2V-A14B-Diffusers")


def _save_ti2v_5b(root: Path) -> None:
    """One transformer whose first latent frame is the image (expand_timesteps), as in 5B."""
    pipe = diffusers.WanPipeline(**_common(), transformer=_transformer(16), expand_timesteps=True)
    pipe.save_pretrained(root / "Wan2.2-TI2V-5B-Diffusers")


def _save_animate(root: Path) -> None:
    transformer = diffusers.WanAnimateTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36,
        latent_channels=16, out_channels=16, text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2,
        cross_attn_norm=True, qk_norm="rms_norm_across_heads", image_dim=4, rope_max_seq_len=32,
        motion_encoder_channel_sizes={"4": 16, "8": 16, "16": 16}, motion_encoder_size=16,
        motion_style_dim=8, motion_dim=4, motion_encoder_dim=16, face_encoder_hidden_dim=16,
        face_encoder_num_heads=2, inject_face_latents_blocks=2,
    )  # fmt: skip
    image_encoder = transformers.CLIPVisionModel(
        transformers.CLIPVisionConfig(
            hidden_size=4, projection_dim=4, num_hidden_layers=2, num_attention_heads=2,
            image_size=4, intermediate_size=16, patch_size=1,
        )
    )  # fmt: skip
    pipe = diffusers.WanAnimatePipeline(
        **_common(), transformer=transformer, image_encoder=image_encoder,
        image_processor=transformers.CLIPImageProcessor(crop_size=4, size=4),
    )  # fmt: skip
    pipe.save_pretrained(root / "Wan2.2-Animate-14B-Diffusers")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder laid out like SKYIE_MODELS_DIR with every Wan model."""
    root = tmp_path_factory.mktemp("models")
    for save in (_save_t2v_a14b, _save_i2v_a14b, _save_ti2v_5b, _save_animate):
        save(root)
    return root


@pytest.fixture(scope="module")
def only_5b(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models_5b")
    _save_ti2v_5b(root)
    return root


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two different key frames and a 9-frame driving clip of a moving shape."""
    root = tmp_path_factory.mktemp("media")
    paths = {"red": root / "red.png", "blue": root / "blue.png", "clip": root / "drive.mp4"}
    ys, xs = np.mgrid[0:96, 0:128]
    Image.fromarray(np.dstack([xs * 2, ys, 40 + 0 * xs]).astype(np.uint8)).save(paths["red"])
    Image.fromarray(np.dstack([30 + 0 * xs, ys * 2, xs]).astype(np.uint8)).save(paths["blue"])
    with VideoWriter(paths["clip"], width=64, height=96, fps=8) as writer:
        for n in range(9):
            frame = np.full((96, 64, 3), 20, np.uint8)
            frame[10 + n * 5 : 40 + n * 5, 20:44] = (240, 200, 160)
            writer.write(frame)
    return paths


def _config(models_dir: Path, budget_gb: float = 400) -> EngineConfig:
    return EngineConfig(
        models_dir=models_dir, cache=ModelCache(budget_gb=budget_gb), device="cpu", dtype="float32"
    )


def _engine(config: EngineConfig, kind: InferKind) -> Any:
    slot = slots(config, presets=TINY_PRESETS)[kind]
    assert slot.engine is not None, slot.note
    return slot.engine


def _video(path: Path) -> tuple[list[np.ndarray], float, float]:
    frames, fps = video_frames(path)
    _, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    return frames, fps, seconds


def test_t2v_writes_the_requested_clip_through_the_cache(models: Path, tmp_path: Path) -> None:
    config = _config(models)
    engine = _engine(config, InferKind.t2v)
    request = T2VRequest(prompt="a red fox runs through snow", duration_s=1.0, fps=12, width=96,
                         height=64, seed=3)  # fmt: skip
    seen: list[float] = []
    out = engine(request, {}, tmp_path, seen.append)
    frames, fps, seconds = _video(out.files["video"])
    assert (len(frames), fps, frames[0].shape) == (12, 12, (64, 96, 3))
    assert seconds == pytest.approx(1.0, abs=0.05)
    assert (out.engine, out.duration_s, out.width, out.height) == ("wan2.2-t2v-a14b", 1.0, 96, 64)
    # 1 s at the model's 8 fps is 9 generated frames, more than one 5-frame pass: slowed to fit.
    assert np.std(np.stack(frames).astype(float)) > 1.0
    assert seen[-1] == 1.0 and seen == sorted(seen) and len({round(p, 3) for p in seen}) >= 4
    assert config.cache.loaded() == ["wan2.2-t2v-a14b"] and config.cache.loads == 1

    (tmp_path / "again").mkdir()
    again = engine(request, {}, tmp_path / "again", lambda _p: None)
    assert config.cache.loads == 1  # the loaded pipeline was reused
    assert np.array_equal(video_frames(again.files["video"])[0][0], frames[0])  # same seed


def test_i2v_is_driven_by_the_key_frame(
    models: Path, media: dict[str, Path], tmp_path: Path
) -> None:
    config = _config(models)
    engine = _engine(config, InferKind.i2v)
    request = I2VRequest(prompt="the city lights glow", image_file_id="f_img", duration_s=0.5,
                         fps=10, width=64, height=64, seed=1)  # fmt: skip
    outputs = []
    for n, name in enumerate(("red", "blue", "red")):
        (tmp_path / str(n)).mkdir()
        out = engine(request, {"image_file_id": media[name]}, tmp_path / str(n), lambda _p: None)
        outputs.append(np.stack(video_frames(out.files["video"])[0]).astype(float))
    red, blue, red_again = outputs
    assert out.engine == "wan2.2-i2v-a14b" and red.shape == (5, 64, 64, 3)
    assert np.array_equal(red, red_again)  # seeded: the same inputs give the same clip
    assert np.abs(red - blue).mean() > 0.1  # so the difference is the key frame's doing


def test_ti2v_5b_stands_in_for_missing_a14b(
    only_5b: Path, media: dict[str, Path], tmp_path: Path
) -> None:
    config = _config(only_5b)
    table = slots(config, presets=TINY_PRESETS)
    for kind in (InferKind.t2v, InferKind.i2v):
        assert table[kind].engine is not None and "Wan2.2-TI2V-5B" in table[kind].note
        assert "standing in for Wan2.2-" in table[kind].note and "not found" in table[kind].note
    assert table[InferKind.ti2v].note.startswith("Wan2.2-TI2V-5B via diffusers")
    assert table[InferKind.animate].engine is None
    request = I2VRequest(prompt="a person dances", image_file_id="f", duration_s=0.5, fps=8,
                         width=64, height=64)  # fmt: skip
    out = _engine(config, InferKind.ti2v)(request, {"image_file_id": media["red"]}, tmp_path,
                                          lambda _p: None)  # fmt: skip
    assert out.engine == "wan2.2-ti2v-5b" and len(video_frames(out.files["video"])[0]) == 4
    (tmp_path / "t2v").mkdir()
    text = T2VRequest(prompt="snow", duration_s=0.5, fps=8, width=64, height=64)
    _engine(config, InferKind.t2v)(text, {}, tmp_path / "t2v", lambda _p: None)
    assert config.cache.loaded() == ["wan2.2-ti2v-5b"] and config.cache.loads == 1  # one model


def test_animate_follows_the_driving_clip(
    models: Path, media: dict[str, Path], tmp_path: Path
) -> None:
    config = _config(models)
    engine = _engine(config, InferKind.animate)
    request = AnimateRequest(image_file_id="f_char", video_file_id="f_clip", fps=16, width=64,
                             height=96, seed=2)  # fmt: skip
    seen: list[float] = []
    inputs = {"image_file_id": media["red"], "video_file_id": media["clip"]}
    out = engine(request, inputs, tmp_path, seen.append)
    frames, fps, seconds = _video(out.files["video"])
    # 9 driving frames at the model's 8 fps (two 5-frame segments) last 1.125 s; 18 at 16 fps.
    assert (len(frames), fps, frames[0].shape) == (18, 16, (96, 64, 3))
    assert out.duration_s == pytest.approx(1.125) and seconds == pytest.approx(1.125, abs=0.07)
    assert out.engine == "wan2.2-animate-14b"
    assert seen[-1] == 1.0 and seen == sorted(seen)
    assert any(0.4 < p < 0.9 for p in seen)  # the second segment's steps count too


def test_bad_inputs_fail_clearly_before_loading(
    models: Path, media: dict[str, Path], tmp_path: Path
) -> None:
    config = _config(models)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not an image")
    i2v = I2VRequest(prompt="x", image_file_id="f", duration_s=0.5, fps=8, width=64, height=64)
    with pytest.raises(EngineError, match=r"key frame image \(image_file_id\) is not a readable"):
        _engine(config, InferKind.i2v)(i2v, {"image_file_id": junk}, tmp_path, lambda _p: None)
    with pytest.raises(EngineError, match="missing input file for 'image_file_id'"):
        _engine(config, InferKind.i2v)(i2v, {}, tmp_path, lambda _p: None)
    animate = AnimateRequest(image_file_id="a", video_file_id="b", width=64, height=64)
    animate_engine = _engine(config, InferKind.animate)
    with pytest.raises(EngineError, match=r"driving video \(video_file_id\) is not a readable"):
        animate_engine(
            animate, {"image_file_id": media["red"], "video_file_id": junk}, tmp_path,
            lambda _p: None,
        )  # fmt: skip
    with pytest.raises(EngineError, match=r"character image \(image_file_id\) is not a readable"):
        animate_engine(
            animate, {"image_file_id": media["clip"], "video_file_id": media["clip"]}, tmp_path,
            lambda _p: None,
        )  # fmt: skip
    with pytest.raises(EngineError, match="too short"):
        animate_engine(
            animate, {"image_file_id": media["red"], "video_file_id": media["red"]}, tmp_path,
            lambda _p: None,
        )  # fmt: skip
    assert config.cache.loads == 0


def test_a_model_larger_than_the_budget_is_a_clear_error(models: Path, tmp_path: Path) -> None:
    config = _config(models, budget_gb=24)
    request = T2VRequest(prompt="x", duration_s=0.5, fps=8, width=64, height=64)
    with pytest.raises(EngineError, match=r"wan2.2-t2v-a14b needs 82 GB of VRAM"):
        _engine(config, InferKind.t2v)(request, {}, tmp_path, lambda _p: None)


def test_slots_say_which_weights_are_missing(tmp_path: Path) -> None:
    table: dict[InferKind, Slot] = slots(_config(tmp_path))
    assert set(table) == {InferKind.t2v, InferKind.i2v, InferKind.ti2v, InferKind.animate}
    assert all(slot.engine is None for slot in table.values())
    assert f"Wan2.2-T2V-A14B weights not found at {tmp_path / 'Wan2.2-T2V-A14B-Diffusers'}" in (
        table[InferKind.t2v].note
    )
    assert "Wan2.2-TI2V-5B weights not found" in table[InferKind.t2v].note
    assert "Wan2.2-I2V-A14B-Diffusers" in table[InferKind.i2v].note
    assert table[InferKind.animate].note == (
        f"Wan2.2-Animate-14B weights not found at {tmp_path / 'Wan2.2-Animate-14B-Diffusers'}"
    )
    (tmp_path / "Wan2.2-TI2V-5B-Diffusers").mkdir()
    assert "no model_index.json" in slots(_config(tmp_path))[InferKind.ti2v].note


def test_presets_fit_wan() -> None:
    multiples = {"a14b": 16, "5b": 32, "animate": 16}
    for family, table in PRESETS.items():
        assert table["fast"].steps <= table["balanced"].steps <= table["quality"].steps
        for preset in table.values():
            assert (preset.max_frames - 1) % 4 == 0
            assert all(side % multiples[family] == 0 for side in preset.size)
    quality = PRESETS["a14b"]["quality"]
    assert generation_size(720, 1280, quality, 16) == (720, 1280)
    assert generation_size(1080, 1080, PRESETS["5b"]["fast"], 32) == (640, 640)
    assert clip_frames(4.0, quality) == 65 and clip_frames(10.0, quality) == 81
    assert clip_frames(0.1, quality) == 5


def test_frames_are_resampled_to_the_requested_rate() -> None:
    # 16 fps to 30 fps over 1 s: every source frame shows, none skipped, in order.
    picks = resample_frames(17, 16, 1.0, 30)
    assert len(picks) == 30 and picks == sorted(picks) and set(picks) == set(range(16))
    # A 5-frame clip stretched over 2 s at 10 fps: each frame held for 4 output frames.
    assert resample_frames(5, 16, 2.0, 10) == [n // 4 for n in range(20)]
    assert face_box(64, 96) == (16, 5, 48, 37)
