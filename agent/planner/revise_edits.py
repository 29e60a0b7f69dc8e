"""The draft a revision edits and its edits of a scene's picture or words, the order, options."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import ValidationError

from agent.planner.visuals import CAMERA_MOVES, COMPOSITIONS, LIGHTS, STYLE_PARTS
from core.errors import InvalidInput
from core.production import ProductionOptions
from core.script import (
    MAX_PROMPT_CHARS,
    MAX_SEGMENTS,
    MAX_TEXT_CHARS,
    BrollSegment,
    TalkingSegment,
)

Segment = TalkingSegment | BrollSegment

# Prompt parts that describe light, camera and style rather than the subject: a new subject
# keeps them, so a changed scene still looks like the rest of the video.
_TAIL_PARTS = frozenset({*LIGHTS, *CAMERA_MOVES.values(), *STYLE_PARTS, *COMPOSITIONS.values()})
_UNSAFE = re.compile(r"[\[\]|\r\n]")
_QUOTED = re.compile(r"^[\"“'‘«](.*)[\"”'’»]$", re.S)


@dataclass(frozen=True)
class Ref:
    """A scene the person named: the Nth scene or b-roll (from the end when `from_end`)."""

    kind: str  # "scene", "broll", "intro" (first TALKING) or "outro" (last TALKING)
    position: int = 1
    from_end: bool = False


@dataclass
class Item:
    segment: Segment
    touched: bool = False


@dataclass
class Draft:
    """The script being revised; `touched` marks segments whose render cannot be reused."""

    items: list[Item]
    options: ProductionOptions
    notes: list[str] = field(default_factory=list)

    @property
    def segments(self) -> list[Segment]:
        return [item.segment for item in self.items]

    @property
    def seconds(self) -> float:
        return sum(item.segment.planned_seconds for item in self.items)

    def put(self, index: int, segment: Segment) -> None:
        # An edit that leaves a segment as it was keeps its rendered step.
        if segment != self.items[index].segment:
            self.items[index] = Item(segment, touched=True)

    def locate(self, ref: Ref) -> int:
        """The index `ref` names; InvalidInput saying how many there are when it names none."""
        count = len(self.items)
        if ref.kind in ("intro", "outro"):
            talking = [i for i, s in enumerate(self.segments) if isinstance(s, TalkingSegment)]
            if not talking:
                raise InvalidInput(
                    f"there is no host {ref.kind}: none of the {count} scenes has the host talking"
                )
            return talking[0] if ref.kind == "intro" else talking[-1]
        if ref.kind == "broll":
            pool = [i for i, s in enumerate(self.segments) if isinstance(s, BrollSegment)]
            label = "b-roll clip"
        else:
            pool, label = list(range(count)), "scene"
        n = len(pool)
        if not 1 <= ref.position <= n:
            asked = f"{ordinal(ref.position)} from the end" if ref.from_end else str(ref.position)
            have = f"only {n} {label}s" if n != 1 else f"only 1 {label}"
            raise InvalidInput(
                f"there is no {label} {asked}; the script has {have}"
                + (f" (1 to {n})" if n > 1 else "")
            )
        return pool[-ref.position] if ref.from_end else pool[ref.position - 1]


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def unquote(text: str) -> str:
    text = " ".join(text.split())
    found = _QUOTED.match(text)
    return found.group(1).strip() if found else text


def broll(prompt: str, text: str, duration_s: float | None = None) -> BrollSegment:
    try:
        return BrollSegment(prompt=prompt, text=text, duration_s=duration_s)
    except ValidationError as exc:
        raise InvalidInput(_first_error(exc)) from None


def talking(text: str) -> TalkingSegment:
    try:
        return TalkingSegment(text=text)
    except ValidationError as exc:
        raise InvalidInput(_first_error(exc)) from None


def _first_error(exc: ValidationError) -> str:
    return str(exc.errors()[0].get("msg", "invalid")).removeprefix("Value error, ")


# --- pictures -------------------------------------------------------------------------------


def style_tail(prompt: str) -> list[str]:
    parts = [p.strip() for p in prompt.split(",")]
    for index, part in enumerate(parts[1:], start=1):
        if part in _TAIL_PARTS:
            return parts[index:]
    return []


def _nearest_tail(draft: Draft, index: int) -> list[str]:
    # A host scene has no light or style of its own: it borrows the nearest clip's.
    order = sorted(range(len(draft.items)), key=lambda i: (abs(i - index), i))
    for i in order:
        segment = draft.items[i].segment
        if isinstance(segment, BrollSegment):
            return style_tail(segment.prompt)
    return []


def fit_prompt(subject: str, tail: list[str]) -> str:
    """`subject` with as much of `tail` as fits in MAX_PROMPT_CHARS, with no forbidden marks."""
    subject = " ".join(_UNSAFE.sub(" ", unquote(subject)).split()).strip(" ,.")
    if not any(ch.isalnum() for ch in subject):
        raise InvalidInput("say what the scene should show, e.g. 'make scene 2 a sunset'")
    if len(subject) > MAX_PROMPT_CHARS:
        raise InvalidInput(
            f"a scene's picture is described in at most {MAX_PROMPT_CHARS} "
            f"characters; that was {len(subject)}"
        )
    parts = [subject, *tail]
    while len(parts) > 1 and len(", ".join(parts)) > MAX_PROMPT_CHARS:
        parts.pop()
    return ", ".join(parts)


def show(draft: Draft, ref: Ref, subject: str) -> None:
    """Scene `ref` shows `subject`; a host scene becomes a clip with the host's words over it."""
    index = draft.locate(ref)
    old = draft.items[index].segment
    if isinstance(old, BrollSegment):
        prompt = fit_prompt(subject, style_tail(old.prompt))
        draft.put(index, broll(prompt, old.text, old.duration_s))
    else:
        prompt = fit_prompt(subject, _nearest_tail(draft, index))
        draft.put(index, broll(prompt, old.text))
    shown = prompt.split(",")[0]
    draft.notes.append(f"Scene {index + 1} now shows {shown}.")


