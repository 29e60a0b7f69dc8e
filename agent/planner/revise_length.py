"""The reviser's edits of length: a scene's, the whole script's, and the number of scenes."""

from __future__ import annotations

import re

from agent.planner.layout import MAX_PLANNED_S, MIN_DURATION_S
from agent.planner.revise_edits import (
    Draft,
    Item,
    Ref,
    Segment,
    broll,
    fit_prompt,
    style_tail,
    talking,
)
from agent.planner.visuals import CAMERA_MOVES, SHOT_WORDS
from core.errors import InvalidInput
from core.script import (
    MAX_BROLL_S,
    MAX_SEGMENTS,
    MAX_TOTAL_S,
    MIN_BROLL_S,
    BrollSegment,
    TalkingSegment,
)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# A length within this share of the target is left alone: every changed clip is re-rendered.
_CLOSE_ENOUGH = 0.03


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s]


# --- scene count ----------------------------------------------------------------------------


def set_scene_count(draft: Draft, count: int) -> None:
    """Drop middle clips or add silent ones until the script has `count` scenes."""
    if not 1 <= count <= MAX_SEGMENTS:
        raise InvalidInput(f"a script has 1 to {MAX_SEGMENTS} scenes; {count} is out of range")
    seconds = draft.seconds
    while len(draft.items) > count and _drop_clip(draft):
        pass
    added = 0
    while len(draft.items) < count:
        _add_clip(draft, added)
        added += 1
    if len(draft.items) != count:
        raise InvalidInput(
            f"this script keeps its host intro and outro, so it has at least "
            f"{len(draft.items)} scenes"
        )
    if added:
        # The new clips share the old length rather than each adding MAX_BROLL_S seconds.
        _set_durations(draft, min(max(seconds, draft.seconds - added * MAX_BROLL_S), MAX_PLANNED_S))
    draft.notes.append(f"The script now has {count} scenes, about {draft.seconds:.0f} seconds.")


# --- length ---------------------------------------------------------------------------------


def scene_length(draft: Draft, ref: Ref, factor: float) -> None:
    """One scene longer or shorter: a clip's duration, or a host scene's last sentence."""
    index = draft.locate(ref)
    old = draft.items[index].segment
    if isinstance(old, TalkingSegment):
        parts = _sentences(old.text)
        if factor > 1 or len(parts) < 2:
            raise InvalidInput(
                f"scene {index + 1} lasts as long as the host's words; change "
                f"what it says instead, e.g. 'scene {index + 1} should say: …'"
            )
        draft.put(index, talking(" ".join(parts[:-1])))
    else:
        wanted = min(max(old.planned_seconds * factor, _floor(old)), MAX_BROLL_S)
        draft.put(index, broll(old.prompt, old.text, round(wanted, 1)))
    draft.notes.append(
        f"Scene {index + 1} now lasts about "
        f"{draft.items[index].segment.planned_seconds:.0f} seconds."
    )


def scale_length(draft: Draft, factor: float) -> None:
    fit_length(draft, draft.seconds * factor)


def check_length(seconds: float) -> None:
    if not MIN_DURATION_S <= seconds <= MAX_TOTAL_S:
        raise InvalidInput(
            f"{seconds:g} seconds is out of range; a video is "
            f"{MIN_DURATION_S:.0f} seconds to {MAX_TOTAL_S / 60:.0f} minutes long"
        )


def fit_length(draft: Draft, target: float) -> None:
    """Fit the script to `target` seconds (±10%), changing as few segments as it can."""
    check_length(round(target, 1))
    target = min(target, MAX_PLANNED_S)
    if abs(draft.seconds - target) <= _CLOSE_ENOUGH * target:
        draft.notes.append(f"It is already about {target:.0f} seconds long.")
        return
    # Clip durations give first; then narration loses sentences; then middle clips go.
    while _total(draft, _floor) > target * 1.05:
        if not (_trim_sentence(draft) or _drop_clip(draft)):
            break
    added = 0
    while _total(draft, _ceiling) < target * 0.95 and len(draft.items) < MAX_SEGMENTS:
        _add_clip(draft, added)
        added += 1
    _set_durations(draft, target)
    if abs(draft.seconds - target) > 0.1 * target:
        raise InvalidInput(
            f"this script cannot be made {target:.0f} seconds long while keeping "
            f"its host intro and outro; the nearest is about "
            f"{draft.seconds:.0f} seconds"
        )
    draft.notes.append(f"It is now about {draft.seconds:.0f} seconds long.")


