"""Whisper engine on a tiny random checkpoint: converted once to CTranslate2, then transcribed.

Random weights say nothing meaningful, so these tests check the path production takes (hub
layout -> TransformersConverter -> faster_whisper.WhisperModel -> words) and the shape of what
comes back, not the text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from gpu.engines.base import EngineConfig, EngineError, EngineOutput, no_progress
from gpu.engines.cache import ModelCache
from gpu.engines.media import write_wav
from gpu.engines.whisper import WhisperEngine, convert_checkpoint, find_model, slots
from gpu.schemas import CaptionRequest, InferKind

torch = pytest.importorskip("torch")
pytest.importorskip("faster_whisper")

SPECIALS = [
    "<|endoftext|>",  # first special: faster-whisper treats every id below it as text
    "<|startoftranscript|>",
    "<|en|>",
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nocaptions|>",
    "<|notimestamps|>",  # last: timestamp tokens <|0.00|>… follow it, as in Whisper's vocabulary
]
TIMESTAMPS = 1501  # <|0.00|> … <|30.00|>; the converter appends them to the vocabulary
CORPUS = [
    "hello world, this is a tiny test of the captions engine.",
    "the quick brown fox jumps over the lazy dog!",
    "one two three four five six seven eight nine ten",
]
AUDIO_S = 2.5


def build_tiny_whisper(folder: Path, *, processor_layout: bool = False) -> None:
    """A random Whisper in the hub's layout: weights, tokenizer.json, preprocessor_config.json.

    With `processor_layout` the feature extractor is saved the transformers-5 way instead
    (inside processor_config.json), which the engine must also handle.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import (
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )

    # Whisper's tokenizer is GPT-2's byte-level BPE: train a small one on a few sentences.
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=320, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    bpe.train_from_iterator(CORPUS, trainer)
    trained = json.loads(bpe.to_str())["model"]
    tokenizer = WhisperTokenizer(
        vocab=trained["vocab"], merges=[tuple(pair) for pair in trained["merges"]]
    )
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIALS[1:]})
    ids = tokenizer.convert_tokens_to_ids(SPECIALS)
    assert ids == list(range(len(tokenizer) - len(SPECIALS), len(tokenizer)))
    eot, sot = ids[0], ids[1]
    config = WhisperConfig(
        vocab_size=len(tokenizer) + TIMESTAMPS,
        num_mel_bins=80,
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_source_positions=1500,  # faster-whisper always feeds 30-second windows
        max_target_positions=448,
        decoder_start_token_id=sot,
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
    )
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config)
    generation = model.generation_config
    generation.suppress_tokens = []
    generation.begin_suppress_tokens = [eot]
    generation.alignment_heads = [[0, 0], [0, 1]]  # what word timestamps are read from
    generation.no_timestamps_token_id = ids[-1]
    model.save_pretrained(folder)
    extractor = WhisperFeatureExtractor(feature_size=80)
    if processor_layout:
        WhisperProcessor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(folder)
    else:
        extractor.save_pretrained(folder)
        tokenizer.save_pretrained(folder)


