"""The rules that edit scenes: order, removal, addition, a scene's words or picture, length."""

from __future__ import annotations

import re
from collections.abc import Mapping

from agent.planner import revise_edits as ed
from agent.planner import revise_length as ln
from agent.planner.revise_edits import Draft
from agent.planner.revise_phrases import (
    IT,
    NAMED,
    NOUN,
    NUM,
    REF,
    REFB,
    Rule,
    number,
    read_ref,
    rule_into,
)

SCENE_RULES: list[Rule] = []
_rule = rule_into(SCENE_RULES)


@_rule(
    rf"(?:swap|switch|exchange|flip|trade)\s+(?:the\s+)?(?:(?P<noun>{NOUN}s)\s+)?"
    rf"(?P<a>{REFB})\s+(?:and|with|&|for)\s+(?P<b>{REFB})(?:\s+(?P<noun2>{NOUN}s))?"
    r"(?:\s+around|\s+places)?"
)
def _swap(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    noun = m.group("noun") or m.group("noun2") or ""
    ed.swap(draft, read_ref(m.group("a"), noun), read_ref(m.group("b"), noun))


@_rule(
    rf"(?:move|put|place|bring|make)\s+(?P<t>{REF})\s+(?:(?:to|at|in|into|be)\s+)?"
    r"(?:the\s+)?(?:very\s+)?(?P<w>start|beginning|front|top|first|end|back|bottom|last|"
    r"opening|closing|final)(?:\s+(?:of\s+the\s+(?:video|script)|position|place|spot|"
    rf"{NOUN}|one))?|(?P<v>start|open|begin|end|finish|close)\s+(?:with|on)\s+(?P<t2>{REF})"
)
def _move_edge(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    where = (m.group("w") or m.group("v")).lower()
    to_start = where in ("start", "beginning", "front", "top", "first", "opening", "open", "begin")
    ed.move(draft, read_ref(m.group("t") or m.group("t2")), 0 if to_start else len(draft.items))


@_rule(
    rf"(?:move|put|place)\s+(?P<t>{REF})\s+(?P<rel>before|after|ahead\s+of|behind)\s+"
    rf"(?P<o>{REFB})"
)
def _move_next_to(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    other = draft.locate(read_ref(m.group("o")))
    after = m.group("rel").lower() in ("after", "behind")
    ed.move(draft, read_ref(m.group("t")), other, after=after)


@_rule(
    rf"(?:remove|drop|delete|cut|skip|lose|kill|ditch|scrap|get\s+rid\s+of|take\s+out|"
    rf"leave\s+out|cut\s+out)\s+(?P<t>{REF})(?:\s+(?:entirely|completely|altogether))?|"
    rf"(?:no|without)\s+(?:the\s+|an?\s+)?(?P<n>{NAMED})"
)
def _remove(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    ed.remove(draft, read_ref(m.group("t") or m.group("n")))


@_rule(
    rf"(?:remove|drop|delete|cut|skip)\s+(?:the\s+)?(?P<noun>{NOUN}s)\s+"
    rf"(?P<list>{NUM}(?:\s*(?:,\s*(?:and\s+)?|and\s+|&\s*){NUM})+)"
)
def _remove_many(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    found = re.findall(NUM, m.group("list"), re.I)
    ed.remove_many(draft, [read_ref(n, m.group("noun")) for n in found])


@_rule(
    rf"(?:(?:make|cut|trim|reduce|bring|keep|change|use|give|have)\s+(?:{IT}\s+)?"
    r"(?:down\s+|up\s+)?(?:to\s+|into\s+|with\s+|at\s+)?|(?:only|just)\s+)?"
    rf"(?P<n>{NUM})\s+(?:scenes|segments|parts|shots|clips)(?:\s+(?:long|total|in\s+total))?"
)
def _scene_count(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    ln.set_scene_count(draft, read_ref(m.group("n")).position)


@_rule(
    r"(?:add|insert|include|put\s+in)\s+(?:a|an|one|another|one\s+more|an\s+extra|a\s+new)\s+"
    r"(?:(?:short|quick)\s+)?(?:scene|clip|shot|b-?roll|segment|part|section)\s+"
    r"(?P<rel>about|on|explaining|covering|of|showing|with|featuring|that\s+shows)\s+"
    rf"(?P<s>.+?)(?:\s+(?P<pos>before|after)\s+(?P<o>{REFB})|\s+at\s+the\s+(?P<e>start|"
    r"beginning|end))?"
)
def _add(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    subject = ed.unquote(m.group("s")).strip(" .,")
    before: int | None = None
    if m.group("o"):
        before = draft.locate(read_ref(m.group("o"))) + (m.group("pos").lower() == "after")
    elif m.group("e"):
        before = len(draft.items) if m.group("e").lower() == "end" else 0
    about = m.group("rel").lower() in ("about", "on", "explaining", "covering")
    seen = f"a scene that shows {subject} in context" if about else subject
    label = f"about {subject}" if about else f"showing {subject}"
    ed.add_scene(draft, seen, f"One more thing: {subject}.", before, label)


@_rule(
    rf"(?P<t>{REF})\s+(?:(?:should|must|could|will|can|needs\s+to|has\s+to)\s+)?"
    r"(?:say|says|read|reads)\s*:?\s*(?P<x>.+)|"
    rf"(?:change|make|have|let|set|get|edit)\s+(?P<t2>{REF})\s+(?:to\s+)?(?:say|read)\s*:?\s*"
    r"(?P<x2>.+)|(?:change|replace|rewrite|set)\s+(?:the\s+)?(?:words|text|lines?|narration|"
    rf"voice-?over|script)\s+(?:of|in|for)\s+(?P<t3>{REF})\s+(?:to|with|as)\s*:?\s*(?P<x3>.+)|"
    rf"(?:in|for)\s+(?P<t4>{REF}),?\s+(?:say|have\s+(?:the\s+host|it)\s+say)\s*:?\s*(?P<x4>.+)|"
    rf"(?P<t5>{REF})\s+(?:text|words|line|narration)\s*:\s*(?P<x5>.+)"
)
def _say(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    n = next(k for k in ("", "2", "3", "4", "5") if m.group("t" + k))
    ed.say(draft, read_ref(m.group("t" + n)), m.group("x" + n))


@_rule(
    rf"(?:make\s+)?(?P<t>{REF})\s+(?:a\s+(?:bit|little)\s+|much\s+|slightly\s+)?"
    r"(?P<d>shorter|longer)"
)
def _scene_length(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    ln.scene_length(
        draft, read_ref(m.group("t")), 1.5 if m.group("d").lower() == "longer" else 2 / 3
    )


_SHOW = r"(?:show|shows|showing|be|feature|features|depict|depicts|look\s+like|have)"


@_rule(
    rf"(?:make|turn|change|switch|set)\s+(?P<t>{REF})\s+(?:in)?to\s+(?:{_SHOW}\s+)?(?P<s>.+)|"
    rf"(?:make|have|let)\s+(?P<t2>{REF})\s+(?:{_SHOW}\s+|into\s+)?(?P<s2>.+)|"
    rf"(?P<t3>{REF})\s*(?:(?:should|must|could|will|can|needs\s+to|has\s+to)\s+)?"
    rf"(?:{_SHOW}|is|=|:)\s*(?P<s3>.+)|"
    rf"(?:replace|swap\s+out)\s+(?P<t4>{REF})\s+(?:with|by|for)\s+(?P<s4>.+)|"
    rf"(?:show|use|put)\s+(?P<s5>.+?)\s+(?:in|for|on|as)\s+(?P<t5>{REF})|"
    rf"(?:in|for|on)\s+(?P<t6>{REF}),?\s+(?:show|use|put)\s+(?P<s6>.+)"
)
def _show(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    n = next(k for k in ("", "2", "3", "4", "5", "6") if m.group("t" + k))
    ed.show(draft, read_ref(m.group("t" + n)), m.group("s" + n))


@_rule(
    rf"(?:make\s+{IT}\s+)?(?P<q>a\s+(?:bit|little)\s+|slightly\s+|much\s+|a\s+lot\s+)?"
    rf"(?P<d>shorter|longer|briefer|quicker)|(?P<v>shorten|trim|tighten|condense|lengthen|"
    rf"extend|stretch|cut\s+down)\s+{IT}(?:\s+(?:down|up|out))?(?:\s+(?P<q2>a\s+(?:bit|"
    r"little)|a\s+lot))?"
)
def _relative_length(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    word = (m.group("d") or m.group("v")).lower()
    grow = word in ("longer", "lengthen", "extend", "stretch")
    how = (m.group("q") or m.group("q2") or "").lower()
    if "bit" in how or "little" in how or "slightly" in how:
        factor = 1.25 if grow else 0.8
    elif "much" in how or "lot" in how:
        factor = 2.0 if grow else 0.5
    else:
        factor = 1.5 if grow else 2 / 3
    ln.scale_length(draft, factor)


_AMOUNT = (
    r"(?P<n>-?\d+(?:\.\d+)?|half\s+an?|an?|one|two|three|four|five|ten|fifteen|twenty|thirty|forty"
    r"(?:-five)?|fifty|sixty|ninety)"
)


@_rule(
    rf"(?:(?:make|cut|trim|shorten|lengthen|extend|stretch|bring|get|keep|change|set)\s+"
    rf"(?:{IT}|the\s+length|the\s+duration)\s+(?:down\s+|up\s+)?(?:to\s+|at\s+|be\s+|into\s+)?"
    r"|length\s*:?\s*|duration\s*:?\s*|(?:only|just)\s+)?(?:(?:about|around|roughly|exactly|"
    r"under|at\s+most|max(?:imum)?)\s+)?(?:an?\s+)?"
    + _AMOUNT
    + r"\s*-?\s*(?P<u>s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)"
    r"(?:\s+(?:long|total|video|max|in\s+total|or\s+(?:less|so)))?"
)
def _absolute_length(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    unit = m.group("u").lower()
    scale = 3600 if unit.startswith("h") else 60 if unit.startswith("m") else 1
    seconds = number(m.group("n")) * scale
    ln.check_length(seconds)
    ln.fit_length(draft, seconds)