def _floor(segment: Segment) -> float:
    if isinstance(segment, TalkingSegment):
        return segment.planned_seconds
    return (
        BrollSegment(prompt=segment.prompt, text=segment.text).planned_seconds
        if (segment.text)
        else MIN_BROLL_S
    )


def _ceiling(segment: Segment) -> float:
    return (
        segment.planned_seconds
        if isinstance(segment, TalkingSegment)
        else max(_floor(segment), MAX_BROLL_S)
    )


def _total(draft: Draft, bound: object) -> float:
    assert callable(bound)
    return sum(bound(s) for s in draft.segments)


def _protected(draft: Draft) -> set[int]:
    # The host's opening and closing lines frame the video: length changes keep them.
    talking_at = [i for i, s in enumerate(draft.segments) if isinstance(s, TalkingSegment)]
    return {talking_at[0], talking_at[-1]} if talking_at else set()


def _trim_sentence(draft: Draft) -> bool:
    candidates = [
        (len(_sentences(s.text)), len(s.text), i)
        for i, s in enumerate(draft.segments)
        if len(_sentences(s.text)) > 1
    ]
    if not candidates:
        return False
    _, _, index = max(candidates)
    old = draft.items[index].segment
    text = " ".join(_sentences(old.text)[:-1])
    if isinstance(old, TalkingSegment):
        draft.put(index, talking(text))
    else:
        draft.put(index, broll(old.prompt, text, old.duration_s))
    return True


def _drop_clip(draft: Draft) -> bool:
    keep = _protected(draft) | {0, len(draft.items) - 1}
    middle = [i for i in range(len(draft.items)) if i not in keep]
    clips = [i for i in middle if isinstance(draft.items[i].segment, BrollSegment)]
    chosen = clips or middle
    if not chosen or len(draft.items) < 2:
        return False
    draft.items.pop(chosen[-1])
    return True


def _add_clip(draft: Draft, count: int) -> None:
    """A silent clip: another angle on one of the script's clips, before the outro."""
    clips = [s for s in draft.segments if isinstance(s, BrollSegment)]
    frames = list(SHOT_WORDS.items())
    shot, words = frames[(count + 1) % len(frames)]
    if clips:
        parts = [p.strip() for p in clips[count % len(clips)].prompt.split(",")]
        subject = parts[0]
        for index, (_name, prefix) in enumerate(frames):
            if subject.startswith(prefix + " "):
                # Another angle on the same subject: the next framing, with its camera move.
                shot, words = frames[(index + 1 + count // len(clips)) % len(frames)]
                subject = subject.removeprefix(prefix + " ")
                break
        tail = [
            CAMERA_MOVES[shot] if p in CAMERA_MOVES.values() else p
            for p in style_tail(", ".join(parts))
        ]
    else:
        subject, tail = draft.options.title or "the story of the video", []
    prompt = fit_prompt(f"{words} {subject}", tail)
    last = draft.items[-1].segment
    at = (
        len(draft.items) - 1
        if isinstance(last, TalkingSegment) and len(draft.items) > 1
        else (len(draft.items))
    )
    draft.items.insert(at, Item(broll(prompt, "", MAX_BROLL_S), touched=True))


def _set_durations(draft: Draft, target: float) -> None:
    """Scale clip durations by one factor, each within its own floor and MAX_BROLL_S."""
    clips = [i for i, s in enumerate(draft.segments) if isinstance(s, BrollSegment)]
    if not clips:
        return
    fixed = draft.seconds - sum(draft.items[i].segment.planned_seconds for i in clips)
    wanted = target - fixed
    now = {i: draft.items[i].segment.planned_seconds for i in clips}
    lows = {i: _floor(draft.items[i].segment) for i in clips}

    def total(k: float) -> float:
        return sum(min(max(now[i] * k, lows[i]), max(lows[i], MAX_BROLL_S)) for i in clips)

    low, high = 0.0, 100.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if total(mid) < wanted else (low, mid)
    for i in clips:
        old = draft.items[i].segment
        assert isinstance(old, BrollSegment)
        seconds = min(max(now[i] * high, lows[i]), max(lows[i], MAX_BROLL_S))
        if abs(seconds - now[i]) < 0.05:
            continue
        natural = old.text and abs(seconds - lows[i]) < 0.05
        duration = None if natural else round(min(max(seconds, MIN_BROLL_S), MAX_BROLL_S), 2)
        draft.put(i, broll(old.prompt, old.text, duration))
