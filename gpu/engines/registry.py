"""Which engine serves each inference kind, per engine set, with honest reasons when none does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gpu.engines.base import Engine
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


EngineSet = Callable[[], dict[InferKind, Slot]]


def lite_engines() -> dict[InferKind, Slot]:
    """The CPU engines: small, deterministic, and real (they synthesise actual media)."""
    from gpu.engines.lite import avatar, espeak, image, motion, music, tts

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
        InferKind.animate: Slot(avatar.run, f"served by the {avatar_note}; no full-body motion"),
        InferKind.music: Slot(music.run, "lite: procedural music (chords, bass, drums, pads)"),
        InferKind.caption: Slot(
            None,
            "lite engines have no speech-to-text; word timings come with the TTS result "
            "(Whisper runs on a GPU host)",
        ),
    }


ENGINE_SETS: dict[str, EngineSet] = {"lite": lite_engines}


class EngineRegistry:
    """Engines by kind for a comma-separated list of engine sets; earlier sets win."""

    def __init__(self, sets: str = "lite") -> None:
        names = [name.strip() for name in sets.split(",") if name.strip()]
        unknown = [name for name in names if name not in ENGINE_SETS]
        if not names or unknown:
            known = ", ".join(sorted(ENGINE_SETS))
            raise ValueError(f"unknown engine set(s) {unknown or [sets]!r}; known: {known}")
        self.sets = names
        self.slots: dict[InferKind, Slot] = {}
        for name in reversed(names):
            for kind, slot in ENGINE_SETS[name]().items():
                if slot.engine is not None or kind not in self.slots:
                    self.slots[kind] = slot
        for kind in InferKind:
            self.slots.setdefault(
                kind, Slot(None, f"no engine in sets {', '.join(names)} serves {kind}")
            )

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
        """Models that engines have loaded in this process so far."""
        return sorted(
            {s.model for s in self.slots.values() if s.model and s.is_loaded and s.is_loaded()}
        )
