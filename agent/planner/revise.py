"""Revising a script by a plain-words instruction: split into clauses, each read by a rule."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from pydantic import ValidationError

from agent.planner.revise_edits import Draft, Item
from agent.planner.revise_options import OPTION_RULES
from agent.planner.revise_phrases import Handler, Rule
from agent.planner.revise_scenes import SCENE_RULES
from core.errors import InvalidInput
from core.production import ProductionOptions
from core.script import Script

__all__ = ["Revision", "revise"]

MAX_INSTRUCTION_CHARS = 2000
_MAX_PIECES = 40
_MAX_CLAUSE_CHARS = 1000

HELP = (
    "You can ask to change what a scene shows ('make scene 2 a sunset'), what it says "
    "('scene 2 should say: …'), the length ('shorter', 'make it 20 seconds'), the order "
    "('swap scenes 2 and 3', 'move the last scene to the start'), remove or add scenes "
    "('remove scene 3', 'drop the outro', 'add a scene about solar panels'), or the music, "
    "captions, format, language, voice or quality ('no music', 'make it square', 'in Spanish', "
    "'male voice', 'use my voice', 'high quality')."
)


@dataclass(frozen=True)
class Revision:
    script: Script
    options: ProductionOptions
    summary: str  # one line for the person: "Scene 2 now shows a sunset."
    changed: tuple[int, ...]  # 0-based indexes of segments whose content changed


def revise(
    script: Script,
    options: ProductionOptions,
    instruction: str,
    *,
    voices: Mapping[str, str] | None = None,
) -> Revision:
    """Apply `instruction` to the script and options; InvalidInput when it cannot."""
    text = " ".join(instruction.split())
    if not any(ch.isalnum() for ch in text):
        raise InvalidInput("say what to change. " + HELP)
    if len(text) > MAX_INSTRUCTION_CHARS:
        raise InvalidInput(
            f"that instruction is {len(text)} characters; ask for changes in at "
            f"most {MAX_INSTRUCTION_CHARS}"
        )
    draft = Draft([Item(s) for s in script.segments], options)
    for clause in _clauses(text):
        _apply(draft, clause, voices or {})
    try:
        revised = Script(segments=draft.segments)
    except ValidationError as exc:
        message = str(exc.errors()[0].get("msg", "invalid")).removeprefix("Value error, ")
        raise InvalidInput(f"that change would break the script: {message}") from None
    changed = tuple(i for i, item in enumerate(draft.items) if item.touched)
    summary = " ".join(draft.notes) or "Nothing needed to change."
    return Revision(revised, draft.options, summary, changed)


# --- splitting an instruction into clauses --------------------------------------------------

_SEPARATOR = re.compile(
    r"(\s*(?:;|,\s*(?:and\s+)?(?:then\s+)?|\band\s+then\b|\band\b|\bthen\b)\s*)", re.I
)
_LEAD = re.compile(
    r"^(?:please|pls|also|and|then|now|ok(?:ay)?|so|just|actually|instead|can\s+you|"
    r"could\s+you|would\s+you|i\s+want(?:\s+you)?\s+to|i'?d\s+like(?:\s+you)?\s+to|"
    r"let'?s|go\s+ahead\s+and)\b[\s,:]*",
    re.I,
)
_TRAIL = re.compile(r"[\s,]+(?:please|instead|too|as\s+well|thanks|thank\s+you)[\s.!?]*$", re.I)


def _clean_clause(text: str) -> str:
    text = text.strip(" ,")
    while True:
        stripped = _LEAD.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return _TRAIL.sub("", text).strip()


def _clauses(text: str) -> list[str]:
    """Split at "and", ",", ";" and "then" where every part reads as an instruction."""
    bits = _SEPARATOR.split(text)
    pieces, seps = bits[0::2], bits[1::2]
    if len(pieces) > _MAX_PIECES:
        raise InvalidInput(f"that is too many changes at once; ask for at most {_MAX_PIECES}")

    def joined(i: int, j: int) -> str:
        return "".join(p + (seps[k] if k < j else "") for k, p in enumerate(pieces[i : j + 1], i))

    @cache
    def reads(i: int, j: int) -> bool:
        clause = _clean_clause(joined(i, j))
        return len(clause) <= _MAX_CLAUSE_CHARS and _match(clause) is not None

    @cache
    def split_from(i: int) -> tuple[int, ...] | None:
        # The most clauses wins: "make scene 2 a sunset and no music" is two changes.
        if i == len(pieces):
            return ()
        for j in range(i, len(pieces)):
            if not pieces[j].strip() and j < len(pieces) - 1:
                continue
            if reads(i, j):
                rest = split_from(j + 1)
                if rest is not None:
                    return (j, *rest)
        return None

    ends = split_from(0)
    if ends is None:
        reachable = {0}
        for i in range(len(pieces)):
            if i in reachable:
                reachable |= {j + 1 for j in range(i, len(pieces)) if reads(i, j)}
        start = max(r for r in reachable if r < len(pieces))
        stuck = _clean_clause(joined(start, len(pieces) - 1))[:80]
        raise InvalidInput(f"I could not read {stuck!r}. {HELP}")
    out, start = [], 0
    for end in ends:
        out.append(_clean_clause(joined(start, end)))
        start = end + 1
    return out


# --- reading a clause -----------------------------------------------------------------------

# Rules are tried in order: the first whose pattern reads the whole clause applies.
_RULES: tuple[Rule, ...] = (*SCENE_RULES, *OPTION_RULES)


def _match(clause: str) -> tuple[re.Match[str], Handler] | None:
    for pattern, handler in _RULES:
        found = pattern.fullmatch(clause)
        if found:
            return found, handler
    return None


def _apply(draft: Draft, clause: str, voices: Mapping[str, str]) -> None:
    found = _match(clause)
    if found is None:
        raise InvalidInput(f"I could not read {clause[:80]!r}. {HELP}")
    match, handler = found
    handler(draft, match, voices)
