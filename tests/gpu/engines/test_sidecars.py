"""Sidecar engines across a real process boundary: Fish Speech and LivePortrait driven through
the JSON-lines protocol against fake workers (tests/gpu/engines/fake_workers) that speak it
exactly but synthesize their output with numpy and ffmpeg."""

from __future__ import annotations

import importlib
import itertools
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gpu.engines import fish_speech, liveportrait
from gpu.engines.base import EngineConfig, EngineError
from gpu.engines.cache import ModelCache, ModelSpec
from gpu.engines.fish_speech import FishSpeechEngine, estimate_word_timings
from gpu.engines.liveportrait import LivePortraitEngine, driving_curves
from gpu.engines.media import write_wav
from gpu.engines.sidecar import Sidecar
from gpu.schemas import InferKind, LipsyncRequest, TTSRequest
from tests.gpu.conftest import probe_streams, read_wav, video_frames

from .fake_workers.fake_fish_speech import word_plan

FAKES = Path(__file__).parent / "fake_workers"
FAKE_FISH = FAKES / "fake_fish_speech.py"
FAKE_LIVEPORTRAIT = FAKES / "fake_liveportrait.py"
PYTHON = Path(sys.executable)
TEXT = "Hello there, bright world. This is Skyie speaking today!"


def make_config(tmp_path: Path, **overrides: object) -> EngineConfig:
    models = tmp_path / "models"
    models.mkdir(exist_ok=True)
    fields: dict[str, object] = {
        "models_dir": models,
        "cache": ModelCache(24),
        "device": "cpu",
        "dtype": "float32",
        "fish_speech_python": PYTHON,
    }
    fields.update(overrides)
    return EngineConfig(**fields)  # type: ignore[arg-type]


def fish_engine(config: EngineConfig, **kwargs: object) -> FishSpeechEngine:
    checkpoint = config.models_dir / "fish-speech-1.5"
    checkpoint.mkdir(exist_ok=True)
    return FishSpeechEngine(config, checkpoint, python=PYTHON, worker=FAKE_FISH, **kwargs)  # type: ignore[arg-type]


def worker(engine: FishSpeechEngine | LivePortraitEngine) -> Sidecar:
    with engine.config.cache.use(engine.spec) as sidecar:
        assert isinstance(sidecar, Sidecar)
        return sidecar


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def worker_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "requests.jsonl"
    monkeypatch.setenv("FAKE_WORKER_LOG", str(log))
    return log


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FishSpeechEngine]:
    """One Fish Speech engine (and worker process) reused by the round-trip tests."""
    config = make_config(tmp_path_factory.mktemp("fish"))
    (config.models_dir / "fish-speech-1.5").mkdir()
    slot = fish_speech.slots(config, worker=FAKE_FISH)[InferKind.tts]
    assert isinstance(slot.engine, FishSpeechEngine)
    yield slot.engine
    config.cache.unload_all()


# ---------------------------------------------------------------- Fish Speech


def test_tts_round_trip_with_word_timings(shared: FishSpeechEngine, tmp_path: Path) -> None:
    progress: list[float] = []
    out = shared(TTSRequest(text=f"  {TEXT} "), {}, tmp_path, progress.append)

    assert out.engine == "fish-speech"
    samples, rate = read_wav(out.files["audio"])
    truth = word_plan(TEXT)
    assert rate == 44_100
    assert out.duration_s == pytest.approx(samples.shape[0] / rate)
    assert out.duration_s == pytest.approx(truth[-1][2] + 0.45, abs=0.02)

    assert [w.word for w in out.words] == TEXT.split()
    for before, after in itertools.pairwise(out.words):
        assert before.start < before.end <= after.start
    # Leading and trailing silence excluded; each word's estimate overlaps its real burst,
    # and the sentence pause lines the second sentence up with its real start.
    assert out.words[0].start == pytest.approx(truth[0][1], abs=0.02)
    assert out.words[-1].end == pytest.approx(truth[-1][2], abs=0.02)
    for estimate, (_, start, end) in zip(out.words, truth, strict=True):
        middle = (estimate.start + estimate.end) / 2
        assert start - 0.1 < middle < end + 0.1
    this = TEXT.split().index("This")
    assert out.words[this].start == pytest.approx(truth[this][1], abs=0.03)

    assert progress[-1] == 1.0 and progress == sorted(progress)
    assert any(0.05 < p < 0.85 for p in progress)  # the worker's own progress lines came through
    assert shared.config.cache.loaded() == ["fish-speech-1.5"]


