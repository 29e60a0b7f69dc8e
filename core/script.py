"""The script: typed segments, and a parser and printer for its text form that round-trip.

Text form, one segment per line (continuation lines join the segment above; `#` starts a comment):

    [TALKING] Hi, I'm Maya. Three ways to cut your energy bill.
    [BROLL: close-up of a smart thermostat, morning light | 5s] First, let it learn your schedule.
    [BROLL: rooftop solar panels, aerial drone shot] Second, make your own power.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.errors import InvalidInput

MAX_SEGMENTS = 60
MAX_TEXT_CHARS = 800
MAX_PROMPT_CHARS = 400
MIN_BROLL_S = 1.0
MAX_BROLL_S = 20.0
MAX_TOTAL_S = 600.0
DEFAULT_BROLL_S = 4.0
# Speech rate the TTS is driven at. The estimate below was fitted to eSpeak NG at this rate on
# a hundred planner sentences (RMSE 0.27 s a segment); letters predict length better than words.
SPEECH_WPM = 165
SECONDS_PER_LETTER = 0.0647
SENTENCE_PAUSE_S = 0.386
COMMA_PAUSE_S = 0.194
# Silence the renderer leaves after each spoken segment.
SEGMENT_TAIL_S = 0.35

_FORBIDDEN_IN_PROMPT = re.compile(r"[\[\]|\n\r]")
_LETTER = re.compile(r"\w", re.UNICODE)


def _clean(text: str) -> str:
    return " ".join(text.split())


def spoken_seconds(text: str) -> float:
    """Planned length of `text` read aloud at the house speech rate."""
    letters = len(_LETTER.findall(text))
    if letters == 0:
        return 0.0
    sentences = len(re.findall(r"[.!?](\s|$)", text))
    return (
        letters * SECONDS_PER_LETTER
        + sentences * SENTENCE_PAUSE_S
        + text.count(",") * COMMA_PAUSE_S
    )


def segment_seconds(kind: str, duration_s: float | None, speech_s: float | None) -> float:
    """How long a segment lasts on screen, given its speech length (planned or measured).

    Speech is never cut: an explicit b-roll duration shorter than its narration is stretched.
    """
    spoken = None if speech_s is None else speech_s + SEGMENT_TAIL_S
    if kind == "talking":
        return spoken or SEGMENT_TAIL_S
    if duration_s is not None:
        return max(duration_s, spoken or 0.0)
    return max(spoken, MIN_BROLL_S) if spoken is not None else DEFAULT_BROLL_S


class TalkingSegment(BaseModel):
    """The avatar speaks `text`."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["talking"] = "talking"
    text: str = Field(description="What the host says, in plain words.")

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        value = _clean(value)
        if not value:
            raise ValueError("a TALKING segment needs text for the host to say")
        if len(value) > MAX_TEXT_CHARS:
            raise ValueError(f"text is {len(value)} characters; at most {MAX_TEXT_CHARS}")
        return value

    @property
    def planned_seconds(self) -> float:
        return segment_seconds("talking", None, spoken_seconds(self.text))


