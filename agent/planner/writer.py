"""Choosing every sentence and shot of a plan, from the brief, its shape and a seeded generator."""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass

from agent.planner.brief import Brief
from agent.planner.fitting import Slot
from agent.planner.languages import phrasebook_for
from agent.planner.layout import Shape
from agent.planner.lexicon import FOR_NOUNS, INFO_NOUNS, number_words
from agent.planner.phrases import Phrasebook
from agent.planner.tips import Tip, TipSet, find_tips
from agent.planner.topic import ACTION_NOUNS
from agent.planner.visuals import SHOTS, generic_subject, short_title, shot_prompt, title_case
from core.script import SEGMENT_TAIL_S, spoken_seconds

# How much shorter than its clip a headline is chosen, so the clip can still say it whole.
_HEADLINE_MARGIN_S = 0.4


@dataclass(frozen=True)
class _Unit:
    headline: str  # "First, switch to LED bulbs."
    line: str  # the headline without its lead: "switch to LED bulbs."
    tip: Tip | None


class Writer:
    """Writes one brief's slots; every choice comes from a generator seeded by the brief."""

    def __init__(self, brief: Brief, shape: Shape, target_s: float) -> None:
        self.brief = brief
        self.shape = shape
        self.book: Phrasebook = phrasebook_for(brief.language)
        self.english = self.book.code == "en"
        seed = hashlib.sha256(repr(brief).encode()).digest()
        self.rng = random.Random(int.from_bytes(seed[:8], "big"))
        self.items = shape.items
        noun = brief.item_noun.lower() if self.items else ""
        # "5 mistakes people make when cooking pasta": the topic already names the items.
        self.named = bool(noun) and noun in brief.topic.lower().split()
        self.kind = self._kind()
        self.tips: TipSet | None = None
        if self.english and self.kind != "promo" and (not noun or noun in ACTION_NOUNS):
            self.tips = find_tips(brief.topic)
        self.vars = self._vars(noun, target_s)
        self.line_key, self.line_vars = self._line_source(noun)
        self.shot_index = self.rng.randrange(len(SHOTS))
        self.last_shot = ""
        self.units = self._assign_units()
        self.extras = self._spread_extras()

    # --- what kind of video this is -------------------------------------------------------

    def _kind(self) -> str:
        if not self.english:
            return ""
        if self.named:
            return "named"
        if self.brief.genre == "promo" and self.items is None:
            return "promo"
        if self.brief.action:
            return "verb"
        first = self.brief.topic.split()[0].lower() if self.brief.topic.split() else ""
        return "gerund" if first.endswith("ing") and first.isalpha() else "subject"

    def _line_source(self, noun: str) -> tuple[str, dict[str, str]]:
        """Which generic lines items and points use, and the topic those lines name."""
        if not self.english:
            return "", self.vars
        if noun in self.book.item_lines:
            return noun, self.vars
        if self.kind in ("verb", "gerund"):
            return "gerund", self.vars
        if self.kind != "named":
            return self.kind, self.vars
        if noun in ACTION_NOUNS:
            return "advice", self.vars
        # "facts you didn't know about sharks" talks about sharks; "things to do in Paris" picks.
        about = re.search(r"\b(?:about|on|of)\s+(.+)$", self.brief.topic, re.I)
        if noun in INFO_NOUNS and about:
            subject = about.group(1)
            return "subject", {**self.vars, "topic": subject, "Topic": _capital(subject)}
        return "named", self.vars

    def _vars(self, noun: str, target_s: float) -> dict[str, str]:
        count = self.items or 0
        if not noun:
            noun = {"verb": "ways", "gerund": "tips"}.get(self.kind, "things")
        topic, action = self.brief.topic, self.brief.action
        prep = "for" if noun in FOR_NOUNS else "about"
        if self.named:
            things = topic
        elif action:
            things = f"{noun} to {action}"
        else:
            things = f"{noun} {prep} {topic}"
        dur = ""
        rounded = round(target_s)
        if self.english and rounded <= 90 and rounded % 5 == 0:
            dur = ", in one minute" if rounded == 60 else f", in {number_words(rounded)} seconds"
        return {
            "n": self.book.count(count),
            "N": _capital(self.book.count(count)),
            "noun": noun,
            "noun_one": _singular(noun),
            "prep": prep,
            "topic": topic,
            "Topic": _capital(topic),
            "action": action or topic,
            "things": things,
            "dur": dur,
        }

    def fill(self, template: str, values: dict[str, str] | None = None) -> str:
        return template.format_map(values or self.vars)

    def shuffled(self, lines: tuple[str, ...], values: dict[str, str] | None = None) -> list[str]:
        return [self.fill(line, values) for line in self.rng.sample(lines, len(lines))]

    # --- structure -------------------------------------------------------------------------

    def slots(self) -> list[Slot]:
        shape = self.shape
        slots: list[Slot] = []
        if shape.intro_s:
            slots.append(self._opening(shape.intro_s, talking=True))
        elif shape.hook_s:
            slots.append(self._opening(shape.hook_s, talking=False))
        for unit, shots in zip(self.units, shape.units, strict=True):
            slots.extend(self._unit_slots(unit, shots))
        if shape.outro_s:
            slots.append(self._closing(shape.outro_s, talking=True))
        elif shape.takeaway_s:
            slots.append(self._closing(shape.takeaway_s, talking=False))
        return slots

    def _section(self) -> str:
        if self.items == 1:
            return "one"
        if self.brief.countdown and self.items:
            return "countdown"
        return "list" if self.items else "general"

    def _keys(self, section: str) -> tuple[str, ...]:
        kinds = {"verb": ("verb", "gerund"), "named": ("named", "subject")}.get(
            self.kind, (self.kind,)
        )
        return (*(f"{section}_{kind}" for kind in kinds if kind), section)

    def _speaks(self, talking: bool) -> bool:
        return talking or self.brief.narration

    def _opening(self, budget: float, *, talking: bool) -> Slot:
        book = self.book
        prompt = "" if talking else self._scene_prompt(opening=True)
        if not self._speaks(talking):
            return Slot("broll", budget, prompt=prompt)
        keys = self._keys(self._section())
        hooks = self.shuffled(book.lines(book.hooks, *keys))
        hooks += [self.fill(line) for line in book.lines(book.short_hooks, *keys)]
        core = hooks
        if talking:
            greetings = book.lines(book.greetings, self.brief.tone)
            greeting = self.fill(self.rng.choice(greetings)) if greetings else ""
            core = [f"{greeting} {hook}".strip() for hook in hooks] + hooks
        extras = [self.tips.fact] if self.tips else []
        extras += self.shuffled(book.lines(book.intro_more, "list" if self.items else "general"))
        extras += self.shuffled(book.intro_more.get("", ()))
        kind = "talking" if talking else "broll"
        return Slot(kind, budget, tuple(core), tuple(dict.fromkeys(extras)), prompt)

    def _closing(self, budget: float, *, talking: bool) -> Slot:
        book = self.book
        prompt = "" if talking else self._scene_prompt(opening=False)
        if not self._speaks(talking):
            return Slot("broll", budget, prompt=prompt)
        outros = self.shuffled(book.lines(book.outros, *self._keys(self._section())))
        promo = ("promo",) if self.kind == "promo" else ()
        calls = self.shuffled(book.lines(book.calls, *promo, self.brief.format.value))
        core = [f"{outro} {call}" for outro in outros for call in calls] + outros + calls
        extras = self.shuffled(book.lines(book.outro_more, *promo, "list" if self.items else ""))
        extras += self.shuffled(book.outro_more.get("", ()))
        kind = "talking" if talking else "broll"
        return Slot(kind, budget, tuple(core), tuple(dict.fromkeys(extras)), prompt)

    def _unit_slots(self, unit: _Unit, shots: tuple[float, ...]) -> list[Slot]:
        """One list item or point: a headline clip, then detail clips when it runs long."""
        details = list(unit.tip.details) if unit.tip else []
        slots = []
        for number, budget in enumerate(shots):
            prompt = self._unit_prompt(unit.tip, first=number == 0)
            extras = self.extras.pop(0)
            if not self.brief.narration:
                slots.append(Slot("broll", budget, prompt=prompt))
            elif number == 0:
                own = details[:1] if len(shots) > 1 else details
                slots.append(Slot("broll", budget, (unit.headline,), (*own, *extras), prompt))
            else:
                own = details[1:] if number == 1 else []
                slots.append(Slot("broll", budget, (), (*own, *extras), prompt))
        return slots

    def _spread_extras(self) -> list[list[str]]:
        """Supporting sentences for every body clip, spread evenly so no stretch runs dry."""
        used = {_capital(unit.line) for unit in self.units}
        pool = [line for line in self._detail_pool() if line not in used]
        shots = [number for unit in self.shape.units for number in range(len(unit))]
        spread: list[list[str]] = [[] for _ in shots]
        for index, line in enumerate(pool):
            spread[index * len(shots) // len(pool)].append(line)
        # Long points get a short bridge on each clip after the first.
        follow = [i for i, number in enumerate(shots) if number > 0]
        bridges = self.shuffled(self.book.bridges)
        for index, line in enumerate(bridges[: len(follow)]):
            spread[follow[index * len(follow) // min(len(bridges), len(follow))]].append(line)
        return spread

    # --- list items and points -------------------------------------------------------------

    def _assign_units(self) -> list[_Unit]:
        """A headline per item or point, each short enough for its clip when there is a choice."""
        tips = list(self.tips.tips) if self.tips else []
        generic = self._generic_lines()
        # Steps must come in order; points and items may skip ahead to one that fits.
        ordered = self.line_key == "steps"
        units: list[_Unit] = []
        for index, shots in enumerate(self.shape.units):
            room = shots[0] - SEGMENT_TAIL_S - _HEADLINE_MARGIN_S
            lead = self._lead(index)
            options: list[tuple[str, Tip | None]]
            if tips:
                options = [(f"{tip.line}.", tip) for tip in tips]
            elif generic:
                # Points keep roughly their order: the next one, or the one after if it fits.
                window = 1 if ordered else 2 if self.items is None else len(generic)
                options = [(line, None) for line in generic[:window]]
            else:
                # More items than lines: say the lines again rather than fall silent.
                generic = self._generic_lines()
                options = [(line, None) for line in generic[:1]]
            if self._is_top(index):
                options = [(self.fill(line), None) for line in self.book.item_lines["top"]]
            headlines = [(self._headline(lead, line), line, tip) for line, tip in options]
            fits = [h for h in headlines if spoken_seconds(h[0]) <= room]
            headline, line, tip = fits[0] if fits else min(headlines, key=lambda h: len(h[0]))
            units.append(_Unit(headline, line, tip))
            if tip in tips:
                tips.remove(tip)
            elif line in generic:
                generic.remove(line)
        return units

    def _is_top(self, index: int) -> bool:
        top = self.brief.countdown and self.items and self.items - index == 1
        return bool(top) and self.line_key == "named" and "top" in self.book.item_lines

    def _headline(self, lead: str, line: str) -> str:
        return f"{lead} {line}" if lead else _capital(line)

    def _generic_lines(self) -> list[str]:
        book, key = self.book, self.line_key
        if key == "advice":
            # Advice that works for any list of habits or tips: it never names the topic.
            lines = tuple(line for line in book.item_lines["gerund"] if "{topic}" not in line)
        else:
            table = book.item_lines if self.items is not None else book.point_lines
            lines = book.lines(table, key) or book.lines(book.item_lines, key)
        if self.items is None or key == "steps":
            # Points and steps keep the order a talk makes them in.
            return [self.fill(line, self.line_vars) for line in lines]
        return self.shuffled(lines, self.line_vars)

    def _lead(self, index: int) -> str:
        book, count = self.book, len(self.shape.units)
        if self.items is None:
            if count == 1:
                return ""
            connectors = book.lines(book.connectors, self.kind)
            return (
                connectors[-1]
                if index == count - 1
                else connectors[min(index, len(connectors) - 2)]
            )
        if self.items == 1:
            return ""
        if self.brief.countdown:
            rank = self.items - index
            if rank == 1:
                return book.last_countdown
            return book.numbered.format(i=book.count(rank) if self.english else rank)
        if self.items <= len(book.ordinals):
            return book.ordinals[index]
        return book.numbered.format(i=index + 1)

    def _detail_pool(self) -> list[str]:
        key = "gerund" if self.tips or self.line_key == "advice" else self.line_key
        names_topic = self.kind in ("verb", "gerund") or key not in ("gerund",)
        lines = tuple(
            line
            for line in self.book.lines(self.book.details, key)
            if names_topic or "{topic}" not in line
        )
        pool = self.shuffled(lines, self.line_vars)
        if self.english and key == "gerund":
            # Advice not used as a headline reads well as a supporting sentence.
            advice = tuple(
                line
                for line in self.book.item_lines["gerund"]
                if names_topic or "{topic}" not in line
            )
            pool += [_capital(line) for line in self.shuffled(advice)]
        return pool

    # --- shots -----------------------------------------------------------------------------

    def _next_shot(self, preferred: str = "") -> str:
        shot = preferred
        # Aerial shots open and close; in the body they would all look like the same landscape.
        while not shot or shot == self.last_shot or (shot == "aerial" and not preferred):
            shot = SHOTS[self.shot_index % len(SHOTS)]
            self.shot_index += 1
        self.last_shot = shot
        return shot

    def _prompt(self, shot: str, subject: str) -> str:
        return shot_prompt(
            shot, subject, tone=self.brief.tone, format=self.brief.format, variant=self.shot_index
        )

    def _scene_prompt(self, *, opening: bool) -> str:
        if self.tips:
            shot, subject = self.tips.scene
            return self._prompt(self._next_shot(shot if opening else "wide"), subject)
        if opening:
            shot = self._next_shot("wide" if self.kind == "promo" else "aerial")
        else:
            shot = self._next_shot("close-up")
        return self._prompt(shot, self._generic_subject(shot))

    def _unit_prompt(self, tip: Tip | None, *, first: bool) -> str:
        if tip:
            return self._prompt(self._next_shot(tip.shot if first else ""), tip.subject)
        shot = self._next_shot()
        return self._prompt(shot, self._generic_subject(shot))

    def _generic_subject(self, shot: str) -> str:
        return generic_subject(shot, self.brief.topic, doing=self.kind in ("verb", "gerund"))

    # --- options ---------------------------------------------------------------------------

    def title(self) -> str:
        brief, items = self.brief, self.items
        if not self.english:
            return short_title(_capital(brief.topic))
        if items and brief.countdown:
            text = f"Top {items} {self.vars['things']}"
        elif items:
            things = self.vars["things"]
            if items == 1 and not self.named:
                things = things.replace(self.vars["noun"], self.vars["noun_one"], 1)
            text = f"{items} {things}"
        elif brief.action:
            text = f"How to {brief.action}"
        else:
            text = brief.topic
        return short_title(title_case(text))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _singular(noun: str) -> str:
    if noun.endswith("ies") and len(noun) > 4:
        return noun[:-3] + "y"
    if noun.endswith(("ches", "shes", "sses", "xes")):
        return noun[:-2]
    if noun.endswith("s") and not noun.endswith("ss"):
        return noun[:-1]
    return noun
