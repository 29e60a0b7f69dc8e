"""MusicGen engine on a tiny random checkpoint: exact length, real level, continuation, seeds."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest

from gpu.engines.base import EngineConfig
from gpu.engines.cache import ModelCache
from gpu.engines.musicgen import _Joiner, find_model, plan_passes, slots
from gpu.schemas import InferKind, MusicRequest
from tests.gpu.conftest import read_wav

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

RATE = 8000  # tiny EnCodec: 8 kHz, hop 320 -> 25 frames per second, 4 codebooks
WORDS = ["calm", "piano", "upbeat", "corporate", "lofi", "drums", "cinematic", "ambient", "music"]


def build_tiny_musicgen(folder: Path) -> None:
    """A randomly initialised MusicGen laid out like the hub checkpoint, without the hub."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        EncodecConfig,
        EncodecFeatureExtractor,
        GenerationConfig,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        MusicgenProcessor,
        PreTrainedTokenizerFast,
        T5Config,
    )

    vocab = {w: i for i, w in enumerate(["<pad>", "</s>", "<unk>", *WORDS])}
    word_level = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    word_level.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=word_level, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    text = T5Config(vocab_size=len(vocab), d_model=16, d_kv=4, d_ff=32, num_layers=1, num_heads=2)
    # num_quantizers = 1000 * bandwidth // (frame_rate * log2(codebook_size)) = 500 // 125 = 4
    audio = EncodecConfig(
        sampling_rate=RATE,
        upsampling_ratios=[8, 5, 4, 2],
        hidden_size=16,
        num_filters=4,
        num_residual_layers=1,
        codebook_size=32,
        codebook_dim=16,
        target_bandwidths=[0.5],
        num_lstm_layers=1,
    )
    decoder = MusicgenDecoderConfig(
        vocab_size=32,
        max_position_embeddings=256,
        num_hidden_layers=1,
        ffn_dim=32,
        num_attention_heads=2,
        hidden_size=16,
        num_codebooks=4,
        pad_token_id=32,
        bos_token_id=32,
    )
    torch.manual_seed(0)
    model = MusicgenForConditionalGeneration(
        MusicgenConfig(text_encoder=text, audio_encoder=audio, decoder=decoder)
    )
    with torch.no_grad():  # EnCodec starts with all-zero codebooks: every code would sound alike
        for layer in model.audio_encoder.quantizer.layers:
            layer.codebook.embed.normal_()
    # As the real checkpoints ship it: sampling with classifier-free guidance.
    model.generation_config = GenerationConfig(
        do_sample=True,
        guidance_scale=3.0,
        top_k=16,
        max_length=256,
        decoder_start_token_id=32,
        pad_token_id=32,
        bos_token_id=32,
    )
    model.save_pretrained(folder)
    extractor = EncodecFeatureExtractor(feature_size=1, sampling_rate=RATE, padding_value=0.0)
    MusicgenProcessor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(folder)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    build_tiny_musicgen(root / "musicgen-medium")
    return root


@pytest.fixture(scope="module")
def config(models_dir: Path) -> EngineConfig:
    return EngineConfig(
        models_dir=models_dir, cache=ModelCache(budget_gb=24), device="cpu", dtype="float32"
    )


def generate(
    config: EngineConfig, out_dir: Path, request: MusicRequest, **kwargs: float
) -> tuple[np.ndarray, int, list[float], float | None, str]:
    engine = slots(config, **kwargs)[InferKind.music].engine
    assert engine is not None
    out_dir.mkdir(parents=True, exist_ok=True)
    reports: list[float] = []
    out = engine(request, {}, out_dir, reports.append)
    audio, rate = read_wav(out.files["audio"])
    return audio, rate, reports, out.duration_s, out.engine