def test_speaking_rate_is_applied(shared: FishSpeechEngine, tmp_path: Path) -> None:
    normal = shared(TTSRequest(text=TEXT), {}, tmp_path, lambda _: None)
    (tmp_path / "fast").mkdir()
    fast = shared(TTSRequest(text=TEXT, speed_wpm=320), {}, tmp_path / "fast", lambda _: None)
    assert normal.duration_s is not None and fast.duration_s is not None
    assert fast.duration_s < 0.75 * normal.duration_s
    assert fast.words[-1].end <= fast.duration_s


def test_reference_sample_is_passed_to_the_worker(tmp_path: Path, worker_log: Path) -> None:
    engine = fish_engine(make_config(tmp_path))
    reference = tmp_path / "voice.wav"
    t = np.arange(int(2.5 * 22_050)) / 22_050
    write_wav(reference, 0.3 * np.sin(2 * np.pi * 200 * t), 22_050)
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    engine(
        TTSRequest(text="Clone me.", language="en-US", reference_file_id="f_1"),
        {"reference_file_id": reference},
        out_dir,
        lambda _: None,
    )
    engine(TTSRequest(text="Plain voice.", voice="narrator"), {}, out_dir, lambda _: None)
    first, second = (json.loads(line) for line in worker_log.read_text().splitlines())

    assert first["op"] == "tts" and first["text"] == "Clone me."
    assert first["reference_audio"] and first["reference_text"] == ""
    assert first["reference_seconds"] == pytest.approx(2.5, abs=0.01)  # converted, whole
    assert first["language"] == "en-us" and first["normalize"] is False
    assert second["reference_audio"] is None
    assert isinstance(second["seed"], int) and second["seed"] != first["seed"]
    assert not Path(first["reference_audio"]).exists()  # temporary files are cleaned up

    too_short = tmp_path / "short.wav"
    write_wav(too_short, np.zeros(4000), 16_000)
    with pytest.raises(EngineError, match="needs at least 1 s"):
        engine(TTSRequest(text="x y"), {"reference_file_id": too_short}, out_dir, lambda _: None)
    engine.config.cache.unload_all()


def test_crashed_worker_reports_stderr_and_restarts(tmp_path: Path) -> None:
    engine = fish_engine(make_config(tmp_path))
    with pytest.raises(EngineError) as caught:
        engine(TTSRequest(text="please CRASH now"), {}, tmp_path, lambda _: None)
    message = str(caught.value)
    assert "stopped unexpectedly during 'tts'" in message and "exit status 3" in message
    assert "illegal memory access" in message  # the tail of the worker's stderr

    out = engine(TTSRequest(text="Back again."), {}, tmp_path, lambda _: None)
    assert [w.word for w in out.words] == ["Back", "again."]
    sidecar = worker(engine)
    assert sidecar.starts == 2 and sidecar.running
    # A library's print() went to stderr, never into the protocol stream.
    assert "this print must not reach the protocol stream" in sidecar.stderr_tail()
    assert "[stdout]" not in sidecar.stderr_tail()
    engine.config.cache.unload_all()


def test_hung_worker_times_out_and_is_killed(tmp_path: Path) -> None:
    engine = fish_engine(make_config(tmp_path), timeout_s=1.0)
    sidecar = worker(engine)
    pid = sidecar.pid
    assert pid is not None
    with pytest.raises(EngineError, match=r"did not finish 'tts' within 1 s and was stopped"):
        engine(TTSRequest(text="HANG forever"), {}, tmp_path, lambda _: None)
    assert process_gone(pid) and not sidecar.running
    engine(TTSRequest(text="Recovered."), {}, tmp_path, lambda _: None)
    assert sidecar.running and sidecar.pid != pid
    engine.config.cache.unload_all()


