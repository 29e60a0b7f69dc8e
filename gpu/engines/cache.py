"""Models in GPU memory: loaded on demand within a VRAM budget, least recently used evicted
first, unloaded after an idle timeout.

A real engine does not hold its model itself. It describes the model with a `ModelSpec` (a name,
how much VRAM it needs, how to load it) and asks the shared `ModelCache` for it around each
generation:

    with cache.use(spec) as pipeline:
        frames = pipeline(prompt=...)

A model in use is never evicted; one that does not fit beside the models in use waits for
them (the server runs one task per GPU by default, so in practice it never waits).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("skyie.gpu.models")


class ModelTooLarge(Exception):
    """A model needs more VRAM than the whole budget; it can never be loaded here."""


@dataclass(frozen=True)
class ModelSpec:
    """One loadable model. `load` returns the object engines run (a diffusers pipeline, a
    transformers model, a faster-whisper model…); `unload` releases it (default: drop it)."""

    name: str
    vram_gb: float
    load: Callable[[], Any] = field(compare=False)
    unload: Callable[[Any], None] | None = field(default=None, compare=False)


@dataclass
class _Loaded:
    spec: ModelSpec
    handle: Any
    users: int = 0
    last_used: float = 0.0
    ready: bool = False  # False while its load runs (others wanting it wait)


def _free_accelerator_memory() -> None:
    """Return freed CUDA memory to the driver, when torch is in use; a no-op otherwise."""
    gc.collect()
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


class ModelCache:
    """Loaded models within `budget_gb` of VRAM; see the module docstring."""

    def __init__(
        self,
        budget_gb: float,
        idle_unload_s: float = 600.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if budget_gb <= 0:
            raise ValueError(f"VRAM budget must be positive, got {budget_gb!r} GB")
        self.budget_gb = budget_gb
        self.idle_unload_s = idle_unload_s
        self._clock = clock
        self._loaded: OrderedDict[str, _Loaded] = OrderedDict()  # least recently used first
        self._cond = threading.Condition()
        self.loads = 0  # how many times a model was loaded (swaps cost this)

    @contextmanager
    def use(self, spec: ModelSpec) -> Iterator[Any]:
        """The loaded model for `spec`, kept loaded (and unevictable) inside the block."""
        entry = self._acquire(spec)
        try:
            yield entry.handle
        finally:
            with self._cond:
                entry.users -= 1
                entry.last_used = self._clock()
                self._cond.notify_all()

    def loaded(self) -> list[str]:
        """Names of the loaded models, least recently used first."""
        with self._cond:
            return list(self._loaded)

    def is_loaded(self, name: str) -> bool:
        with self._cond:
            return name in self._loaded

    def used_gb(self) -> float:
        with self._cond:
            return sum(e.spec.vram_gb for e in self._loaded.values())

    def sweep(self) -> list[str]:
        """Unload models idle for longer than the idle timeout; returns their names."""
        cutoff = self._clock() - self.idle_unload_s
        with self._cond:
            idle = [
                name for name, e in self._loaded.items() if e.users == 0 and e.last_used <= cutoff
            ]
            dropped = [self._loaded.pop(name) for name in idle]
        self._release(dropped)
        return idle

    def unload_all(self) -> list[str]:
        """Unload every model not in use (after an out-of-memory error, or at shutdown)."""
        with self._cond:
            names = [name for name, e in self._loaded.items() if e.users == 0]
            dropped = [self._loaded.pop(name) for name in names]
        self._release(dropped)
        return names

    def _acquire(self, spec: ModelSpec) -> _Loaded:
        if spec.vram_gb > self.budget_gb:
            raise ModelTooLarge(
                f"model {spec.name} needs {spec.vram_gb:g} GB of VRAM; the budget "
                f"(SKYIE_GPU_VRAM_GB) is {self.budget_gb:g} GB"
            )
        with self._cond:
            while True:
                entry = self._loaded.get(spec.name)
                if entry is not None and entry.ready:
                    entry.users += 1
                    self._loaded.move_to_end(spec.name)
                    return entry
                if entry is not None:  # being loaded by another task
                    self._cond.wait()
                    continue
                evict = self._evictable_for(spec.vram_gb)
                if evict is not None:
                    break
                self._cond.wait()  # the models in use leave no room yet
            dropped = [self._loaded.pop(name) for name in evict]
            # Reserved before loading, so a concurrent request neither loads it twice nor
            # counts its memory as free.
            entry = _Loaded(spec, None, users=1, last_used=self._clock())
            self._loaded[spec.name] = entry
        self._release(dropped)
        try:
            started = time.monotonic()
            entry.handle = spec.load()
            log.info(
                "gpu.model_loaded model=%s vram_gb=%s seconds=%.1f",
                spec.name,
                spec.vram_gb,
                time.monotonic() - started,
            )
        except BaseException:
            with self._cond:
                self._loaded.pop(spec.name, None)
                self._cond.notify_all()
            raise
        with self._cond:
            self.loads += 1
            entry.ready = True
            self._cond.notify_all()
        return entry

    def _evictable_for(self, need_gb: float) -> list[str] | None:
        """Least recently used idle models to drop so `need_gb` fits; None if it cannot fit."""
        free = self.budget_gb - sum(e.spec.vram_gb for e in self._loaded.values())
        chosen: list[str] = []
        for name, e in self._loaded.items():
            if free >= need_gb:
                break
            if e.users == 0:
                chosen.append(name)
                free += e.spec.vram_gb
        return chosen if free >= need_gb else None

    def _release(self, dropped: list[_Loaded]) -> None:
        for e in dropped:
            try:
                if e.spec.unload is not None:
                    e.spec.unload(e.handle)
            except Exception:
                log.exception("gpu.model_unload_failed model=%s", e.spec.name)
            log.info("gpu.model_unloaded model=%s", e.spec.name)
        if dropped:
            del dropped[:]
            _free_accelerator_memory()
