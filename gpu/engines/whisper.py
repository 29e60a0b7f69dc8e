"""Whisper engine: speech-to-text with per-word timings for captions, on faster-whisper.

faster-whisper runs CTranslate2 models. A ready folder `faster-whisper-<name>` (model.bin,
tokenizer.json, preprocessor_config.json) is used as it is; a plain transformers checkpoint
`whisper-<name>` (as published on the hub) is converted once, on first use, into
`faster-whisper-<name>` beside it. The conversion writes into a hidden temporary folder that is
renamed into place only when complete, so a crash never leaves a half-written model that a later
start would trust.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import shutil
import threading
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from gpu.engines.base import (
    EngineConfig,
    EngineError,
    EngineOutput,
    ProgressFn,
    is_out_of_memory,
    require_input,
)
from gpu.engines.cache import ModelSpec
from gpu.engines.media import decode_audio
from gpu.engines.registry import Slot
from gpu.schemas import CaptionRequest, InferKind, WordTiming

log = logging.getLogger("skyie.gpu.whisper")

PREFERRED = "large-v3"
CT2_PREFIX = "faster-whisper-"
HF_PREFIX = "whisper-"
RATE = 16000  # every Whisper model hears 16 kHz mono
# VRAM in float16 with beam search, by the size named in the folder ("turbo" before "large":
# large-v3-turbo is the smaller one); unknown sizes are assumed as large as large-v3.
DEFAULT_VRAM_GB = 4.5
_VRAM_GB = (
    ("turbo", 2.5),
    ("large", 4.5),
    ("medium", 2.5),
    ("small", 1.2),
    ("base", 0.8),
    ("tiny", 0.5),
)
_ASSETS = ("tokenizer.json", "preprocessor_config.json")  # what faster-whisper reads besides
_LANGUAGE = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]{2,8})*$")
_convert_lock = threading.Lock()  # one conversion at a time per process


@dataclass(frozen=True)
class WhisperModelFolder:
    """The CTranslate2 folder to load, and the transformers checkpoint that makes it if absent."""

    target: Path
    source: Path | None

    @property
    def ready(self) -> bool:
        return (self.target / "model.bin").is_file()

    @property
    def name(self) -> str:
        return self.target.name


def find_model(models_dir: Path) -> WhisperModelFolder | None:
    """The Whisper model to serve: large-v3 when present in either form, else the first other.

    A converted folder beats its checkpoint; the checkpoint is kept as the conversion source.
    """
    if not models_dir.is_dir():
        return None
    sizes: set[str] = set()
    for entry in models_dir.iterdir():
        if entry.name.startswith(CT2_PREFIX) and (entry / "model.bin").is_file():
            sizes.add(entry.name.removeprefix(CT2_PREFIX))
        elif entry.name.startswith(HF_PREFIX) and (entry / "config.json").is_file():
            sizes.add(entry.name.removeprefix(HF_PREFIX))
    if not sizes:
        return None
    size = PREFERRED if PREFERRED in sizes else sorted(sizes)[0]
    source = models_dir / f"{HF_PREFIX}{size}"
    return WhisperModelFolder(
        models_dir / f"{CT2_PREFIX}{size}",
        source if (source / "config.json").is_file() else None,
    )


def slots(config: EngineConfig) -> dict[InferKind, Slot]:
    """The caption slot: faster-whisper when a model folder is present, else why not."""
    if importlib.util.find_spec("faster_whisper") is None:
        return {InferKind.caption: Slot(None, "Whisper needs the faster-whisper package")}
    folder = find_model(config.models_dir)
    if folder is None:
        where = config.models_dir
        return {
            InferKind.caption: Slot(
                None,
                f"Whisper weights not found: no {where / (CT2_PREFIX + PREFERRED)} (CTranslate2) "
                f"or {where / (HF_PREFIX + PREFERRED)} (transformers) folder",
            )
        }
    engine = WhisperEngine(config, folder)
    note = f"faster-whisper {folder.name} ({engine.compute_type} on {config.device}), word timings"
    if not folder.ready:
        note += f"; converted once from {folder.source} to CTranslate2 on first use"
    return {
        InferKind.caption: Slot(
            engine, note, folder.name, lambda: config.cache.is_loaded(folder.name)
        )
    }


class WhisperEngine:
    """The `caption` engine for one Whisper model folder."""

    def __init__(self, config: EngineConfig, folder: WhisperModelFolder) -> None:
        self.config = config
        self.folder = folder
        self.device, _, index = config.device.partition(":")
        self.device_index = int(index) if index else 0
        if self.device == "cuda":
            self.compute_type = "float16"
        else:  # int8 is CTranslate2's fast CPU path; tests ask for exact float32
            self.compute_type = "float32" if config.dtype == "float32" else "int8"
        vram = next((gb for key, gb in _VRAM_GB if key in folder.name), DEFAULT_VRAM_GB)
        self.spec = ModelSpec(folder.name, vram, load=self._load)

    def __call__(
        self,
        request: BaseModel,
        inputs: Mapping[str, Path],
        out_dir: Path,
        progress: ProgressFn,
    ) -> EngineOutput:
        """Engine entry point for `caption`: writes `transcript.json`, returns word timings."""
        assert isinstance(request, CaptionRequest)
        path = require_input(inputs, "audio_file_id")
        language = _language_code(request.language)
        # Decoded before the model is loaded, so a bad upload costs no GPU time.
        samples = decode_audio(path, RATE, what=f"audio file '{request.audio_file_id}'")
        duration = samples.size / RATE
        progress(0.02)
        try:
            with self.config.cache.use(self.spec) as model:
                progress(0.05)
                transcript = self._transcribe(model, samples, duration, language, progress)
        except EngineError:
            raise
        except RuntimeError as exc:
            if is_out_of_memory(exc):
                self.config.cache.unload_all()
                raise EngineError(
                    f"Whisper ({self.folder.name}) ran out of GPU memory on "
                    f"{duration:.1f} s of audio; try again when the GPU is less busy"
                ) from exc
            raise
        out = out_dir / "transcript.json"
        out.write_text(json.dumps(transcript, ensure_ascii=False, indent=1), encoding="utf-8")
        progress(1.0)
        words = [WordTiming(**w) for s in transcript["segments"] for w in s["words"]]
        return EngineOutput(
            files={"transcript": out}, engine=self.folder.name, duration_s=duration, words=words
        )

    def _load(self) -> Any:
        from faster_whisper import WhisperModel

        if not self.folder.ready:
            if self.folder.source is None:
                raise EngineError(f"Whisper model folder {self.folder.target} has no model.bin")
            convert_checkpoint(self.folder.source, self.folder.target)
        return WhisperModel(
            str(self.folder.target),
            device=self.device,
            device_index=self.device_index,
            compute_type=self.compute_type,
        )

    def _transcribe(
        self,
        model: Any,
        samples: np.ndarray,
        duration: float,
        language: str | None,
        progress: ProgressFn,
    ) -> dict[str, Any]:
        """Run Whisper and gather segments with cleaned, clamped word timings."""
        if language is not None and language not in model.supported_languages:
            if not model.model.is_multilingual:
                raise EngineError(
                    f"the Whisper model {self.folder.name} is English-only; it cannot "
                    f"transcribe language '{language}'"
                )
            raise EngineError(f"Whisper does not know the language code '{language}'")
        segments, info = model.transcribe(
            samples, language=language, word_timestamps=True, vad_filter=False
        )
        out: list[dict[str, Any]] = []
        heard = 0.0
        for segment in segments:  # a generator: the decoding happens as it is consumed
            start, end = _clamp(segment.start, segment.end, duration)
            words = []
            for word in segment.words or []:
                text = _clean(word.word)
                if text:
                    w_start, w_end = _clamp(word.start, word.end, duration)
                    words.append({"word": text, "start": w_start, "end": w_end})
            out.append({"start": start, "end": end, "text": _clean(segment.text), "words": words})
            if end > heard:  # progress only moves forward, whatever order times come in
                heard = end
                progress(0.05 + 0.9 * heard / duration)
        return {
            "engine": self.folder.name,
            "language": info.language,
            "language_probability": round(float(info.language_probability), 4),
            "duration_s": duration,
            "text": " ".join(s["text"] for s in out if s["text"]),
            "segments": out,
        }


def convert_checkpoint(source: Path, target: Path, quantization: str = "float16") -> None:
    """Convert a transformers Whisper checkpoint to a CTranslate2 folder at `target`, atomically.

    Weights are stored in float16 (half the disk; CTranslate2 converts to the compute type on
    load). The tokenizer and feature-extractor settings faster-whisper needs are copied, or
    written from the checkpoint when it keeps them in another form (processor_config.json).
    """
    from ctranslate2.converters import TransformersConverter

    with _convert_lock:
        if (target / "model.bin").is_file():
            return  # another request converted it while this one waited
        partial = target.parent / f".{target.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        log.info("whisper.converting source=%s target=%s", source, target)
        try:
            copy = [name for name in _ASSETS if (source / name).is_file()]
            converter = TransformersConverter(str(source), copy_files=copy, load_as_float16=True)
            converter.convert(str(partial), quantization=quantization)
            _complete_assets(source, partial)
            try:
                partial.rename(target)  # an empty leftover target folder is replaced too
            except OSError as exc:
                if not (target / "model.bin").is_file():  # else another process won the race
                    raise EngineError(
                        f"could not move the converted Whisper model to {target}: {exc}; "
                        "remove that folder and retry"
                    ) from exc
        except EngineError:
            raise
        except Exception as exc:  # the converter raises ValueError, OSError, KeyError…
            raise EngineError(f"converting {source} to CTranslate2 failed: {exc}") from exc
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        log.info("whisper.converted target=%s", target)


def _complete_assets(source: Path, folder: Path) -> None:
    """Write tokenizer.json / preprocessor_config.json when the checkpoint had other forms.

    Without them faster-whisper would fetch a tokenizer from the hub and assume 80 mel bins,
    which is wrong for large-v3 (128).
    """
    if not (folder / "tokenizer.json").is_file():
        from transformers import AutoTokenizer

        AutoTokenizer.from_pretrained(source).backend_tokenizer.save(str(folder / "tokenizer.json"))
    if not (folder / "preprocessor_config.json").is_file():
        from transformers import WhisperFeatureExtractor

        extractor = WhisperFeatureExtractor.from_pretrained(source)
        extractor.to_json_file(str(folder / "preprocessor_config.json"))


def _language_code(language: str | None) -> str | None:
    """Whisper's code for a request's language ('en-US' -> 'en'); None lets Whisper detect it."""
    if language is None or not language.strip() or language.strip().lower() == "auto":
        return None
    match = _LANGUAGE.match(language.strip().lower())
    if match is None:
        raise EngineError(f"language '{language}' is not a language code like 'en' or 'en-US'")
    return match.group(1)


def _clean(text: str) -> str:
    """Text without surrounding spaces, control characters or the replacement characters a
    token cut inside a multi-byte character decodes to; punctuation stays on its word."""
    kept = (ch for ch in text if ch != "\ufffd" and unicodedata.category(ch) != "Cc")
    return "".join(kept).strip()


def _clamp(start: float, end: float, duration: float) -> tuple[float, float]:
    """Timestamps inside the audio and in order (random or confused models overshoot),
    rounded to the millisecond."""
    start = min(max(float(start), 0.0), duration)
    end = min(max(float(end), start), duration)
    return min(round(start, 3), duration), min(round(end, 3), duration)