def test_out_of_memory_unloads_other_models(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    engine = fish_engine(config)
    unloaded: list[str] = []
    other = ModelSpec("other-model", 4.0, load=lambda: "weights", unload=unloaded.append)
    with config.cache.use(other):
        pass
    engine(TTSRequest(text="Warm up."), {}, tmp_path, lambda _: None)
    pid = worker(engine).pid
    assert pid is not None and config.cache.loaded() == ["other-model", "fish-speech-1.5"]
    with pytest.raises(EngineError, match="ran out of GPU memory; other models were unloaded"):
        engine(TTSRequest(text="OOM please"), {}, tmp_path, lambda _: None)
    # Everything is unloaded, the worker too: its memory may be fragmented after the error.
    assert unloaded == ["weights"] and config.cache.loaded() == []
    assert process_gone(pid)
    engine(TTSRequest(text="Fine now."), {}, tmp_path, lambda _: None)
    config.cache.unload_all()


def test_worker_is_a_model_of_the_cache(tmp_path: Path) -> None:
    clock = [0.0]
    config = make_config(tmp_path, cache=ModelCache(24, idle_unload_s=60, clock=lambda: clock[0]))
    engine = fish_engine(config)
    assert config.cache.loaded() == []
    engine(TTSRequest(text="Load me."), {}, tmp_path, lambda _: None)
    sidecar = worker(engine)
    pid = sidecar.pid
    assert pid is not None and config.cache.loaded() == ["fish-speech-1.5"]

    clock[0] += 61
    assert config.cache.sweep() == ["fish-speech-1.5"]  # idle unload stops the process
    assert process_gone(pid) and config.cache.loaded() == []

    engine(TTSRequest(text="And again."), {}, tmp_path, lambda _: None)
    pid = worker(engine).pid
    assert pid is not None
    assert config.cache.unload_all() == ["fish-speech-1.5"]
    assert process_gone(pid)


def test_load_failure_is_reported_and_not_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_FAIL_LOAD", "1")
    engine = fish_engine(make_config(tmp_path))
    with pytest.raises(
        EngineError, match="could not load its model: RuntimeError: fake: the checkpoint is corrupt"
    ):
        engine(TTSRequest(text="hello"), {}, tmp_path, lambda _: None)
    assert engine.config.cache.loaded() == []


def test_fish_speech_slots(tmp_path: Path) -> None:
    def note(**overrides: object) -> str:
        slot = fish_speech.slots(make_config(tmp_path, **overrides))[InferKind.tts]
        assert slot.engine is None
        return slot.note

    assert "SKYIE_FISH_SPEECH_PYTHON" in note(fish_speech_python=None)
    assert "not found" in note(fish_speech_python=tmp_path / "nope" / "python")
    models = tmp_path / "models"
    assert str(models / "fish-speech-1.5") in note() and "openaudio-s1-mini" in note()

    (models / "openaudio-s1-mini").mkdir()
    slot = fish_speech.slots(make_config(tmp_path))[InferKind.tts]
    assert isinstance(slot.engine, FishSpeechEngine)
    assert slot.engine.checkpoint.name == "openaudio-s1-mini"
    assert slot.variants == ("fish-speech",) and slot.model == "openaudio-s1-mini"
    assert slot.is_loaded is not None and slot.is_loaded() is False


def test_estimated_timings_without_matching_pauses() -> None:
    rate = 16_000
    samples = np.zeros(rate * 2, dtype=np.float32)
    samples[int(0.5 * rate) : int(1.5 * rate)] = 0.4  # one stretch of "speech"
    words = ["one,", "two", "three.", "four"]
    timings = estimate_word_timings(words, samples, rate)
    assert timings[0].start == pytest.approx(0.5, abs=0.011)
    assert timings[-1].end == pytest.approx(1.5, abs=0.011)
    assert all(a.end <= b.start for a, b in itertools.pairwise(timings))
    assert timings[2].end - timings[2].start > timings[1].end - timings[1].start  # longer word


def test_estimated_timings_match_pauses_to_the_right_breaks() -> None:
    rate = 16_000
    samples = np.zeros(int(4.3 * rate), dtype=np.float32)
    for start, end in [(0.5, 1.5), (1.9, 2.9), (3.15, 3.9)]:  # a phrase end, later a breath
        samples[int(start * rate) : int(end * rate)] = 0.4
    words = ["one", "two,", "three", "four.", "five", "six", "seven", "eight", "nine", "ten"]
    timings = {t.word: t for t in estimate_word_timings(words, samples, rate)}
    assert timings["four."].end == pytest.approx(1.5, abs=0.011)  # the pause after "four."
    assert timings["five"].start == pytest.approx(1.9, abs=0.011)
    assert timings["ten"].end == pytest.approx(3.9, abs=0.011)
    assert timings["two,"].end < timings["three"].start < 1.5  # a comma without a pause
    assert timings["seven"].start < 2.9 < timings["nine"].start  # the breath splits nothing


# ---------------------------------------------------------------- LivePortrait


def liveportrait_layout(tmp_path: Path) -> EngineConfig:
    checkout = tmp_path / "LivePortrait"
    (checkout / "src").mkdir(parents=True)
    (checkout / liveportrait.CHECKOUT_MARKER).write_text("# the pipeline\n")
    for name in liveportrait.WEIGHT_FILES:
        path = tmp_path / "models" / "liveportrait" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"weights")
    return make_config(tmp_path, liveportrait_dir=checkout)