def test_exact_length_at_a_real_level(config: EngineConfig, tmp_path: Path) -> None:
    request = MusicRequest(prompt="calm piano bed", duration_s=2.37, seed=3)
    audio, rate, reports, duration, engine = generate(config, tmp_path, request)
    assert rate == RATE
    assert audio.shape == (round(2.37 * RATE), 1)  # to the sample, mono like the checkpoint
    assert duration == pytest.approx(2.37, abs=1 / RATE)
    assert engine == "musicgen-medium"
    peak = np.abs(audio).max()
    assert 20 * np.log10(peak) == pytest.approx(-3.0, abs=0.1)  # normalised, far from clipping
    assert np.sqrt(np.mean(audio**2)) > 0.01  # not silent
    assert np.abs(audio[:40]).max() < 0.2 * peak  # fades in
    assert np.abs(audio[-40:]).max() < 0.2 * peak  # fades out
    assert reports[-1] == 1.0 and reports == sorted(reports) and len(reports) > 3


def test_long_beds_are_continued_pass_by_pass(
    config: EngineConfig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    request = MusicRequest(prompt="upbeat corporate drums", duration_s=3.13, seed=5)
    with caplog.at_level(logging.INFO, logger="skyie.gpu.musicgen"):
        audio, _, reports, duration, _ = generate(
            config, tmp_path, request, chunk_s=1.0, context_s=0.4
        )
    # 79 frames in passes of at most 25: 25 new, then 15 new after each 10-frame context.
    assert "passes=5" in caplog.text
    assert audio.shape == (round(3.13 * RATE), 1)
    assert duration == pytest.approx(3.13, abs=1 / RATE)
    assert np.sqrt(np.mean(audio**2)) > 0.01
    seconds = np.abs(audio[: 3 * RATE, 0]).reshape(3, RATE).max(axis=1)
    assert seconds.min() > 0.05  # every second has music, joins included
    assert reports[-1] == 1.0 and reports == sorted(reports)


def test_seeds_make_it_repeatable(config: EngineConfig, tmp_path: Path) -> None:
    def take(seed: int, name: str) -> bytes:
        request = MusicRequest(prompt="lofi music", duration_s=1.5, seed=seed)
        audio = generate(config, tmp_path / name, request, chunk_s=1.0, context_s=0.4)[0]
        return audio.tobytes()

    first = take(7, "a")
    assert take(7, "b") == first
    assert take(8, "c") != first


def test_plan_and_join_are_seamless() -> None:
    assert plan_passes(79, 25, 10) == [25, 15, 15, 15, 9]
    assert plan_passes(20, 25, 10) == [20]
    # A continuation whose context re-generates the tail exactly joins without a seam.
    wave = np.sin(np.arange(3000, dtype=np.float32) * 2 * math.pi / 97)[None, :]
    joiner = _Joiner(crossfade=100)
    joiner.first(wave[:, :1200])
    joiner.extend(wave[:, 800:2100], context=400)
    joiner.extend(wave[:, 1700:3000], context=400)
    assert joiner.length == 3000
    np.testing.assert_allclose(joiner.track(), wave, atol=1e-6)


def test_missing_weights_are_reported(tmp_path: Path) -> None:
    config = EngineConfig(models_dir=tmp_path, cache=ModelCache(budget_gb=24), device="cpu")
    slot = slots(config)[InferKind.music]
    assert slot.engine is None
    assert "MusicGen weights not found" in slot.note
    assert str(tmp_path / "musicgen-medium") in slot.note


def test_prefers_medium_then_large_then_small(tmp_path: Path) -> None:
    for name in ("musicgen-small", "musicgen-large"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text("{}")
    assert find_model(tmp_path) == tmp_path / "musicgen-large"
    config = EngineConfig(models_dir=tmp_path, cache=ModelCache(budget_gb=24), device="cpu")
    slot = slots(config)[InferKind.music]
    assert slot.engine is not None and "musicgen-large" in slot.note
    assert slot.model == "musicgen-large" and slot.is_loaded is not None
    assert not slot.is_loaded()
    (tmp_path / "musicgen-medium").mkdir()  # an empty folder (a download in progress) is skipped
    assert find_model(tmp_path) == tmp_path / "musicgen-large"
    (tmp_path / "musicgen-medium" / "config.json").write_text("{}")
    assert find_model(tmp_path) == tmp_path / "musicgen-medium"
