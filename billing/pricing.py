"""Credit prices: what a script and its options cost, computed the same way for every channel."""

from __future__ import annotations

import math

from pydantic import BaseModel

from core.production import Preset, ProductionOptions
from core.script import Script, TalkingSegment

# Per-second prices reflect GPU time: lip-sync costs more than a b-roll clip per second.
TALKING_BASE, TALKING_PER_S = 2.0, 0.6
BROLL_BASE, BROLL_PER_S = 3.0, 0.5
MUSIC = 2.0
BACKGROUND = 1.0  # one generated picture behind the host
REUSED = 0.5
PRESET_FACTOR = {Preset.fast: 1.0, Preset.balanced: 1.3, Preset.quality: 1.7}
PRODUCTION_MIN, PRODUCTION_MAX = 20, 100


class LineItem(BaseModel):
    label: str
    credits: float


class Quote(BaseModel):
    credits: int
    planned_seconds: float
    items: list[LineItem]


def quote_production(
    script: Script,
    options: ProductionOptions,
    *,
    reused: frozenset[int] = frozenset(),
    music_reused: bool = False,
) -> Quote:
    """`reused` holds 0-based indexes of segments whose generated media already exist for this
    person (an earlier version of the same script): they cost only their share of the render."""
    factor = PRESET_FACTOR[options.preset]
    items: list[LineItem] = []
    for index, segment in enumerate(script.segments, start=1):
        seconds = segment.planned_seconds
        if index - 1 in reused:
            items.append(LineItem(label=f"{index}. reused from an earlier version", credits=REUSED))
            continue
        if isinstance(segment, TalkingSegment):
            cost = TALKING_BASE + TALKING_PER_S * seconds
            label = f"{index}. talking head, {seconds:.1f}s"
        else:
            cost = BROLL_BASE + BROLL_PER_S * seconds
            label = f"{index}. b-roll, {seconds:.1f}s"
        items.append(LineItem(label=label, credits=round(cost * factor, 2)))
    if options.background and any(isinstance(s, TalkingSegment) for s in script.segments):
        items.append(LineItem(label="generated background", credits=BACKGROUND))
    if options.music:
        items.append(LineItem(label="music bed", credits=0.0 if music_reused else MUSIC))
    raw = math.ceil(sum(i.credits for i in items))
    credits = min(max(raw, PRODUCTION_MIN), PRODUCTION_MAX)
    return Quote(credits=credits, planned_seconds=round(script.planned_seconds, 1), items=items)


TALKING_HEAD_MIN, TALKING_HEAD_MAX = 10, 30
BROLL_SCENE_MIN, BROLL_SCENE_MAX = 5, 15


def quote_talking_head(script: Script, options: ProductionOptions) -> Quote:
    seconds = script.planned_seconds
    raw = math.ceil((TALKING_BASE * 2 + TALKING_PER_S * seconds) * PRESET_FACTOR[options.preset])
    credits = min(max(raw, TALKING_HEAD_MIN), TALKING_HEAD_MAX)
    items = [LineItem(label=f"talking head, {seconds:.1f}s", credits=credits)]
    if options.background:
        items.append(LineItem(label="generated background", credits=BACKGROUND))
        credits += math.ceil(BACKGROUND)
    return Quote(credits=credits, planned_seconds=round(seconds, 1), items=items)


def quote_broll(script: Script, options: ProductionOptions) -> Quote:
    factor = PRESET_FACTOR[options.preset]
    items = []
    for index, segment in enumerate(script.segments, start=1):
        seconds = segment.planned_seconds
        raw = math.ceil((BROLL_BASE * 2 + BROLL_PER_S * seconds) * factor)
        credits = min(max(raw, BROLL_SCENE_MIN), BROLL_SCENE_MAX)
        items.append(LineItem(label=f"{index}. b-roll scene, {seconds:.1f}s", credits=credits))
    if options.music:
        items.append(LineItem(label="music bed", credits=MUSIC))
    credits = math.ceil(sum(i.credits for i in items))
    return Quote(credits=credits, planned_seconds=round(script.planned_seconds, 1), items=items)


def quote_for(
    workflow: str,
    script: Script,
    options: ProductionOptions,
    *,
    reused: frozenset[int] = frozenset(),
    music_reused: bool = False,
) -> Quote:
    """The price of a workflow: the forms' single-purpose ones have their own ranges."""
    if workflow == "talking_head":
        return quote_talking_head(script, options)
    if workflow == "broll":
        return quote_broll(script, options)
    return quote_production(script, options, reused=reused, music_reused=music_reused)
