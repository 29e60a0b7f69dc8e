"""Revising a planned script by instruction: the asked change, nothing else, or a clear refusal."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.planner import Revision, plan, revise
from core.errors import InvalidInput
from core.production import Preset, ProductionOptions, VideoFormat
from core.script import MAX_PROMPT_CHARS, BrollSegment, Script, TalkingSegment

DEMO = (
    "A 30-second vertical video about three ways to save energy at home, "
    "with a friendly host who opens and closes"
)
_, SCRIPT, OPTIONS = plan(DEMO)
SEGMENTS = SCRIPT.segments
COUNT = len(SEGMENTS)
VOICES = {"maya.wav": "voice-123"}


def run(instruction: str, voices: dict[str, str] | None = None) -> Revision:
    return revise(SCRIPT, OPTIONS, instruction, voices=VOICES if voices is None else voices)


def assert_valid(result: Revision) -> None:
    Script.model_validate(result.script.model_dump())
    for segment in result.script.segments:
        if isinstance(segment, BrollSegment):
            assert len(segment.prompt) <= MAX_PROMPT_CHARS
            assert not set("[]|") & set(segment.prompt)


def test_the_demo_script_has_a_host_at_both_ends() -> None:
    assert COUNT == 5
    assert isinstance(SEGMENTS[0], TalkingSegment) and isinstance(SEGMENTS[-1], TalkingSegment)


# instruction, index that now shows the subject, the subject
VISUALS = [
    ("make the second scene a sunset", 1, "a sunset"),
    ("scene 3 should show a city at night", 2, "a city at night"),
    ("change the last scene to a beach", 4, "a beach"),
    ("make the first b-roll a close-up of coffee", 1, "a close-up of coffee"),
    ("Please replace scene 4 with a snowy forest.", 3, "a snowy forest"),
    ("show a red bicycle in the third clip", 3, "a red bicycle"),
]


@pytest.mark.parametrize(("instruction", "index", "subject"), VISUALS)
def test_a_scene_shows_something_else(instruction: str, index: int, subject: str) -> None:
    result = run(instruction)
    assert_valid(result)
    assert result.changed == (index,)
    segment = result.script.segments[index]
    assert isinstance(segment, BrollSegment)
    assert segment.prompt.startswith(subject + ",")
    # The new subject keeps the light, camera and style of the clip it replaces.
    assert "warm and inviting" in segment.prompt
    assert segment.text == SEGMENTS[index].text
    for i, old in enumerate(SEGMENTS):
        if i != index:
            assert result.script.segments[i] == old
    assert subject in result.summary and str(index + 1) in result.summary


def test_a_host_scene_asked_to_show_something_becomes_a_clip_keeping_its_words() -> None:
    result = run("make the last scene a beach")
    outro = result.script.segments[-1]
    assert isinstance(outro, BrollSegment)
    assert outro.text == SEGMENTS[-1].text
    assert outro.prompt.startswith("a beach, ")


@pytest.mark.parametrize(
    ("instruction", "index", "words"),
    [
        ("scene 2 should say: Start with the thermostat, and save.", 1,
         "Start with the thermostat, and save."),
        ("change the intro to say Hi, I'm Maya!", 0, "Hi, I'm Maya!"),
        ('make the outro say "Thanks for watching."', 4, "Thanks for watching."),
    ],
)  # fmt: skip
def test_a_scene_says_new_words(instruction: str, index: int, words: str) -> None:
    result = run(instruction)
    assert_valid(result)
    assert result.changed == (index,)
    assert result.script.segments[index].text == words
    assert type(result.script.segments[index]) is type(SEGMENTS[index])
    assert [s for i, s in enumerate(result.script.segments) if i != index] == [
        s for i, s in enumerate(SEGMENTS) if i != index
    ]


@pytest.mark.parametrize(
    ("instruction", "target"),
    [
        ("shorter", SCRIPT.planned_seconds * 2 / 3),
        ("make it longer", SCRIPT.planned_seconds * 1.5),
        ("make it 20 seconds", 20),
        ("cut it to 15 s", 15),
        ("45 seconds long", 45),
        ("make it 1 minute", 60),
        ("make it 2 minutes", 120),
        ("make it 10 seconds", 10),
    ],
)
def test_length_lands_within_ten_percent(instruction: str, target: float) -> None:
    result = run(instruction)
    assert_valid(result)
    assert abs(result.script.planned_seconds - target) <= 0.1 * target
    assert result.script.segments[0] == SEGMENTS[0] or result.script.segments[0].text
    # The host still opens and closes.
    assert isinstance(result.script.segments[0], TalkingSegment)
    assert isinstance(result.script.segments[-1], TalkingSegment)
    assert result.changed
    for i in set(range(len(result.script.segments))) - set(result.changed):
        assert result.script.segments[i] in SEGMENTS


@pytest.mark.parametrize(
    ("instruction", "field", "value"),
    [
        ("no music", "music", False),
        ("drop the music", "music", False),
        ("without music", "music", False),
        ("no captions", "captions", False),
        ("make it square", "format", VideoFormat.square),
        ("youtube", "format", VideoFormat.youtube),
        ("landscape", "format", VideoFormat.youtube),
        ("in Spanish", "language", "es"),
        ("in French", "language", "fr"),
        ("switch to Japanese", "language", "ja"),
        ("male voice", "voice", "male"),
        ("use a female voice", "voice", "female"),
        ("use my cloned voice", "voice", "voice-123"),
        ("use my voice", "voice", "voice-123"),
        ("high quality", "preset", Preset.quality),
        ("balanced", "preset", Preset.balanced),
        ("call it Energy Tips", "title", "Energy Tips"),
    ],
)
def test_options_change_and_the_script_stays(instruction: str, field: str, value: object) -> None:
    result = run(instruction)
    assert getattr(result.options, field) == value
    if field != "format":
        assert result.script == SCRIPT
        assert result.changed == ()
    rest = {k: v for k, v in result.options.model_dump().items() if k != field}
    assert rest == {k: v for k, v in OPTIONS.model_dump().items() if k != field}


def test_options_that_were_off_come_back_on() -> None:
    quiet = OPTIONS.model_copy(update={"music": False, "captions": False, "preset": Preset.quality})
    result = revise(SCRIPT, quiet, "use calm piano music and add captions, fast")
    assert result.options.music and result.options.captions
    assert result.options.music_prompt == "calm piano background music"
    assert result.options.preset is Preset.fast
    assert revise(SCRIPT, quiet, "add music").options.music_prompt == OPTIONS.music_prompt


def test_a_new_format_reframes_the_clips() -> None:
    result = run("make it square")
    clips = [s for s in result.script.segments if isinstance(s, BrollSegment)]
    assert all(c.prompt.endswith("square 1:1 composition") for c in clips)
    assert result.changed == tuple(i for i, s in enumerate(SEGMENTS) if isinstance(s, BrollSegment))
    assert run("vertical").changed == ()


@pytest.mark.parametrize(
    ("instruction", "order", "changed"),
    [
        ("swap scenes 2 and 3", [0, 2, 1, 3, 4], (1, 2)),
        ("move the last scene to the start", [4, 0, 1, 2, 3], (0,)),
        ("remove scene 3", [0, 1, 3, 4], ()),
        ("drop the outro", [0, 1, 2, 3], ()),
        ("drop the intro", [1, 2, 3, 4], ()),
        ("remove scenes 2 and 4", [0, 2, 4], ()),
        ("move scene 2 after scene 4", [0, 2, 3, 1, 4], (3,)),
    ],
)
def test_reorder_and_remove(instruction: str, order: list[int], changed: tuple[int, ...]) -> None:
    result = run(instruction)
    assert_valid(result)
    assert result.script.segments == [SEGMENTS[i] for i in order]
    assert result.changed == changed


def test_a_scene_is_added_before_the_outro() -> None:
    result = run("add a scene about recycling old batteries")
    assert len(result.script.segments) == COUNT + 1
    added = result.script.segments[-2]
    assert isinstance(added, BrollSegment)
    assert "recycling old batteries" in added.prompt and "recycling old batteries" in added.text
    assert result.changed == (COUNT - 1,)
    assert result.script.segments[:-2] == SEGMENTS[:-1]
    assert result.script.segments[-1] == SEGMENTS[-1]


def test_several_instructions_apply_in_order() -> None:
    result = run("make scene 2 a sunset and no music; then make it square")
    assert result.script.segments[1].prompt.startswith("a sunset, ")
    assert not result.options.music and result.options.format is VideoFormat.square
    assert result.summary.count(".") >= 3
    # "and" inside a scene's words does not split them.
    said = run("scene 2 should say: Turn it down, and save money.")
    assert said.script.segments[1].text == "Turn it down, and save money."
    assert run("swap scenes 2 and 3").changed == (1, 2)


def test_revising_is_deterministic() -> None:
    for instruction in ("shorter", "make it 2 minutes", "make the second scene a sunset"):
        assert run(instruction) == run(instruction)


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("make it sparkle with unicorn energy", "You can ask"),
        ("blah blah", "scene 2 a sunset"),
        ("scene 9 should show a cat", "only 5 scenes"),
        ("remove scene 9", "only 5 scenes"),
        ("make the fourth b-roll a cat", "only 3 b-roll clips"),
        ("10 hours", "10 minutes"),
        ("-5 seconds", "5 seconds to 10 minutes"),
        ("make it 10000 scenes", "1 to 60 scenes"),
        ("swap scene 2 and scene 2", "two different scenes"),
        ("", "say what to change"),
    ],
)
def test_errors_say_what_went_wrong(instruction: str, expected: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        run(instruction)
    assert expected in caught.value.message


@pytest.mark.parametrize(
    ("voices", "expected"),
    [({}, "no voice of your own"), ({"a.wav": "1", "b.wav": "2"}, "a.wav, b.wav")],
)
def test_my_voice_needs_exactly_one_voice(voices: dict[str, str], expected: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        run("use my voice", voices)
    assert expected in caught.value.message
    assert run("use the voice b", {"a.wav": "1", "b.wav": "2"}).options.voice == "2"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=120),
        st.lists(
            st.sampled_from(
                ["make", "scene", "2", "the", "last", "a", "sunset", "and", ",", "say", ":",
                 "no", "music", "-5", "seconds", "shorter", "swap", "3", "intro", "drop",
                 "square", "in", "Spanish", "voice", "my", "10000", "b-roll", "add", "about"]
            ),
            max_size=12,
        ).map(" ".join),
    )
)  # fmt: skip
def test_any_instruction_gives_a_valid_revision_or_invalid_input(instruction: str) -> None:
    try:
        result = run(instruction)
    except InvalidInput as exc:
        assert exc.message
        return
    assert_valid(result)
    assert isinstance(result.options, ProductionOptions)
    assert all(0 <= i < len(result.script.segments) for i in result.changed)
    assert result.summary and "\n" not in result.summary
