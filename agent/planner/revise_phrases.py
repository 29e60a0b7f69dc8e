"""The words a revision is read with: scene references, numbers and the table of rules."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

from agent.planner.revise_edits import Draft, Ref

Handler = Callable[[Draft, "re.Match[str]", Mapping[str, str]], None]
Rule = tuple[re.Pattern[str], Handler]
_END = r"[\s.!?]*"

# --- scene references -----------------------------------------------------------------------

_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10,
}  # fmt: skip
_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "a": 1, "an": 1, "fifteen": 15, "twenty": 20, "thirty": 30,
    "forty": 40, "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90,
}  # fmt: skip
ORD = (
    r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|final|"
    r"penultimate|second[\s-](?:to[\s-])?last|\d+(?:st|nd|rd|th))"
)
NUM = r"(?:-?\d+|one|two|three|four|five|six|seven|eight|nine|ten)"
NOUN = r"(?:scene|segment|part|section|slide|b-?roll|clip|shot)"
NAMED = (
    r"(?:intro(?:duction)?|opening(?:\s+line)?|opener|outro|ending|closing(?:\s+line)?|"
    r"sign-?off)"
)
REF = (
    rf"(?:the\s+)?(?:{ORD}\s+(?:{NOUN}|one)|{NOUN}s?\s+(?:number\s+|no\.?\s*|#\s*)?{NUM}|"
    rf"{NAMED}(?:\s+{NOUN})?)"
)
REFB = rf"(?:{REF}|(?:the\s+)?{ORD}|{NUM})"
IT = r"(?:it|the\s+video|this|the\s+whole\s+thing|everything|the\s+script)"
_BROLL_NOUN = re.compile(r"b-?roll|clip|shot", re.I)


def read_ref(text: str, noun: str = "") -> Ref:
    """The Ref in matched `text`; `noun` is the kind a bare "2" in "swap clips 2 and 3" has."""
    low = " ".join(text.lower().split()).removeprefix("the ")
    if re.match(NAMED, low):
        return Ref("outro" if low.startswith(("outro", "ending", "closing", "sign")) else "intro")
    kind = "broll" if _BROLL_NOUN.search(low) or _BROLL_NOUN.search(noun) else "scene"
    word = re.search(rf"{ORD}|{NUM}", low)
    token = word.group(0) if word else "1"
    if token in ("last", "final"):
        return Ref(kind, 1, from_end=True)
    if token.startswith(("penultimate", "second")) and "last" in token:
        return Ref(kind, 2, from_end=True)
    if token in _ORDINALS:
        return Ref(kind, _ORDINALS[token])
    if token in _NUMBERS:
        return Ref(kind, _NUMBERS[token])
    digits = token.rstrip("stndrh")
    # A number too long to be a scene is still "no such scene", not a crash.
    return Ref(kind, int(digits) if len(digits) <= 6 else 10**6)


def number(text: str) -> float:
    low = " ".join(text.lower().split())
    if low.startswith("half"):
        return 0.5
    if low in _NUMBERS:
        return float(_NUMBERS[low])
    value = float(low) if len(low) <= 12 else math.inf
    return value if math.isfinite(value) else math.inf


# --- the table of rules ---------------------------------------------------------------------


def rule_into(rules: list[Rule]) -> Callable[[str], Callable[[Handler], Handler]]:
    """A decorator that adds a handler to `rules` for clauses its pattern reads whole."""

    def rule(pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            rules.append((re.compile(rf"(?:{pattern}){_END}", re.I | re.S), handler))
            return handler

        return register

    return rule
