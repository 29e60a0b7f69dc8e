"""Planning: (Script, ProductionOptions) -> a DAG of steps, each named by a content key."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from billing.plans import UNLIMITED, PlanLimits, capped
from core.production import ProductionOptions
from core.script import (
    DEFAULT_BROLL_S,
    MIN_BROLL_S,
    SEGMENT_TAIL_S,
    SPEECH_WPM,
    BrollSegment,
    Script,
    TalkingSegment,
)
from media.spec import host_box

# Bump an engine's version when its output for the same inputs changes: old artifacts are
# then no longer reused.
STEP_VERSIONS = {
    "tts": 1,
    "lipsync": 1,
    "keyframe": 1,
    "clip": 1,
    "music": 1,
    "captions": 1,
    "render": 1,
    "export": 1,
}
GPU_KINDS = {"tts", "lipsync", "keyframe", "clip", "music"}
# Generated pictures come at this long side; the render scales them to the canvas.
GENERATION_LONG_SIDE = 1280
MUSIC_MARGIN_S = 8.0


@dataclass(frozen=True)
class StepSpec:
    name: str
    kind: str
    params: dict[str, Any]
    deps: tuple[str, ...] = ()
    content_key: str = ""

    @property
    def queue(self) -> str:
        return "gpu" if self.kind in GPU_KINDS else "media"


@dataclass
class _Builder:
    engines: str
    steps: dict[str, StepSpec] = field(default_factory=dict)

    def add(self, name: str, kind: str, params: dict[str, Any], deps: tuple[str, ...] = ()) -> str:
        for dep in deps:
            if dep not in self.steps:
                raise ValueError(f"step {name} depends on unknown step {dep}")
        payload = {
            "kind": kind,
            "version": STEP_VERSIONS[kind],
            "engines": self.engines if kind in GPU_KINDS else "ffmpeg",
            "params": params,
            "deps": [self.steps[d].content_key for d in deps],
        }
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:40]
        self.steps[name] = StepSpec(name, kind, params, deps, digest)
        return name


def render_size(options: ProductionOptions, limits: PlanLimits) -> tuple[int, int]:
    """The canvas: the format's aspect at the resolution asked for (the format's own size for
    auto), then capped by the plan. The tools refuse a resolution above the plan before anything
    is spent; this cap is the render's own guard, whatever way a job came in."""
    width, height = options.size
    scale = (options.short_side or min(width, height)) / min(width, height)
    scaled = round(width * scale / 2) * 2, round(height * scale / 2) * 2
    return capped(*scaled, limits.max_short_side)


def generation_size(width: int, height: int) -> tuple[int, int]:
    scale = GENERATION_LONG_SIDE / max(width, height)
    return (round(width * scale / 2) * 2, round(height * scale / 2) * 2)


def transition_into(options: ProductionOptions, previous: str | None, kind: str) -> str:
    """The transition into a scene of `kind` after one of `previous` (None: the first scene).

    Auto keeps the host's lines crisp (cuts to and from the speaker, as editors do) and lets
    consecutive clips flow into each other.
    """
    if previous is None:
        return "cut"
    if options.transitions != "auto":
        return options.transitions.value
    return "crossfade" if previous == kind == "broll" else "cut"


def _timing_only(segment: dict[str, Any]) -> dict[str, Any]:
    return {k: segment[k] for k in ("kind", "tts", "visual", "duration_s")}


