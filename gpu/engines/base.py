"""The engine contract: what every inference engine receives, returns and raises."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from gpu.engines.cache import ModelCache
from gpu.schemas import WordTiming

ProgressFn = Callable[[float], None]


class EngineError(Exception):
    """A bad input or a failed generation; the message is shown to the caller as it is."""


@dataclass(frozen=True)
class EngineOutput:
    """Files an engine wrote (by role) plus the facts it measured about them."""

    files: dict[str, Path]
    engine: str
    duration_s: float | None = None
    words: list[WordTiming] = field(default_factory=list)
    width: int | None = None
    height: int | None = None


class Engine(Protocol):
    """One inference kind: turns a validated request and its input files into output files.

    `inputs` maps the request's `*_file_id` field names to local paths; outputs go in `out_dir`.
    """

    def __call__(
        self,
        request: BaseModel,
        inputs: Mapping[str, Path],
        out_dir: Path,
        progress: ProgressFn,
    ) -> EngineOutput: ...


def is_out_of_memory(exc: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError, or the RuntimeError that older torch, CTranslate2 and
    other CUDA libraries raise; judged without importing torch."""
    return type(exc).__name__ == "OutOfMemoryError" or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
    )


def no_progress(_fraction: float) -> None:
    """Progress sink for direct calls that do not report progress."""


def stable_seed(*parts: object) -> int:
    """A seed derived from text and numbers that is identical across processes and runs.

    Python's own hash() is salted per process, so prompts are hashed with sha256 instead.
    """
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def require_input(inputs: Mapping[str, Path], name: str) -> Path:
    """The local path of a required input file, or a clear error naming the missing field."""
    path = inputs.get(name)
    if path is None:
        raise EngineError(f"missing input file for '{name}'")
    return path


@dataclass(frozen=True)
class EngineConfig:
    """What the real engines need from the server's settings. Each engine module turns it into
    registry slots: a working engine, or None with the reason (weights not found, a package
    missing, no API token) for /health to show."""

    models_dir: Path  # weights live in subfolders named after each model (SKYIE_MODELS_DIR)
    cache: ModelCache  # shared VRAM budget: every model is loaded through it
    device: str = "cuda"  # "cpu" in tests
    dtype: str = "bfloat16"  # "float32" on a CPU
    hf_token: str | None = None  # Hugging Face Inference API (FLUX key frames)
    hf_base_url: str = "https://router.huggingface.co/hf-inference/models"
    fish_speech_python: Path | None = None  # the interpreter of Fish Speech's own virtualenv
    liveportrait_dir: Path | None = None  # the LivePortrait checkout on the GPU image