def add_scene(draft: Draft, subject: str, narration: str, before: int | None, label: str) -> None:
    """A new clip of `subject`, before the outro unless `before` says where."""
    if len(draft.items) >= MAX_SEGMENTS:
        raise InvalidInput(f"the script already has {MAX_SEGMENTS} scenes, the most it can have")
    if before is None:
        last = draft.items[-1].segment
        before = (
            len(draft.items) - 1
            if isinstance(last, TalkingSegment) and len(draft.items) > 1
            else len(draft.items)
        )
    prompt = fit_prompt(subject, _nearest_tail(draft, before))
    # Narration is written in English: in another language the clip runs silent instead.
    text = narration if draft.options.language.startswith("en") else ""
    draft.items.insert(before, Item(broll(prompt, text), touched=True))
    draft.notes.append(f"Added scene {before + 1} {label}.")


def set_composition(draft: Draft) -> None:
    """Clips framed for the old format are reframed for the new one."""
    wanted = COMPOSITIONS[draft.options.format]
    old = set(COMPOSITIONS.values()) - {wanted}
    for index, item in enumerate(draft.items):
        segment = item.segment
        if isinstance(segment, BrollSegment):
            parts = [wanted if p.strip() in old else p.strip() for p in segment.prompt.split(",")]
            draft.put(index, broll(", ".join(parts), segment.text, segment.duration_s))


# --- words ----------------------------------------------------------------------------------


def say(draft: Draft, ref: Ref, text: str) -> None:
    index = draft.locate(ref)
    text = unquote(text)
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(
            f"a scene says at most {MAX_TEXT_CHARS} characters; that was {len(text)}"
        )
    old = draft.items[index].segment
    if isinstance(old, TalkingSegment):
        if not any(ch.isalnum() for ch in text):
            raise InvalidInput(f"scene {index + 1} is the host talking; give the words to say")
        draft.put(index, talking(text))
    else:
        draft.put(index, broll(old.prompt, text, old.duration_s))
    said = _short(text)
    draft.notes.append(
        f'Scene {index + 1} now says "{said}"' + ("" if said[-1:] in ".!?…" else ".")
    )


def _short(text: str, limit: int = 50) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


# --- order ----------------------------------------------------------------------------------


def swap(draft: Draft, a: Ref, b: Ref) -> None:
    i, j = draft.locate(a), draft.locate(b)
    if i == j:
        raise InvalidInput(f"both name scene {i + 1}; name two different scenes to swap")
    items = draft.items
    items[i], items[j] = Item(items[j].segment, True), Item(items[i].segment, True)
    draft.notes.append(f"Scenes {min(i, j) + 1} and {max(i, j) + 1} swapped.")


def move(draft: Draft, ref: Ref, to: int, *, after: bool = False) -> None:
    """Move scene `ref` to index `to` of the current list (after it when `after`)."""
    index = draft.locate(ref)
    item = draft.items.pop(index)
    if to > index:
        to -= 1
    to = min(max(to + (1 if after else 0), 0), len(draft.items))
    draft.items.insert(to, Item(item.segment, touched=True))
    draft.notes.append(f"Scene {index + 1} is now scene {to + 1}.")


def remove(draft: Draft, ref: Ref) -> None:
    index = draft.locate(ref)
    if len(draft.items) == 1:
        raise InvalidInput("that is the only scene; a script needs at least one")
    draft.items.pop(index)
    name = {"intro": "the intro", "outro": "the outro"}.get(ref.kind, f"scene {index + 1}")
    draft.notes.append(f"Removed {name}; {len(draft.items)} scenes left.")


def remove_many(draft: Draft, refs: list[Ref]) -> None:
    """Remove several scenes named by their numbers before any of them goes."""
    indexes = sorted({draft.locate(ref) for ref in refs}, reverse=True)
    if len(indexes) >= len(draft.items):
        raise InvalidInput("that would remove every scene; a script needs at least one")
    for index in indexes:
        draft.items.pop(index)
    names = ", ".join(str(i + 1) for i in sorted(indexes))
    draft.notes.append(f"Removed scenes {names}; {len(draft.items)} scenes left.")


def set_options(draft: Draft, note: str, **update: object) -> None:
    try:
        data = draft.options.model_dump()
        data.update(update)
        draft.options = ProductionOptions.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_first_error(exc)) from None
    draft.notes.append(note)
