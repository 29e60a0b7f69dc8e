"""Which engine serves each inference kind, per engine set, with honest reasons when none does."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from gpu.engines.base import Engine, EngineConfig, EngineError, EngineOutput, ProgressFn
from gpu.schemas import EngineHealth, InferKind


class EngineUnavailable(Exception):
    """No engine of the configured sets serves this kind; the message says why."""


class UnknownVariant(ValueError):
    """A request named an engine this server does not have; asking again will not help."""


@dataclass(frozen=True)
class Slot:
    """One kind's entry: the engine (None when unavailable) and a line describing it or why not."""

    engine: Engine | None
    note: str
    model: str | None = None  # what it loads, for /health's loaded_models
    is_loaded: Callable[[], bool] | None = None
    variants: tuple[str, ...] = ()  # names a request may ask for (a TTS request's `engine`)


EngineSet = Callable[[EngineConfig | None], dict[InferKind, Slot]]


def lite_engines(_config: EngineConfig | None = None) -> dict[InferKind, Slot]:
    """The CPU engines: small, deterministic, and real (they synthesise actual media)."""
    from gpu.engines.lite import asr, avatar, espeak, image, motion, music, tts

    avatar_note = "lite avatar engine: audio-driven talking portrait (2D mouth warp, blinks, sway)"
    return {
        InferKind.tts: Slot(
            tts.run,
            "lite: eSpeak NG speech with word timings",
            "espeak-ng",
            espeak.is_loaded,
            variants=("espeak",),
        ),
        InferKind.image: Slot(image.run, "lite: illustrated scene drawn from the prompt's words"),
        InferKind.i2v: Slot(
            motion.run_i2v, "lite: slow camera move (Ken Burns) over the key frame"
        ),
        InferKind.ti2v: Slot(
            motion.run_i2v, "lite: camera move over the key frame, chosen from the prompt"
        ),
        InferKind.t2v: Slot(
            motion.run_t2v, "lite: key frame drawn from the prompt, then a camera move"
        ),
        InferKind.lipsync: Slot(avatar.run, avatar_note),
        InferKind.s2v: Slot(avatar.run, f"served by the {avatar_note}"),
        InferKind.animate: Slot(
            None,
            "lite engines cannot animate a full body from a driving video; "
            "Wan 2.2 Animate runs on a GPU host",
        ),
        InferKind.music: Slot(music.run, "lite: procedural music (chords, bass, drums, pads)"),
        InferKind.caption: Slot(
            asr.run,
            "lite: PocketSphinx speech-to-text (English)",
            "pocketsphinx-en-us",
            asr.is_loaded,
        ),
    }


def gpu_engines(config: EngineConfig | None) -> dict[InferKind, Slot]:
    """The real models: each module says what it serves, or why it cannot (weights missing…).
    Where two modules serve one kind, the first available one listed here wins, and any that
    offer named variants (TTS engines) stay selectable by name."""
    if config is None:
        raise ValueError("the gpu engine set needs an EngineConfig (models folder, VRAM budget)")
    from gpu.engines import fish_speech, flux, liveportrait, musicgen, wan, whisper

    slots: dict[InferKind, Slot] = {}
    for module in (wan, liveportrait, fish_speech, musicgen, whisper, flux):
        for kind, slot in module.slots(config).items():
            slots[kind] = merge_slots(slots[kind], slot) if kind in slots else slot
    return slots


ENGINE_SETS: dict[str, EngineSet] = {"lite": lite_engines, "gpu": gpu_engines}


def merge_slots(first: Slot, second: Slot) -> Slot:
    """One slot serving a kind from two: the first available engine serves 'auto', and every
    named variant reaches its own engine."""
    if second.engine is None:
        return first
    if first.engine is None:
        return second
    if not (first.variants or second.variants):
        return first
    routes: dict[str, Engine] = {}
    for slot in (first, second):
        assert slot.engine is not None
        for name in slot.variants:
            routes.setdefault(name, slot.engine)
    default = first.engine
    loaded = [s.is_loaded for s in (first, second) if s.is_loaded is not None]
    return Slot(
        _Dispatch(default, routes),
        f"{first.note}; also {second.note}",
        first.model,
        (lambda: any(check() for check in loaded)) if loaded else None,
        variants=tuple(routes),
    )


class _Dispatch:
    """An engine that hands each request to the variant it names (`auto`: the default)."""

    def __init__(self, default: Engine, routes: dict[str, Engine]) -> None:
        self.default = default
        self.routes = routes

    def __call__(
        self,
        request: BaseModel,
        inputs: Mapping[str, Path],
        out_dir: Path,
        progress: ProgressFn,
    ) -> EngineOutput:
        name = getattr(request, "engine", "auto")
        engine = self.default if name == "auto" else self.routes.get(name)
        if engine is None:
            raise EngineError(f"no engine named {name!r}; this server has {', '.join(self.routes)}")
        return engine(request, inputs, out_dir, progress)


class EngineRegistry:
    """Engines by kind for a comma-separated list of engine sets; earlier sets win, and named
    variants of every set stay reachable."""

    def __init__(self, sets: str = "lite", config: EngineConfig | None = None) -> None:
        names = [name.strip() for name in sets.split(",") if name.strip()]
        unknown = [name for name in names if name not in ENGINE_SETS]
        if not names or unknown:
            known = ", ".join(sorted(ENGINE_SETS))
            raise ValueError(f"unknown engine set(s) {unknown or [sets]!r}; known: {known}")
        self.sets = names
        self.config = config
        self.slots: dict[InferKind, Slot] = {}
        for name in names:
            for kind, slot in ENGINE_SETS[name](config).items():
                known_slot = self.slots.get(kind)
                self.slots[kind] = slot if known_slot is None else merge_slots(known_slot, slot)
        for kind in InferKind:
            self.slots.setdefault(
                kind, Slot(None, f"no engine in sets {', '.join(names)} serves {kind}")
            )

    def model(self, kind: InferKind) -> str | None:
        """The model a kind's engine loads (tasks of one model are run together)."""
        return self.slots[kind].model

    def get(self, kind: InferKind) -> Engine:
        """The engine for a kind, or EngineUnavailable with the reason."""
        slot = self.slots[kind]
        if slot.engine is None:
            raise EngineUnavailable(f"{kind} is unavailable: {slot.note}")
        return slot.engine

    def check_variant(self, kind: InferKind, name: str) -> None:
        """Raise UnknownVariant unless `name` is `auto` or an engine this kind offers."""
        variants = self.slots[kind].variants
        if name != "auto" and name not in variants:
            have = ", ".join(variants) or "none to choose from"
            raise UnknownVariant(
                f"the {kind} engine '{name}' is not installed on this GPU server "
                f"(it has: {have}); choose one of those or 'auto'"
            )

    def health(self) -> dict[str, EngineHealth]:
        return {
            kind.value: EngineHealth(
                available=slot.engine is not None,
                reason=slot.note,
                variants=list(slot.variants) if slot.engine is not None else [],
            )
            for kind, slot in sorted(self.slots.items())
        }

    def models(self) -> list[str]:
        """Models loaded in this process now (the model cache's, and the lite engines')."""
        loaded = {s.model for s in self.slots.values() if s.model and s.is_loaded and s.is_loaded()}
        if self.config is not None:
            loaded.update(self.config.cache.loaded())
        return sorted(loaded)
