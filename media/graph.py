"""The one ffmpeg command a render builds: its inputs, its filter chains, and shared constants."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_RATE = 48_000
AUDIO_BITRATE = "160k"


def escape_filter_value(value: str) -> str:
    """Quote `value` for use as a filter option inside a -filter_complex graph.

    Two levels, as ffmpeg parses them: first the option value (`\\`, `'`, `:`), then the graph
    description, which splits on `[],;` and also consumes `\\` and `'`.
    """
    for ch in "\\':":
        value = value.replace(ch, "\\" + ch)
    for ch in "\\'[],;":
        value = value.replace(ch, "\\" + ch)
    return value


def on_clock(fps: int) -> str:
    """Filters putting a stream of consecutive frames on the canvas clock: time base 1/fps,
    timestamps 0, 1, 2…, and a declared constant rate (which xfade and concat rely on)."""
    return f"settb=1/{fps},setpts=N,fps={fps}"


@dataclass
class Graph:
    """Inputs and filter chains of a single ffmpeg command, built up piece by piece."""

    workdir: Path
    inputs: list[str] = field(default_factory=list)
    chains: list[str] = field(default_factory=list)
    count: int = 0

    def add_input(self, path: Path, *options: str) -> int:
        self.inputs += [*options, "-i", str(path.resolve())]
        self.count += 1
        return self.count - 1

    def filter_complex(self) -> str:
        return ";".join(self.chains)


@dataclass(frozen=True)
class Slot:
    """Where a clip lands on the output timeline, in whole frames and whole samples."""

    start_frame: int
    frames: int
    start_sample: int
    samples: int
