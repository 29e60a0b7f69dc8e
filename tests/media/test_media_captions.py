"""Grouping words into cues, SRT output, and the burn-in ASS script."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from media.captions import (
    CaptionLayout,
    ass_text,
    caption_style,
    escape_ass_text,
    group_cues,
    text_width_px,
    write_srt,
)
from media.spec import Canvas, Word

VERTICAL = Canvas(1080, 1920)
LANDSCAPE = Canvas(1920, 1080)


def spoken(text: str, start: float = 0.0, step: float = 0.3) -> list[Word]:
    """Words of `text`, one every `step` seconds, each lasting most of its step."""
    return [
        Word(w, start + i * step, start + i * step + step * 0.8) for i, w in enumerate(text.split())
    ]


LONG_TEXT = (
    "Three ways to cut your energy bill in thirty seconds flat without buying anything new "
    "or changing how you live at home every day"
)


def test_cues_respect_line_and_duration_limits() -> None:
    layout = CaptionLayout(max_chars_per_line=32, max_lines=2, max_cue_s=3.0)
    words = spoken(LONG_TEXT, step=0.2)
    cues = group_cues(words, layout)
    assert [w for c in cues for w in c.words] == words  # nothing lost, order kept
    for cue in cues:
        assert len(cue.lines) <= 2
        assert all(len(line) <= 32 for line in cue.text.split("\n"))
        assert cue.words[-1].end - cue.words[0].start <= 3.0
        assert cue.end > cue.start
    assert all(a.end <= b.start for a, b in itertools.pairwise(cues))


def test_cues_break_at_sentences_and_pauses() -> None:
    words = spoken("Hi there. I'm Maya!", step=0.3) + spoken("After a pause", start=3.0)
    texts = [c.text.replace("\n", " ") for c in group_cues(words)]
    assert texts == ["Hi there.", "I'm Maya!", "After a pause"]


def test_lines_are_balanced() -> None:
    cue = group_cues(spoken("one two three four five six seven eight nine"))[0]
    first, second = cue.text.split("\n")
    assert abs(len(first) - len(second)) <= 6


def test_landscape_allows_wider_lines() -> None:
    assert CaptionLayout.for_canvas(LANDSCAPE).max_chars_per_line > 32
    assert CaptionLayout.for_canvas(VERTICAL).max_chars_per_line == 32


def test_srt_is_well_formed(tmp_path: Path) -> None:
    words = [
        Word("Hello", 0.0, 0.5),
        Word("world.", 0.5, 1.25),
        Word("Café", 61.2, 61.7),
        Word("naïve", 61.7, 62.004),
    ]
    path = write_srt(words, tmp_path / "captions.srt")
    assert path.read_bytes().decode("utf-8") == (
        "1\n00:00:00,000 --> 00:00:01,600\nHello world.\n\n"
        "2\n00:01:01,200 --> 00:01:02,354\nCafé naïve\n"
    )


def test_srt_blocks_parse_and_are_ordered(tmp_path: Path) -> None:
    path = write_srt(spoken(LONG_TEXT + ". And one more sentence -->"), tmp_path / "long.srt")
    blocks = path.read_text(encoding="utf-8").strip().split("\n\n")
    stamp = r"(\d\d):(\d\d):(\d\d),(\d{3})"
    previous_end = -1.0
    for n, block in enumerate(blocks, start=1):
        index, timing, *text = block.split("\n")
        assert index == str(n) and 1 <= len(text) <= 2
        match = re.fullmatch(f"{stamp} --> {stamp}", timing)
        assert match
        h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(g) for g in match.groups())
        start = h1 * 3600 + m1 * 60 + s1 + ms1 / 1000
        end = h2 * 3600 + m2 * 60 + s2 + ms2 / 1000
        assert previous_end <= start < end
        previous_end = end
        assert all("-->" not in line for line in text)


def test_escape_ass_text() -> None:
    escaped = escape_ass_text("{\\b1}odd\\Nword\n}")
    assert "{" not in escaped.replace("\\{", "")
    assert "}" not in escaped.replace("\\}", "")
    assert "\\N" not in escaped and "\\b" not in escaped
    assert escaped.replace("\u2060", "") == "\\{\\b1\\}odd\\Nword \\}"


def test_ass_one_event_per_word_with_one_highlight() -> None:
    words = spoken("Hi, I'm Maya. Three ways to cut your energy bill, in thirty seconds.")
    script, cues = ass_text(words, VERTICAL)
    assert "PlayResX: 1080" in script and "PlayResY: 1920" in script
    events = [line for line in script.splitlines() if line.startswith("Dialogue:")]
    assert len(events) == len(words)
    assert all(e.count("\\1c&H0000E5FF&") == 1 for e in events)
    assert sum(len(c.words) for c in cues) == len(words)
    style = next(line for line in script.splitlines() if line.startswith("Style:")).split(",")
    font_size, alignment, margin_v = int(style[2]), style[18], int(style[21])
    assert alignment == "2"
    assert margin_v == 480  # text bottom at 75% of the height, above the platform UI
    assert 1920 * 0.02 <= font_size <= 1920 * 0.045


def test_event_times_are_contiguous_within_a_cue() -> None:
    script, _ = ass_text(spoken("one two three four five"), VERTICAL)
    times = re.findall(r"Dialogue: 0,([\d:.]+),([\d:.]+),", script)
    assert times[0][0] == "0:00:00.00"
    assert all(end == next_start for (_, end), (next_start, _) in itertools.pairwise(times))


@pytest.mark.parametrize("canvas", [VERTICAL, LANDSCAPE, Canvas(180, 320), Canvas(1080, 1080)])
def test_caption_lines_fit_the_canvas(canvas: Canvas) -> None:
    cues = group_cues(spoken(LONG_TEXT.upper()), CaptionLayout.for_canvas(canvas))
    style = caption_style(canvas, cues)
    usable = canvas.width - 2 * style.margin_h
    for cue in cues:
        for line in cue.text.split("\n"):
            assert text_width_px(line, style.font_size) + 2 * style.outline <= usable