@dataclass
class FirstRun:
    config: EngineConfig
    output: EngineOutput
    progress: list[float]
    note_before: str


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2.5 s of voiced, speech-like bursts at 22.05 kHz stereo (the engine resamples)."""
    rate = 22050
    t = np.arange(int(AUDIO_S * rate)) / rate
    voice = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((140, 280, 420, 700), 1))
    syllables = (np.sin(2 * np.pi * 4 * t) > 0).astype(np.float64)
    mono = 0.3 * voice * syllables / 2
    path = tmp_path_factory.mktemp("audio") / "speech.wav"
    write_wav(path, np.stack([mono, mono], axis=1), rate)
    return path


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory, speech: Path) -> FirstRun:
    import ctranslate2

    models = tmp_path_factory.mktemp("models")
    build_tiny_whisper(models / "whisper-tiny-random")
    # Random weights fail Whisper's quality checks, so faster-whisper falls back to sampling.
    # CTranslate2 seeds each worker thread when the model is created: seeding first makes
    # this run repeatable.
    ctranslate2.set_random_seed(0)
    config = EngineConfig(
        models_dir=models, cache=ModelCache(budget_gb=24), device="cpu", dtype="float32"
    )
    slot = slots(config)[InferKind.caption]
    assert slot.engine is not None
    out_dir = tmp_path_factory.mktemp("out")
    progress: list[float] = []
    request = CaptionRequest(audio_file_id="f_speech")
    output = slot.engine(request, {"audio_file_id": speech}, out_dir, progress.append)
    return FirstRun(config, output, progress, slot.note)


def test_converts_and_transcribes(first_run: FirstRun) -> None:
    models = first_run.config.models_dir
    assert "converted once from" in first_run.note_before
    converted = models / "faster-whisper-tiny-random"
    names = {p.name for p in converted.iterdir()}
    assert {"model.bin", "config.json", "tokenizer.json", "preprocessor_config.json"} <= names
    assert not [p for p in models.iterdir() if ".partial-" in p.name]  # nothing left behind

    out = first_run.output
    assert out.engine == "faster-whisper-tiny-random"
    assert out.duration_s == pytest.approx(AUDIO_S, abs=1 / 16000)
    assert first_run.progress[-1] == 1.0 and first_run.progress == sorted(first_run.progress)
    transcript = json.loads(out.files["transcript"].read_text(encoding="utf-8"))
    assert transcript["engine"] == out.engine and transcript["language"] == "en"
    assert transcript["duration_s"] == out.duration_s
    listed = [w for s in transcript["segments"] for w in s["words"]]
    assert [(w.word, w.start, w.end) for w in out.words] == [
        (w["word"], w["start"], w["end"]) for w in listed
    ]
    assert out.words  # this seeded random model does emit words; they must reach the result
    for word in out.words:
        assert word.word and word.word == word.word.strip() and word.word.isprintable()
        assert 0 <= word.start <= word.end <= AUDIO_S
    for segment in transcript["segments"]:
        assert 0 <= segment["start"] <= segment["end"] <= AUDIO_S


def test_second_start_reuses_the_conversion(
    first_run: FirstRun, speech: Path, tmp_path: Path
) -> None:
    model_bin = first_run.config.models_dir / "faster-whisper-tiny-random" / "model.bin"
    before = model_bin.stat()
    # A fresh process: a new cache, so the model is loaded again from disk.
    config = EngineConfig(
        models_dir=first_run.config.models_dir,
        cache=ModelCache(budget_gb=24),
        device="cpu",
        dtype="float32",
    )
    slot = slots(config)[InferKind.caption]
    assert slot.engine is not None and "converted once" not in slot.note
    assert slot.model == "faster-whisper-tiny-random" and slot.is_loaded is not None
    request = CaptionRequest(audio_file_id="f_speech", language="en-US")
    out = slot.engine(request, {"audio_file_id": speech}, tmp_path, no_progress)
    assert out.duration_s == pytest.approx(AUDIO_S, abs=1 / 16000)
    after = model_bin.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert config.cache.loads == 1 and slot.is_loaded()


def test_bad_inputs_are_named(first_run: FirstRun, tmp_path: Path) -> None:
    engine = slots(first_run.config)[InferKind.caption].engine
    assert engine is not None
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(EngineError, match="audio file 'f_junk' is not readable audio"):
        engine(
            CaptionRequest(audio_file_id="f_junk"), {"audio_file_id": junk}, tmp_path, no_progress
        )
    with pytest.raises(EngineError, match="missing input file for 'audio_file_id'"):
        engine(CaptionRequest(audio_file_id="f_none"), {}, tmp_path, no_progress)
    speech = tmp_path / "speech.wav"
    write_wav(speech, np.zeros(1600, dtype=np.float32), 16000)
    for language, message in (("de", "English-only"), ("english!", "not a language code")):
        request = CaptionRequest(audio_file_id="f_speech", language=language)
        with pytest.raises(EngineError, match=message):
            engine(request, {"audio_file_id": speech}, tmp_path, no_progress)


def test_processor_layout_is_converted_too(tmp_path: Path) -> None:
    source = tmp_path / "whisper-tiny-processor"
    build_tiny_whisper(source, processor_layout=True)
    assert not (source / "preprocessor_config.json").exists()
    target = tmp_path / "faster-whisper-tiny-processor"
    convert_checkpoint(source, target)
    settings = json.loads((target / "preprocessor_config.json").read_text())
    assert settings["feature_size"] == 80 and settings["sampling_rate"] == 16000
    assert (target / "tokenizer.json").is_file() and (target / "model.bin").is_file()


def test_missing_weights_are_reported(tmp_path: Path) -> None:
    config = EngineConfig(models_dir=tmp_path, cache=ModelCache(budget_gb=24), device="cpu")
    slot = slots(config)[InferKind.caption]
    assert slot.engine is None
    assert "Whisper weights not found" in slot.note
    assert str(tmp_path / "faster-whisper-large-v3") in slot.note


def test_model_choice(tmp_path: Path) -> None:
    def touch(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")

    touch(tmp_path / "faster-whisper-small" / "model.bin")
    touch(tmp_path / "faster-whisper-medium" / "config.json")  # no model.bin: not a model
    found = find_model(tmp_path)
    assert found is not None and found.ready and found.name == "faster-whisper-small"
    touch(tmp_path / "whisper-large-v3" / "config.json")
    found = find_model(tmp_path)
    assert found is not None and not found.ready
    assert found.target == tmp_path / "faster-whisper-large-v3"
    assert found.source == tmp_path / "whisper-large-v3"
    touch(tmp_path / "faster-whisper-large-v3" / "model.bin")
    found = find_model(tmp_path)
    assert found is not None and found.ready and found.name == "faster-whisper-large-v3"
    config = EngineConfig(models_dir=tmp_path, cache=ModelCache(budget_gb=24), device="cuda:1")
    engine = slots(config)[InferKind.caption].engine
    assert isinstance(engine, WhisperEngine)
    assert (engine.device, engine.device_index, engine.compute_type) == ("cuda", 1, "float16")
    assert engine.spec.vram_gb == 4.5
