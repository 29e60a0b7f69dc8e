"""Fish Speech text-to-speech with zero-shot voice cloning, run in Fish Speech's own virtualenv.

Fish Speech pins its own torch and hydra stack, so it runs as a sidecar worker
(gpu/sidecars/fish_speech_worker.py) under `config.fish_speech_python`; the running worker is
the model the ModelCache loads and unloads. Weights live in `SKYIE_MODELS_DIR/fish-speech-1.5`
(or `openaudio-s1-mini`, its successor), laid out as the Hugging Face repository ships them.

Voices: with a reference sample (`reference_file_id`) the voice is cloned from it zero-shot;
without one Fish Speech picks a speaker at random, so each voice name maps to a fixed sampling
seed and a name always gives the same speaker. Fish Speech has no rate control: a
`speed_wpm` other than the default is met by time-stretching the result (pitch kept).

Fish Speech reports no word timings. They are estimated here from the waveform: words are laid
over the voiced span in proportion to their length, with pauses at punctuation, and aligned
to the silent gaps the model leaves between sentences. They are good enough to cut captions;
a Whisper `caption` pass over the audio refines them to the spoken words where that matters.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from gpu.engines.base import EngineConfig, EngineError, EngineOutput, ProgressFn, stable_seed
from gpu.engines.cache import ModelSpec
from gpu.engines.lite.pitch import frame_rms
from gpu.engines.media import decode_audio, ffmpeg_exe, write_wav
from gpu.engines.registry import Slot
from gpu.engines.sidecar import Sidecar, ask_worker, sidecar_spec, worker_env
from gpu.schemas import InferKind, TTSRequest, WordTiming

ENGINE = "fish-speech"
VARIANT = "fish-speech"
MODEL_DIRS = ("fish-speech-1.5", "openaudio-s1-mini")  # preferred first
WORKER = Path(__file__).resolve().parents[1] / "sidecars" / "fish_speech_worker.py"
VRAM_GB = 6.0  # the 0.5B text-to-semantic model, its KV cache and the vocoder, with headroom
RATE = 44_100  # Fish Speech's vocoders speak at 44.1 kHz
MAX_REFERENCE_S = 30.0  # longer samples only lengthen the prompt; 10-30 s clone best
MIN_REFERENCE_S = 1.0
DEFAULT_WPM = int(TTSRequest.model_fields["speed_wpm"].default)

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
_SENTENCE_END = re.compile(r"[.!?…。！？]['\")\]]*$")
_CLAUSE_END = re.compile(r"[,;:–—，、；：]['\")\]]*$")
_HOP_S = 0.01
_MIN_GAP_S = 0.2  # a silence this long inside speech is a pause between phrases


def find_checkpoint(models_dir: Path) -> Path | None:
    """The first Fish Speech weights folder present under `models_dir`."""
    for name in MODEL_DIRS:
        if (models_dir / name).is_dir():
            return models_dir / name
    return None


def slots(config: EngineConfig, *, worker: Path = WORKER) -> dict[InferKind, Slot]:
    """The `tts` slot (variant "fish-speech"), or why Fish Speech is unavailable here."""
    python = config.fish_speech_python
    if python is None:
        return {
            InferKind.tts: Slot(
                None, "Fish Speech: set SKYIE_FISH_SPEECH_PYTHON to its virtualenv's python"
            )
        }
    if not python.is_file():
        return {
            InferKind.tts: Slot(
                None, f"Fish Speech: interpreter {python} (SKYIE_FISH_SPEECH_PYTHON) not found"
            )
        }
    checkpoint = find_checkpoint(config.models_dir)
    if checkpoint is None:
        wanted = " or ".join(str(config.models_dir / name) for name in MODEL_DIRS)
        return {InferKind.tts: Slot(None, f"Fish Speech weights not found at {wanted}")}
    engine = FishSpeechEngine(config, checkpoint, python=python, worker=worker)
    return {
        InferKind.tts: Slot(
            engine,
            f"Fish Speech ({checkpoint.name}): zero-shot voice cloning from a reference "
            "sample; word timings estimated from the waveform",
            model=engine.spec.name,
            is_loaded=lambda: config.cache.is_loaded(engine.spec.name),
            variants=(VARIANT,),
        )
    }


class FishSpeechEngine:
    """The `tts` engine: one request to the Fish Speech worker per call."""

    def __init__(
        self,
        config: EngineConfig,
        checkpoint: Path,
        *,
        python: Path,
        worker: Path = WORKER,
        timeout_s: float | None = None,
        start_timeout_s: float = 600.0,
    ) -> None:
        self.config = config
        self.checkpoint = checkpoint
        self.timeout_s = timeout_s
        argv = [str(python), str(worker), "--checkpoint", str(checkpoint)]
        argv += ["--device", config.device, "--precision", config.dtype]

        def start() -> Sidecar:
            return Sidecar(
                f"fish-speech ({checkpoint.name})",
                argv,
                env=worker_env(),
                start_timeout_s=start_timeout_s,
            )

        self.spec: ModelSpec = sidecar_spec(checkpoint.name, VRAM_GB, start)

    def __call__(
        self,
        request: BaseModel,
        inputs: Mapping[str, Path],
        out_dir: Path,
        progress: ProgressFn,
    ) -> EngineOutput:
        assert isinstance(request, TTSRequest)
        text = " ".join(request.text.split())
        words = text.split(" ") if text else []
        if not any(re.search(r"\w", word) for word in words):
            raise EngineError("the text has nothing speakable (no words found)")
        language = request.language.strip().lower().replace("_", "-")
        if language != "auto" and not _LANGUAGE.match(language):
            raise EngineError(
                f"language '{request.language}' is not a language code like 'en' or 'en-us'"
            )
        # Without a reference Fish Speech samples a speaker; a fixed seed per voice name keeps
        # that speaker the same across requests (and clips of one video).
        seed = stable_seed(ENGINE, request.voice) % 2**31
        progress(0.02)
        with tempfile.TemporaryDirectory(prefix="skyie-fish-") as tmp:
            reference = self._reference(inputs.get("reference_file_id"), Path(tmp))
            payload = {
                "text": text,
                "reference_audio": str(reference) if reference else None,
                "reference_text": "",  # unknown: Fish Speech then clones from the audio alone
                "language": language,
                "normalize": language.split("-")[0] == "zh",  # its normaliser is for Chinese
                "seed": seed,
                "out": str(Path(tmp) / "generated.wav"),
            }
            timeout = self.timeout_s or 120.0 + 0.3 * len(text)
            result = ask_worker(
                self.config.cache,
                self.spec,
                "Fish Speech",
                "tts",
                payload,
                timeout_s=timeout,
                progress=lambda f: progress(0.05 + 0.8 * f),
            )
            generated = Path(str(result.get("audio") or ""))
            if not generated.is_file():
                raise EngineError("Fish Speech reported success but wrote no audio file")
            samples = decode_audio(generated, RATE, what="Fish Speech output")
        progress(0.9)
        if request.speed_wpm != DEFAULT_WPM:
            samples = match_speaking_rate(samples, RATE, len(words), request.speed_wpm)
        timings = estimate_word_timings(words, samples, RATE)
        path = out_dir / "speech.wav"
        write_wav(path, samples, RATE)
        progress(1.0)
        return EngineOutput(
            files={"audio": path}, engine=ENGINE, duration_s=samples.size / RATE, words=timings
        )

    @staticmethod
    def _reference(path: Path | None, tmp: Path) -> Path | None:
        """The voice sample as a mono 44.1 kHz WAV the worker can read, whatever it came as."""
        if path is None:
            return None
        samples = decode_audio(path, RATE, what="reference voice sample (reference_file_id)")
        if samples.size < MIN_REFERENCE_S * RATE:
            raise EngineError(
                f"reference voice sample is {samples.size / RATE:.1f} s long; Fish Speech "
                f"needs at least {MIN_REFERENCE_S:g} s of speech (10-30 s clone best)"
            )
        out = tmp / "reference.wav"
        write_wav(out, samples[: int(MAX_REFERENCE_S * RATE)], RATE)
        return out


@dataclass(frozen=True)
class _Span:
    start: float
    end: float


def _voiced(samples: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    hop = max(1, int(rate * _HOP_S))
    rms = frame_rms(np.ascontiguousarray(samples, dtype=np.float32), hop, hop)
    threshold = max(float(rms.max()) * 0.03, 1e-4)
    return rms > threshold, hop


def _speech_spans(samples: np.ndarray, rate: int) -> list[_Span]:
    """Stretches of speech separated by silences of at least _MIN_GAP_S, leading and trailing
    silence excluded. The whole clip when nothing is loud enough to tell."""
    duration = samples.size / rate
    voiced, hop = _voiced(samples, rate)
    loud = np.flatnonzero(voiced)
    if loud.size == 0:
        return [_Span(0.0, duration)]
    spans: list[_Span] = []
    start = prev = int(loud[0])
    min_gap = max(1, round(_MIN_GAP_S / _HOP_S))
    for frame in loud[1:]:
        if frame - prev > min_gap:
            spans.append(_Span(start * hop / rate, (prev + 1) * hop / rate))
            start = int(frame)
        prev = int(frame)
    spans.append(_Span(start * hop / rate, min((prev + 1) * hop / rate, duration)))
    return spans


def _weights(word: str, last: bool) -> tuple[float, float]:
    """(speaking time, pause after) of a word in arbitrary units: one per letter plus one, and
    a pause that punctuation lengthens."""
    spoken = len(re.sub(r"\W", "", word)) + 1.0
    if last:
        return spoken, 0.0
    if _SENTENCE_END.search(word):
        return spoken, 4.0
    if _CLAUSE_END.search(word):
        return spoken, 2.0
    return spoken, 0.4


def _lay_out(words: list[str], span: _Span) -> list[WordTiming]:
    weights = [_weights(word, n == len(words) - 1) for n, word in enumerate(words)]
    total = sum(spoken + pause for spoken, pause in weights) or 1.0
    scale = (span.end - span.start) / total
    out: list[WordTiming] = []
    t = span.start
    for word, (spoken, pause) in zip(words, weights, strict=True):
        end = t + spoken * scale
        out.append(WordTiming(word=word, start=round(t, 3), end=round(end, 3)))
        t = end + pause * scale
    return out


def _align(gaps: list[float], breaks: list[float], skip_gap_s: float) -> list[tuple[int, int]]:
    """Pairs (gap, break), increasing in both, matching audible pauses to punctuated breaks at
    the least cost: the distance in time for a pair, nothing for a break without a pause
    (commas often have none), `skip_gap_s` for a pause without a break (a breath)."""
    inf = float("inf")
    cost = [[0.0] * (len(breaks) + 1)] + [[inf] * (len(breaks) + 1) for _ in gaps]
    for i in range(1, len(gaps) + 1):
        cost[i][0] = i * skip_gap_s
        for j in range(1, len(breaks) + 1):
            cost[i][j] = min(
                cost[i][j - 1],
                cost[i - 1][j] + skip_gap_s,
                cost[i - 1][j - 1] + abs(gaps[i - 1] - breaks[j - 1]),
            )
    pairs: list[tuple[int, int]] = []
    i, j = len(gaps), len(breaks)
    while i > 0 and j > 0:
        if cost[i][j] == cost[i][j - 1]:
            j -= 1
        elif cost[i][j] == cost[i - 1][j] + skip_gap_s:
            i -= 1
        else:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
    return pairs[::-1]


def estimate_word_timings(words: list[str], samples: np.ndarray, rate: int) -> list[WordTiming]:
    """A start and end per word, monotone, inside the voiced part of the speech.

    Words are first laid over the whole voiced span. The model's audible pauses are then
    matched in order to the punctuated breaks of the text nearest them, and each phrase
    between matched pauses is laid over its own stretch of speech: errors no longer add up
    over a long text.
    """
    if not words:
        return []
    spans = _speech_spans(samples, rate)
    whole = _Span(spans[0].start, spans[-1].end)
    rough = _lay_out(words, whole)
    breaks = [
        n
        for n, word in enumerate(words[:-1])
        if _SENTENCE_END.search(word) or _CLAUSE_END.search(word)
    ]
    gaps = [(a.end + b.start) / 2 for a, b in itertools.pairwise(spans)]
    if not breaks or not gaps:
        return rough
    predicted = [(rough[n].end + rough[n + 1].start) / 2 for n in breaks]
    # A pause further than this from any break is taken for a breath, not a phrase end.
    tolerance = max(0.5, 0.15 * (whole.end - whole.start))
    cuts = [(g, breaks[b]) for g, b in _align(gaps, predicted, tolerance)]
    timings: list[WordTiming] = []
    first_word, start = 0, whole.start
    for gap, last_word in [*cuts, (len(spans) - 1, len(words) - 1)]:
        end = spans[gap].end
        timings += _lay_out(words[first_word : last_word + 1], _Span(start, end))
        first_word = last_word + 1
        if gap + 1 < len(spans):
            start = spans[gap + 1].start
    return timings


def match_speaking_rate(
    samples: np.ndarray, rate: int, word_count: int, target_wpm: int
) -> np.ndarray:
    """The speech time-stretched (pitch kept, ffmpeg atempo) toward `target_wpm`.

    Fish Speech has no rate control; its natural pace is measured over the voiced span. The
    stretch is limited to 0.5x-2x and skipped within 5 %, where it would only cost quality.
    """
    spans = _speech_spans(samples, rate)
    spoken_s = spans[-1].end - spans[0].start
    if spoken_s <= 0 or word_count == 0:
        return samples
    natural_wpm = word_count / (spoken_s / 60.0)
    factor = min(max(target_wpm / natural_wpm, 0.5), 2.0)
    if abs(factor - 1.0) < 0.05:
        return samples
    cmd = [ffmpeg_exe(), "-nostdin", "-v", "error", "-f", "f32le", "-ar", str(rate), "-ac", "1"]
    cmd += ["-i", "-", "-filter:a", f"atempo={factor:.4f}", "-f", "f32le", "-"]
    proc = subprocess.run(
        cmd, input=samples.astype("<f4").tobytes(), capture_output=True, check=False
    )
    if proc.returncode != 0 or not proc.stdout:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:]
        raise EngineError(f"could not change the speaking rate: {' '.join(detail)}")
    return np.frombuffer(proc.stdout, dtype="<f4").astype(np.float32)
