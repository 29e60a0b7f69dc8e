"""The shape of a plan: which segments it has and how many seconds each one gets."""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.script import MAX_BROLL_S, MAX_SEGMENTS, MAX_TOTAL_S

MIN_DURATION_S = 5.0
# Planned length never lands on the hard limit, so rounding can never push a script over it.
MAX_PLANNED_S = MAX_TOTAL_S * 0.98
# The least a list item needs: "Third, seal the drafts." spoken over its own clip.
MIN_ITEM_S = 3.0
# A clip longer than this is split into several shots of the same point.
SHOT_SPLIT_S = 15.0
SHOT_TARGET_S = 11.0
# The host needs this long to say anything at all; below it the segment is dropped.
MIN_INTRO_S = 3.0
MIN_OUTRO_S = 2.5


@dataclass(frozen=True)
class Shape:
    intro_s: float  # host opens; 0 when not
    outro_s: float  # host closes
    hook_s: float  # narrated opening clip when the host does not open
    takeaway_s: float  # narrated closing clip when the host does not close
    items: int | None  # list items kept, None when the brief asked for no list
    units: tuple[tuple[float, ...], ...]  # per item (or point), the seconds of each shot
    notes: tuple[str, ...]


def fit_shape(
    duration_s: float, *, opens: bool, closes: bool, items: int | None, seconds_label: str
) -> Shape:
    """Lay out a plan of `duration_s`; drops what cannot fit and says so in `notes`."""
    total = min(max(duration_s, MIN_DURATION_S), MAX_PLANNED_S)
    notes: list[str] = []
    intro_s = _clamp(4.0 + 0.08 * total, MIN_INTRO_S, 20.0) if opens else 0.0
    outro_s = _clamp(3.0 + 0.06 * total, MIN_OUTRO_S, 15.0) if closes else 0.0
    least_body = MIN_ITEM_S * min(items or 1, 2)
    if closes and opens and total - intro_s - outro_s < least_body:
        outro_s = 0.0
        notes.append(f"{seconds_label} is too short for the host to open and close; it only opens")
    if (intro_s or outro_s) and total - intro_s - outro_s < least_body:
        intro_s = outro_s = 0.0
        notes.append(f"{seconds_label} is too short for a host segment; it is all clips")
    if items and intro_s + outro_s and total - intro_s - outro_s < MIN_ITEM_S * items:
        # The items come first: the host keeps only the time it needs to open and close.
        intro_s = MIN_INTRO_S if intro_s else 0.0
        outro_s = MIN_OUTRO_S if outro_s else 0.0
    # Without a host the video still opens with a hook and ends on a takeaway, when it has room.
    hook_s = _clamp(0.12 * total, 3.0, 10.0) if not intro_s and total >= 15 else 0.0
    takeaway_s = _clamp(0.1 * total, 3.0, 10.0) if not outro_s and total >= 15 else 0.0
    # The items the person asked for come before a hook or a takeaway nobody asked for.
    need = MIN_ITEM_S * (items or 0)
    if takeaway_s and total - intro_s - outro_s - hook_s - takeaway_s < need:
        takeaway_s = 0.0
    if hook_s and total - intro_s - outro_s - hook_s < need:
        hook_s = 0.0
    body = total - intro_s - outro_s - hook_s - takeaway_s
    fixed = sum(1 for s in (intro_s, outro_s, hook_s, takeaway_s) if s)
    room = MAX_SEGMENTS - fixed
    kept = items
    if items is not None:
        fits = max(1, min(int(body // MIN_ITEM_S), room))
        if items > fits:
            kept = fits
            notes.append(f"{items} items do not fit in {seconds_label}; the plan keeps {fits}")
    count = kept if kept is not None else _points_for(body)
    per_unit = body / count
    shots = max(1, math.ceil(per_unit / SHOT_TARGET_S)) if per_unit > SHOT_SPLIT_S else 1
    shots = max(1, min(shots, room // count))
    # Never reached within MAX_TOTAL_S and MAX_SEGMENTS, but a clip may never exceed its limit.
    shot_s = min(per_unit / shots, MAX_BROLL_S - 0.5)
    units = tuple(tuple(shot_s for _ in range(shots)) for _ in range(count))
    return Shape(intro_s, outro_s, hook_s, takeaway_s, kept, units, tuple(notes))


def _points_for(body_s: float) -> int:
    """How many points a video without a list makes: a hook, 2–4 points and a takeaway."""
    if body_s < 9:
        return 1
    if body_s < 18:
        return 2
    if body_s < 40:
        return 3
    if body_s < 150:
        return 4
    return 5


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