def seed_for(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


def plan_job(
    script: Script,
    options: ProductionOptions,
    *,
    portrait_key: str,
    engines: str = "lite",
    fps: int = 30,
    voice_reference: str | None = None,
    limits: PlanLimits = UNLIMITED,
) -> list[StepSpec]:
    """The steps that produce `script`, in an order where dependencies come first.

    `portrait_key` identifies the avatar's bytes (a hash), so a new portrait re-runs lip-sync.
    """
    width, height = render_size(options, limits)
    gen_w, gen_h = generation_size(width, height)
    b = _Builder(engines)
    voice: dict[str, Any] = {
        "voice": options.voice,
        "language": options.language,
        "wpm": SPEECH_WPM,
        "engine": options.voice_engine.value,
    }
    if voice_reference is not None:
        # A cloned voice: the sample (stored under its hash) is what identifies it.
        voice |= {"voice": "default", "reference": voice_reference}
    host_w, host_h = gen_w, gen_h
    background = None
    if options.background and any(isinstance(s, TalkingSegment) for s in script.segments):
        # One generated backdrop behind every talking segment; the host is then made in the
        # frame it will fill, not the whole canvas.
        background = b.add(
            "background",
            "keyframe",
            {
                "prompt": options.background_prompt,
                "width": gen_w,
                "height": gen_h,
                "seed": seed_for(options.background_prompt),
            },
        )
        _, _, box_w, box_h = host_box(width, height)
        host_w, host_h = generation_size(box_w, box_h)
    segments: list[dict[str, Any]] = []
    visuals: list[str] = []
    previous: str | None = None
    voices: list[str] = []
    for i, segment in enumerate(script.segments):
        tts = None
        if segment.text:
            tts = b.add(f"tts/{i}", "tts", {"text": segment.text, **voice})
            voices.append(tts)
        if isinstance(segment, TalkingSegment):
            assert tts is not None
            visual = b.add(
                f"lipsync/{i}",
                "lipsync",
                {"portrait": portrait_key, "width": host_w, "height": host_h, "fps": fps},
                (tts,),
            )
            segment_plan = {
                "kind": "talking",
                "tts": tts,
                "visual": visual,
                "duration_s": None,
                "transition": transition_into(options, previous, "talking"),
            }
            if background:
                segment_plan["background"] = background
            segments.append(segment_plan)
        else:
            assert isinstance(segment, BrollSegment)
            seed = seed_for(segment.prompt)
            key = b.add(
                f"keyframe/{i}",
                "keyframe",
                {"prompt": segment.prompt, "width": gen_w, "height": gen_h, "seed": seed},
            )
            deps = (key, tts) if tts else (key,)
            visual = b.add(
                f"clip/{i}",
                "clip",
                {
                    "prompt": segment.prompt,
                    "duration_s": segment.duration_s,
                    "fps": fps,
                    "width": gen_w,
                    "height": gen_h,
                    "seed": seed,
                    "preset": options.preset.value,
                    "tail_s": SEGMENT_TAIL_S,
                    "min_broll_s": MIN_BROLL_S,
                },
                deps,
            )
            segments.append(
                {
                    "kind": "broll",
                    "tts": tts,
                    "visual": visual,
                    "duration_s": segment.duration_s,
                    "transition": transition_into(options, previous, "broll"),
                }
            )
        visuals.append(visual)
        previous = segments[-1]["kind"]
    render_deps = [*visuals, *voices, *([background] if background else [])]
    if options.music:
        # Music depends on the planned length rounded up, not on the narration, so editing
        # one segment's words does not regenerate it; the render trims and fades it.
        length = math.ceil((script.planned_seconds + MUSIC_MARGIN_S) / 10) * 10
        render_deps.append(
            b.add(
                "music",
                "music",
                {
                    "prompt": options.music_prompt,
                    "duration_s": length,
                    "seed": seed_for(options.music_prompt),
                },
            )
        )
    # The timing rules decide every segment's length: a change to them must re-render.
    timing = {
        "tail_s": SEGMENT_TAIL_S,
        "default_broll_s": DEFAULT_BROLL_S,
        "min_broll_s": MIN_BROLL_S,
    }
    captions = b.add(
        "captions",
        "captions",
        # Captions depend on the words and their timing only, not on how the scenes look.
        {"segments": [_timing_only(seg) for seg in segments], "timing": timing},
        tuple(voices),
    )
    render_deps.append(captions)
    b.add(
        "render",
        "render",
        {
            "width": width,
            "height": height,
            "fps": fps,
            "preset": options.preset.value,
            "burn_captions": options.captions,
            "caption_look": options.caption_look.model_dump(),
            "segments": segments,
            "music": "music" if options.music else None,
            "timing": timing,
            "watermark": limits.watermark,
        },
        tuple(render_deps),
    )
    return list(b.steps.values())


def plan_export(
    render_key: str, formats: list[str], preset: str, limits: PlanLimits = UNLIMITED
) -> list[StepSpec]:
    """One step that cuts a finished render into platform formats (one decode, many encodes)."""
    b = _Builder("ffmpeg")
    b.add(
        "export",
        "export",
        {
            "render_key": render_key,
            "formats": sorted(set(formats)),
            "preset": preset,
            "max_short_side": limits.max_short_side,
        },
    )
    return list(b.steps.values())
