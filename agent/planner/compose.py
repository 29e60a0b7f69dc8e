"""Planning a Brief into a Script and ProductionOptions, within ±10% of the asked length."""

from __future__ import annotations

import math
import re
from dataclasses import replace

from agent.planner.brief import Brief
from agent.planner.fitting import fill_slots
from agent.planner.layout import MAX_PLANNED_S, MIN_DURATION_S, fit_shape
from agent.planner.topic import clean_topic
from agent.planner.visuals import music_prompt
from agent.planner.writer import Writer
from core.errors import InvalidInput
from core.production import ProductionOptions
from core.script import MAX_TOTAL_S, Script

_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")


def plan_script(brief: Brief) -> tuple[Script, ProductionOptions]:
    """Write a script for `brief`; the same brief always gives the same script."""
    if not _LANGUAGE_CODE.match(brief.language):
        raise InvalidInput(f"language {brief.language!r} is not an ISO 639 code such as 'en'")
    if not math.isfinite(brief.duration_s) or not (
        MIN_DURATION_S <= brief.duration_s <= MAX_TOTAL_S
    ):
        raise InvalidInput(
            f"duration {brief.duration_s:g}s is out of range; a video is "
            f"{MIN_DURATION_S:.0f} seconds to {MAX_TOTAL_S / 60:.0f} minutes long"
        )
    # A Brief may be built by hand: its free text is cleaned as read_brief would clean it.
    brief = replace(
        brief,
        topic=clean_topic(brief.topic),
        action=clean_topic(brief.action),
        item_noun="".join(ch for ch in brief.item_noun if ch.isalpha() or ch in "-'")[:30],
    )
    if not any(ch.isalnum() for ch in brief.topic):
        raise InvalidInput("the brief has no topic; say what the video is about")
    target_s = min(max(brief.duration_s, MIN_DURATION_S), MAX_PLANNED_S)
    shape = fit_shape(
        target_s,
        opens=brief.host and brief.host_opens,
        closes=brief.host and brief.host_closes,
        items=brief.items if brief.items and brief.items > 0 else None,
        seconds_label=f"{target_s:.0f} seconds",
    )
    writer = Writer(brief, shape, target_s)
    script = Script(segments=fill_slots(writer.slots(), target_s))
    options = ProductionOptions(
        format=brief.format,
        language=brief.language,
        music=brief.music,
        music_prompt=music_prompt(brief.tone, brief.music_style),
        captions=brief.captions,
        title=writer.title(),
    )
    return script, options
