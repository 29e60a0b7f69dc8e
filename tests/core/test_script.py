"""The script's text form: parse and print round-trip; errors name line and column."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.script import (
    MAX_BROLL_S,
    MAX_SEGMENTS,
    BrollSegment,
    Script,
    ScriptError,
    TalkingSegment,
    parse_script,
)

words = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"), blacklist_characters="[]|#\n\r\x85\u2028\u2029"
    ),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip() != "")
texts = st.lists(words, min_size=1, max_size=5).map(" ".join).filter(lambda s: s.split() != [])
durations = st.one_of(
    st.none(), st.integers(1, int(MAX_BROLL_S)).map(float), st.sampled_from([1.5, 2.25, 7.5])
)
talking = texts.map(lambda t: TalkingSegment(text=t))
broll = st.builds(
    lambda p, d, t: BrollSegment(prompt=p, duration_s=d, text=t),
    texts,
    durations,
    st.one_of(st.just(""), texts),
)
scripts = st.lists(st.one_of(talking, broll), min_size=1, max_size=8).map(
    lambda s: Script(segments=s)
)


@settings(max_examples=200, deadline=None)
@given(scripts)
def test_print_then_parse_gives_the_same_script(script: Script) -> None:
    assert parse_script(script.to_text()) == script


@settings(max_examples=100, deadline=None)
@given(scripts)
def test_printing_is_stable(script: Script) -> None:
    text = script.to_text()
    assert parse_script(text).to_text() == text


def test_the_architecture_example_parses() -> None:
    script = parse_script(
        "[TALKING] Hi, I'm Maya. Three ways to cut your energy bill, in thirty seconds.\n"
        "[BROLL: close-up of a smart thermostat on a white wall, morning light | 5s] First.\n"
        "[broll: rooftop solar panels, aerial drone shot]   Second, make your own power.\n"
        "  and keep going on a second line.\n"
        "# a comment\n"
        "[TALKING] Follow for part two.\n"
    )
    kinds = [s.kind for s in script.segments]
    assert kinds == ["talking", "broll", "broll", "talking"]
    second = script.segments[1]
    assert isinstance(second, BrollSegment) and second.duration_s == 5.0
    third = script.segments[2]
    assert isinstance(third, BrollSegment)
    assert third.text == "Second, make your own power. and keep going on a second line."


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        ("", 1, 1, "empty"),
        ("hello there", 1, 1, "before the first segment"),
        ("[TALKING] hi\n[BROLL: a cat | five]", 2, 17, "not like '5s'"),
        ("[TALKING] hi\n  [BROLL: a cat |  5 parsecs]", 2, 20, "not like '5s'"),
        ("[TALKING] hi\n   [TALKING", 2, 4, "not closed"),
        ("[TALKING]   ", 1, 1, "needs text"),
        ("[BROLL] nothing to see", 1, 1, "visual prompt"),
        ("[INTRO] hi", 1, 1, "unknown segment marker [INTRO]"),
        ("[BROLL: a dog | 99s] woof", 1, 1, "less than or equal to 20"),
        ("[BROLL: a dog | 0s] woof", 1, 1, "greater than or equal to 1"),
    ],
)
def test_errors_name_line_and_column(text: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(ScriptError) as caught:
        parse_script(text)
    issue = caught.value.issues[0]
    assert (issue.line, issue.column) == (line, column), str(caught.value)
    assert fragment in str(caught.value)


def test_every_bad_line_is_reported_at_once() -> None:
    with pytest.raises(ScriptError) as caught:
        parse_script("[TALKING] fine\n[NOPE] x\n[BROLL] y\n")
    assert [i.line for i in caught.value.issues] == [2, 3]


def test_segment_and_length_limits() -> None:
    too_many = "".join(f"[BROLL: shot {i} | 1s]\n" for i in range(MAX_SEGMENTS + 1))
    with pytest.raises(ScriptError, match="too many segments"):
        parse_script(too_many)
    too_long = "".join(f"[BROLL: shot {i} | 20s]\n" for i in range(31))
    with pytest.raises(ScriptError, match="planned length"):
        parse_script(too_long)
    with pytest.raises(ScriptError, match="characters"):
        parse_script("[TALKING] " + "word " * 400)


def test_narration_longer_than_its_duration_is_never_cut() -> None:
    seg = BrollSegment(
        prompt="a field", duration_s=1.0, text="a rather long sentence of narration here"
    )
    assert seg.planned_seconds > 2.0
