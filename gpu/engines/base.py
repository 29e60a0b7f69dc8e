"""The engine contract: what every inference engine receives, returns and raises."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

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
