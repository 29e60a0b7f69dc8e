"""The real engine set in the registry: honest reasons when weights are missing, the lite
engines behind it, and TTS engines selectable by name across sets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gpu.engines import fish_speech
from gpu.engines.base import EngineConfig
from gpu.engines.cache import ModelCache
from gpu.engines.registry import EngineRegistry, lite_engines, merge_slots
from gpu.schemas import InferKind, TTSRequest
from gpu.server import GpuServerSettings, create_app

FAKE_FISH = Path(__file__).parent / "fake_workers" / "fake_fish_speech.py"


def config(tmp_path: Path, **extra: object) -> EngineConfig:
    models = tmp_path / "models"
    models.mkdir(exist_ok=True)
    fields: dict[str, object] = {
        "models_dir": models,
        "cache": ModelCache(24),
        "device": "cpu",
        "dtype": "float32",
    }
    fields.update(extra)
    return EngineConfig(**fields)  # type: ignore[arg-type]


def test_without_weights_every_real_engine_says_why_and_lite_serves(tmp_path: Path) -> None:
    registry = EngineRegistry("gpu,lite", config(tmp_path))
    health = registry.health()
    # The lite engines still serve what they can, and /health names what the GPU set lacks.
    assert health["tts"].available and health["tts"].variants == ["espeak"]
    assert health["i2v"].available and "lite" in (health["i2v"].reason or "")
    caption = health["caption"]
    assert caption.available and "PocketSphinx" in (caption.reason or "")
    only_gpu = EngineRegistry("gpu", config(tmp_path)).health()
    for kind in ("t2v", "i2v", "ti2v", "animate", "music", "caption", "image", "tts", "lipsync"):
        assert not only_gpu[kind].available, kind
        assert only_gpu[kind].reason, f"{kind} says why it is unavailable"
    assert "Wan2.2" in (only_gpu["t2v"].reason or "")
    assert "SKYIE_HF_TOKEN" in (only_gpu["image"].reason or "")
    assert "SKYIE_FISH_SPEECH_PYTHON" in (only_gpu["tts"].reason or "")


def test_tts_engines_of_both_sets_are_reachable_by_name(tmp_path: Path) -> None:
    cfg = config(tmp_path, fish_speech_python=Path(sys.executable))
    (cfg.models_dir / "fish-speech-1.5").mkdir()
    fish = fish_speech.slots(cfg, worker=FAKE_FISH)[InferKind.tts]
    both = merge_slots(fish, lite_engines()[InferKind.tts])
    assert both.variants == ("fish-speech", "espeak")
    assert both.engine is not None
    out = tmp_path / "out"
    for engine, expected in [("auto", "fish-speech"), ("espeak", "lite.espeak")]:
        folder = out / engine
        folder.mkdir(parents=True)
        request = TTSRequest(text="Hello from two engines.", engine=engine)
        result = both.engine(request, {}, folder, lambda _f: None)
        assert result.engine.startswith(expected), (engine, result.engine)
        assert result.files["audio"].is_file() and result.words
    cfg.cache.unload_all()


def test_the_server_builds_the_real_set_from_its_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKYIE_MODELS_DIR", str(tmp_path / "weights"))
    settings = GpuServerSettings(workdir=tmp_path / "gpu", engines="gpu,lite", vram_gb=40)
    app = create_app(settings)
    try:
        registry = app.state.gpu.registry
        assert registry.config.models_dir == tmp_path / "weights"
        assert registry.config.cache is app.state.gpu.cache
        assert app.state.gpu.cache.budget_gb == 40
        assert registry.health()["t2v"].available  # the lite engine, behind the missing Wan
    finally:
        app.state.gpu.tasks.shutdown()