class BrollSegment(BaseModel):
    """A generated clip of `prompt`, with optional narration over it."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["broll"] = "broll"
    prompt: str = Field(description="What the clip shows: subject, setting, light, camera.")
    duration_s: float | None = Field(
        default=None,
        ge=MIN_BROLL_S,
        le=MAX_BROLL_S,
        description="Clip length in seconds; omit to fit the narration.",
    )
    text: str = Field(default="", description="Voice-over spoken during the clip; may be empty.")

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, value: str) -> str:
        value = _clean(value)
        if not value:
            raise ValueError("a BROLL segment needs a visual prompt")
        if _FORBIDDEN_IN_PROMPT.search(value):
            raise ValueError("a visual prompt cannot contain '[', ']' or '|'")
        if len(value) > MAX_PROMPT_CHARS:
            raise ValueError(f"prompt is {len(value)} characters; at most {MAX_PROMPT_CHARS}")
        return value

    @field_validator("duration_s")
    @classmethod
    def _duration(cls, value: float | None) -> float | None:
        # Hundredths are plenty, and they print exactly: a script re-parsed is the same script.
        return None if value is None else round(value, 2)

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        value = _clean(value)
        if len(value) > MAX_TEXT_CHARS:
            raise ValueError(f"text is {len(value)} characters; at most {MAX_TEXT_CHARS}")
        return value

    @property
    def planned_seconds(self) -> float:
        return segment_seconds(
            "broll", self.duration_s, spoken_seconds(self.text) if self.text else None
        )


Segment = Annotated[TalkingSegment | BrollSegment, Field(discriminator="kind")]


class Script(BaseModel):
    """An ordered list of segments; the unit the agent proposes and the person approves."""

    model_config = ConfigDict(frozen=True)
    segments: list[Segment] = Field(min_length=1, max_length=MAX_SEGMENTS)

    @field_validator("segments")
    @classmethod
    def _total(cls, value: list[TalkingSegment | BrollSegment]) -> list:
        total = sum(s.planned_seconds for s in value)
        if total > MAX_TOTAL_S:
            raise ValueError(f"planned length is {total:.0f}s; at most {MAX_TOTAL_S:.0f}s")
        return value

    @property
    def planned_seconds(self) -> float:
        return sum(s.planned_seconds for s in self.segments)

    def to_text(self) -> str:
        return "\n".join(format_segment(s) for s in self.segments) + "\n"

    @classmethod
    def parse(cls, text: str) -> Script:
        return parse_script(text)


def format_segment(segment: TalkingSegment | BrollSegment) -> str:
    if isinstance(segment, TalkingSegment):
        return f"[TALKING] {segment.text}"
    marker = segment.prompt
    if segment.duration_s is not None:
        marker += f" | {segment.duration_s:g}s"
    return f"[BROLL: {marker}]" + (f" {segment.text}" if segment.text else "")


@dataclass(frozen=True)
class ScriptIssue:
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


class ScriptError(InvalidInput):
    """A script that does not parse or breaks a limit; names every line and column at fault."""

    code = "invalid_script"

    def __init__(self, issues: list[ScriptIssue]) -> None:
        self.issues = issues
        super().__init__(
            "invalid script: " + "; ".join(str(i) for i in issues),
            details=[(f"script line {i.line}, column {i.column}", i.message) for i in issues],
        )


_MARKER = re.compile(r"\[\s*(?P<tag>[A-Za-z]+)\s*(?::(?P<body>[^\]]*))?\]")
_DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)\s*(?:s|sec|secs|second|seconds)?$", re.IGNORECASE)


@dataclass
class _Draft:
    line: int
    column: int
    kind: str
    prompt: str
    duration_s: float | None
    text: list[str]


def _parse_marker(
    match: re.Match[str], line_no: int, indent: int, issues: list[ScriptIssue]
) -> tuple[str, str, float | None] | None:
    tag = match.group("tag").upper()
    body = match.group("body")
    col = indent + match.start() + 1
    if tag == "TALKING":
        if body is not None and body.strip():
            issues.append(
                ScriptIssue(line_no, col, "[TALKING] takes no prompt; write the text after ']'")
            )
            return None
        return ("talking", "", None)
    if tag != "BROLL":
        issues.append(
            ScriptIssue(
                line_no, col, f"unknown segment marker [{tag}]; use [TALKING] or [BROLL: …]"
            )
        )
        return None
    if body is None or not body.strip():
        issues.append(
            ScriptIssue(line_no, col, "[BROLL] needs a visual prompt: [BROLL: what the clip shows]")
        )
        return None
    prompt, _, duration_text = body.partition("|")
    duration: float | None = None
    if duration_text.strip():
        found = _DURATION.match(duration_text.strip())
        if not found:
            after_bar = match.start("body") + body.index("|") + 1
            dcol = indent + after_bar + len(duration_text) - len(duration_text.lstrip()) + 1
            issues.append(
                ScriptIssue(line_no, dcol, f"duration {duration_text.strip()!r} is not like '5s'")
            )
            return None
        duration = float(found.group("n"))
    elif "|" in body:
        issues.append(ScriptIssue(line_no, col, "'|' must be followed by a duration such as 5s"))
        return None
    return ("broll", prompt, duration)


def parse_script(text: str) -> Script:
    """Parse the text form; raise ScriptError naming each line and column at fault."""
    issues: list[ScriptIssue] = []
    drafts: list[_Draft] = []
    for line_no, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip())
        if stripped.startswith("["):
            match = _MARKER.match(stripped)
            if not match:
                issues.append(
                    ScriptIssue(line_no, indent + 1, "segment marker is not closed with ']'")
                )
                continue
            parsed = _parse_marker(match, line_no, indent, issues)
            if parsed is None:
                continue
            kind, prompt, duration = parsed
            rest = stripped[match.end() :]
            drafts.append(_Draft(line_no, indent + 1, kind, prompt, duration, [rest]))
        elif drafts:
            drafts[-1].text.append(stripped)
        else:
            issues.append(
                ScriptIssue(
                    line_no,
                    indent + 1,
                    "text before the first segment; start with [TALKING] or [BROLL: …]",
                )
            )
    if not drafts and not issues:
        issues.append(
            ScriptIssue(
                1, 1, "the script is empty; write at least one [TALKING] or [BROLL: …] line"
            )
        )
    segments: list[TalkingSegment | BrollSegment] = []
    for d in drafts:
        body = " ".join(d.text)
        try:
            if d.kind == "talking":
                segments.append(TalkingSegment(text=body))
            else:
                segments.append(BrollSegment(prompt=d.prompt, duration_s=d.duration_s, text=body))
        except ValidationError as exc:
            for err in exc.errors():
                issues.append(ScriptIssue(d.line, d.column, _pydantic_message(err)))
    if len(segments) > MAX_SEGMENTS:
        issues.append(
            ScriptIssue(drafts[MAX_SEGMENTS].line, 1, f"too many segments; at most {MAX_SEGMENTS}")
        )
    if issues:
        raise ScriptError(issues)
    try:
        return Script(segments=segments)
    except ValidationError as exc:
        raise ScriptError([ScriptIssue(1, 1, _pydantic_message(e)) for e in exc.errors()]) from None


def _pydantic_message(err: object) -> str:
    assert isinstance(err, dict)
    field = ".".join(str(p) for p in err.get("loc", ()) if p != "segments")
    message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{field}: {message}" if field and field not in message else message