def speech(path: Path, seconds: float) -> None:
    rate = 16_000
    t = np.arange(int(seconds * rate)) / rate
    gate = (np.sin(2 * np.pi * 2.5 * t) > 0).astype(np.float32)  # syllables and pauses
    write_wav(path, 0.5 * np.sin(2 * np.pi * 180 * t) * gate, rate)


def portrait(path: Path, colour: tuple[int, int, int] | None = None) -> None:
    if colour is not None:
        Image.new("RGB", (200, 260), colour).save(path)
        return
    grad = np.linspace(0, 255, 200 * 260 * 3).reshape(260, 200, 3).astype(np.uint8)
    Image.fromarray(grad).save(path)


def test_lipsync_video_carries_the_speech(tmp_path: Path) -> None:
    config = liveportrait_layout(tmp_path)
    slots = liveportrait.slots(config, worker=FAKE_LIVEPORTRAIT, python=PYTHON)
    engine = slots[InferKind.lipsync].engine
    assert isinstance(engine, LivePortraitEngine) and slots[InferKind.s2v].engine is engine
    speech(tmp_path / "speech.wav", 1.3)
    portrait(tmp_path / "face.png")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    progress: list[float] = []
    request = LipsyncRequest(
        portrait_file_id="p", audio_file_id="a", fps=12, width=128, height=160, seed=3
    )
    inputs = {"portrait_file_id": tmp_path / "face.png", "audio_file_id": tmp_path / "speech.wav"}
    out = engine(request, inputs, out_dir, progress.append)

    video = out.files["video"]
    assert out.engine == "liveportrait" and video.suffix == ".mp4"
    assert (out.width, out.height) == (128, 160)
    assert out.duration_s == pytest.approx(1.3, abs=0.01)
    streams = probe_streams(video)
    assert re.search(r"Video: h264.*128x160", streams)
    assert "Audio: aac" in streams
    match = re.search(r"Duration: 00:00:(\d+\.\d+)", streams)
    assert match and float(match.group(1)) == pytest.approx(1.3, abs=0.1)
    frames, fps = video_frames(video)
    assert fps == pytest.approx(12)
    assert abs(len(frames) - 16) <= 1
    assert np.ptp([float(f.mean()) for f in frames]) > 0.5  # the mouth moves with the speech
    assert progress[-1] == 1.0 and progress == sorted(progress)
    assert config.cache.loaded() == ["liveportrait"]

    portrait(tmp_path / "blank.png", colour=(128, 128, 128))
    with pytest.raises(EngineError, match="no face was found in the portrait"):
        engine(request, {**inputs, "portrait_file_id": tmp_path / "blank.png"}, out_dir, print)
    assert worker(engine).starts == 1
    config.cache.unload_all()


