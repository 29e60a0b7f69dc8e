"""Fitting words to seconds: each segment's text is chosen so the script lands on its length."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from agent.planner.lexicon import words
from core.script import (
    MAX_BROLL_S,
    MIN_BROLL_S,
    SEGMENT_TAIL_S,
    BrollSegment,
    TalkingSegment,
    spoken_seconds,
)

# A clip whose narration leaves less than this unused keeps no explicit duration.
_PAD_THRESHOLD_S = 0.25
# Narration shorter than this cannot say anything; the clip runs silent instead.
_MIN_NARRATION_S = 1.2
_DANGLING = words(
    "a an the and or to of for with in on at by your my our so but because that that's which "
    "who is are"
)
_CLAUSE_BREAK = re.compile(
    r",\s|\s(?:that|that's|which|worth|and|because|so|before|while|when|since|for|you|in|with)\s"
)


@dataclass(frozen=True)
class Slot:
    """A segment before its words are fitted: what it may say and the seconds it should take."""

    kind: str  # "talking" or "broll"
    budget_s: float
    core: tuple[str, ...] = ()  # ways to say what the segment must say, preferred first
    extras: tuple[str, ...] = ()  # sentences added, in order, while they fit
    prompt: str = ""


def fill_slots(slots: list[Slot], target_s: float) -> list[TalkingSegment | BrollSegment]:
    """Fit each slot's words to its seconds; clips absorb what the host's lines leave over."""
    talking: dict[int, TalkingSegment] = {}
    spent = 0.0
    for index, slot in enumerate(slots):
        if slot.kind == "talking":
            # The host may run a little long to finish a thought; the clips give the time back.
            slack = min(1.5, 0.3 * slot.budget_s)
            text = fit_text(slot.core, slot.extras, slot.budget_s - SEGMENT_TAIL_S, slack=slack)
            talking[index] = TalkingSegment(text=text or slot.core[0])
            spent += talking[index].planned_seconds
    clips = [slot for slot in slots if slot.kind == "broll"]
    nominal = sum(slot.budget_s for slot in clips) or 1.0
    scale = max(target_s - spent, MIN_BROLL_S * len(clips)) / nominal
    segments: list[TalkingSegment | BrollSegment] = []
    carry = 0.0
    for index, slot in enumerate(slots):
        if index in talking:
            segments.append(talking[index])
            continue
        wanted = slot.budget_s * scale + carry
        budget = min(max(wanted, MIN_BROLL_S), MAX_BROLL_S)
        speech = budget - SEGMENT_TAIL_S
        text = fit_text(slot.core, slot.extras, speech) if speech >= _MIN_NARRATION_S else ""
        clip = _clip(slot.prompt, text, budget)
        segments.append(clip)
        carry = wanted - clip.planned_seconds
    return segments


def _clip(prompt: str, text: str, budget: float) -> BrollSegment:
    """A clip that lasts `budget`, or as long as its narration when that is about the same."""
    natural = max(spoken_seconds(text) + SEGMENT_TAIL_S, MIN_BROLL_S) if text else 0.0
    if text and budget - natural < _PAD_THRESHOLD_S:
        return BrollSegment(prompt=prompt, text=text)
    duration = max(round(budget * 2) / 2, math.ceil(natural * 2) / 2, MIN_BROLL_S)
    return BrollSegment(prompt=prompt, text=text, duration_s=min(duration, MAX_BROLL_S))


def fit_text(
    core: tuple[str, ...], extras: tuple[str, ...], seconds: float, *, slack: float = 0.0
) -> str:
    """The first core option that fits in `seconds` (+`slack`), then the extras that still fit.

    When no option fits whole, one is cut at the end of a clause; only as a last resort at a
    word, since a cut mid-thought reads worse than a shorter thought.
    """
    if seconds <= 0:
        return ""
    allowed = seconds + slack
    chosen = next((option for option in core if spoken_seconds(option) <= allowed), "")
    if not chosen and core:
        chosen = next(filter(None, (_cut(option, allowed, at_words=False) for option in core)), "")
        chosen = chosen or _cut(min(core, key=spoken_seconds), allowed, at_words=True)
    parts = [chosen] if chosen else []
    for extra in extras:
        if extra not in parts and spoken_seconds(" ".join([*parts, extra])) <= seconds:
            parts.append(extra)
    return " ".join(parts)


def _cut(sentence: str, seconds: float, *, at_words: bool) -> str:
    """The longest start of `sentence` that fits in `seconds`, ended as a sentence."""
    if at_words:
        words = sentence.split()
        prefixes = [" ".join(words[:count]) for count in range(len(words) - 1, 1, -1)]
    else:
        # A clause cut keeps at least half the thought, or it says nothing ("To start.").
        half = len(sentence.split()) / 2
        ends = [m.start() for m in _CLAUSE_BREAK.finditer(sentence)]
        prefixes = [sentence[:end] for end in reversed(ends) if len(sentence[:end].split()) >= half]
    for prefix in prefixes:
        kept = prefix.split()
        while len(kept) > 2 and kept[-1].lower().strip(",.:;!?") in _DANGLING:
            kept.pop()
        text = " ".join(kept).rstrip(",.:;!?") + "."
        if len(kept) >= 2 and spoken_seconds(text) <= seconds:
            return text
    return ""