def test_driving_curves_follow_the_speech() -> None:
    rate, fps = 16_000, 25
    t = np.arange(2 * rate) / rate
    samples = (0.5 * np.sin(2 * np.pi * 150 * t) * (t > 1.0)).astype(np.float32)
    curves = driving_curves(samples, rate, fps, 50, seed=11)
    assert set(curves) == {"mouth", "blink", "pitch", "yaw", "roll"}
    assert all(len(values) == 50 for values in curves.values())
    mouth = np.array(curves["mouth"])
    assert mouth[:20].max() < 0.05 and mouth[30:].mean() > 0.5  # silent, then talking
    assert all(abs(curves[axis][0]) < 1e-6 for axis in ("pitch", "yaw", "roll"))
    assert max(abs(v) for v in curves["yaw"]) <= 2.6
    assert curves == driving_curves(samples, rate, fps, 50, seed=11)
    assert curves["yaw"] != driving_curves(samples, rate, fps, 50, seed=12)["yaw"]
    short = driving_curves(samples[:1600], rate, 30, 3, seed=0)  # fewer frames than the window
    assert all(len(values) == 3 for values in short.values())


def test_liveportrait_slots(tmp_path: Path) -> None:
    def notes(config: EngineConfig) -> set[str]:
        found = liveportrait.slots(config)
        assert found[InferKind.lipsync].engine is None and found[InferKind.s2v].engine is None
        return {found[InferKind.lipsync].note, found[InferKind.s2v].note}

    (reason,) = notes(make_config(tmp_path))
    assert "SKYIE_LIVEPORTRAIT_DIR" in reason
    (reason,) = notes(make_config(tmp_path, liveportrait_dir=tmp_path / "missing"))
    assert "checkout not found" in reason
    config = liveportrait_layout(tmp_path)
    (tmp_path / "models/liveportrait/liveportrait/landmark.onnx").unlink()
    (reason,) = notes(config)
    assert "missing liveportrait/landmark.onnx" in reason


def test_worker_scripts_import_without_their_packages() -> None:
    for name in ("gpu.sidecars.fish_speech_worker", "gpu.sidecars.liveportrait_worker"):
        module = importlib.import_module(name)
        assert callable(module.main)
    assert "fish_speech" not in sys.modules and "src" not in sys.modules


def test_real_worker_scripts_speak_the_protocol(tmp_path: Path) -> None:
    """The production workers start as scripts and report a failed load through the protocol
    (here: no vocoder in the checkpoint; no LivePortrait package behind the checkout)."""
    config = make_config(tmp_path)
    checkpoint = config.models_dir / "fish-speech-1.5"
    checkpoint.mkdir()
    fish = FishSpeechEngine(config, checkpoint, python=PYTHON, start_timeout_s=60)
    with pytest.raises(
        EngineError, match="could not load its model: FileNotFoundError: no vocoder"
    ):
        fish(TTSRequest(text="hi"), {}, tmp_path, lambda _: None)

    config = liveportrait_layout(tmp_path)
    engine = liveportrait.slots(config, python=PYTHON)[InferKind.lipsync].engine
    assert isinstance(engine, LivePortraitEngine)
    speech(tmp_path / "speech.wav", 0.3)
    portrait(tmp_path / "face.png")
    request = LipsyncRequest(portrait_file_id="p", audio_file_id="a", width=64, height=64)
    inputs = {"portrait_file_id": tmp_path / "face.png", "audio_file_id": tmp_path / "speech.wav"}
    with pytest.raises(EngineError, match=r"could not load its model: ModuleNotFoundError.*src"):
        engine(request, inputs, tmp_path, lambda _: None)
    assert config.cache.loaded() == []
