"""Grouping words into cues, SRT and WebVTT output, and the burn-in ASS script and its fonts."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from media.caption_fonts import CJK_FONT, LATIN_FONTS, font_runs, line_height_px
from media.captions import (
    CaptionLayout,
    CaptionSettings,
    ass_text,
    caption_style,
    copy_caption_fonts,
    escape_ass_text,
    group_cues,
    safe_area,
    text_width_px,
    vtt_text,
    write_ass,
    write_srt,
    write_vtt,
)
from media.ffmpeg import ffmpeg_exe
from media.spec import Canvas, Word

VERTICAL = Canvas(1080, 1920)  # TikTok, Reels, Shorts
LANDSCAPE = Canvas(1920, 1080)  # YouTube
SQUARE = Canvas(1080, 1080)
CLASSIC = CaptionSettings(style="classic")


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


def style_fields(script: str) -> list[str]:
    return next(line for line in script.splitlines() if line.startswith("Style:")).split(",")


def events(script: str) -> list[str]:
    return [line for line in script.splitlines() if line.startswith("Dialogue:")]


def test_word_style_one_event_per_word_with_one_highlight() -> None:
    words = spoken("Hi, I'm Maya. Three ways to cut your energy bill, in thirty seconds.")
    script, cues = ass_text(words, VERTICAL)  # the word style is the default
    assert "PlayResX: 1080" in script and "PlayResY: 1920" in script
    assert len(events(script)) == len(words)
    assert all(e.count("\\1c&H0000E5FF&") == 1 for e in events(script))
    assert sum(len(c.words) for c in cues) == len(words)
    # Short-form: a few words at a time, each event marking the word being spoken.
    assert all(len(c.words) <= 3 for c in cues)
    for word, event in zip(words, events(script), strict=True):
        marked = re.search(r"\{\\1c&H0000E5FF&\}([^{]*)", event)
        assert marked and marked.group(1).strip() == word.text
    style = style_fields(script)
    font_size, bold, alignment, margin_v = int(style[2]), style[7], style[18], int(style[21])
    assert (style[1], bold, alignment) == ("DejaVu Sans", "-1", "2")
    assert margin_v == 480  # text bottom at 75% of the height, above the platform UI
    assert 1920 * 0.05 <= font_size <= 1920 * 0.06  # bigger than classic subtitles


def test_classic_style_one_event_per_cue_without_highlight() -> None:
    words = spoken("Hi, I'm Maya. Three ways to cut your energy bill, in thirty seconds.")
    script, cues = ass_text(words, VERTICAL, settings=CLASSIC)
    assert len(events(script)) == len(cues) < len(words)
    assert "\\1c" not in script.split("[Events]")[1]
    for cue, event in zip(cues, events(script), strict=True):
        assert event.split(",,", 2)[-1] == cue.text.replace("\n", "\\N")
    font_size = int(style_fields(script)[2])
    assert 1920 * 0.025 <= font_size <= 1920 * 0.035
    word_size = int(style_fields(ass_text(words, VERTICAL)[0])[2])
    assert font_size < word_size


def test_settings_reach_the_ass_style() -> None:
    settings = CaptionSettings(
        font="Noto Sans",
        text_colour="#FAFAFA",
        highlight_colour="#12AB34",
        outline_colour="#000080",
        outline_width=0.15,
        position="top",
        uppercase=True,
    )
    script, _ = ass_text(spoken("make it pop"), VERTICAL, settings=settings)
    style = style_fields(script)
    assert style[1] == "Noto Sans"
    assert (style[3], style[5]) == ("&H00FAFAFA", "&H00800000")  # ASS colours are &HAABBGGRR
    assert float(style[16]) == pytest.approx(int(style[2]) * 0.15, abs=0.2)
    _, _, top, _ = safe_area(VERTICAL)
    assert (style[18], int(style[21])) == ("8", top)
    assert "{\\1c&H0034AB12&}MAKE" in events(script)[0]
    middle = ass_text(spoken("hi"), VERTICAL, settings=CaptionSettings(position="middle"))[0]
    assert style_fields(middle)[18] == "5"
    no_outline = ass_text(spoken("hi"), VERTICAL, settings=CaptionSettings(outline_width=0))[0]
    assert float(style_fields(no_outline)[16]) == 0
    # Another family is sized to the same letter height, not the same nominal size.
    dejavu = ass_text(spoken("make it pop"), VERTICAL)[0]
    assert int(style[2]) > int(style_fields(dejavu)[2])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("text_colour", "white"),
        ("highlight_colour", "#FFE50"),
        ("outline_colour", "#GG0000"),
        ("style", "karaoke"),
        ("position", "left"),
        ("font", "Comic Sans"),
        ("outline_width", -1.0),
    ],
)
def test_bad_settings_are_rejected_by_name(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field.split("_")[0]):
        CaptionSettings(**{field: value})  # type: ignore[arg-type]


def test_event_times_are_contiguous_within_a_cue() -> None:
    script, _ = ass_text(spoken("one two three four five"), VERTICAL)
    times = re.findall(r"Dialogue: 0,([\d:.]+),([\d:.]+),", script)
    assert times[0][0] == "0:00:00.00"
    assert all(end == next_start for (_, end), (next_start, _) in itertools.pairwise(times))


def test_vtt_is_well_formed(tmp_path: Path) -> None:
    words = [
        Word("Tom", 0.0, 0.5),
        Word("&", 0.5, 0.7),
        Word("<Jerry>", 0.7, 1.25),
        Word("-->", 1.25, 1.5),
        Word("Café", 3661.2, 3661.7),
    ]
    path = write_vtt(words, tmp_path / "captions.vtt")
    assert path.read_bytes().decode("utf-8") == (
        "WEBVTT\n\n"
        "1\n00:00:00.000 --> 00:00:01.850\nTom &amp; &lt;Jerry&gt; --&gt;\n\n"
        "2\n01:01:01.200 --> 01:01:02.050\nCafé\n"
    )
    assert vtt_text([]) == "WEBVTT\n"


LONG_CJK = "我们今天来聊一聊怎么在三十秒内把电费省下来而且不用买任何新东西也不用改变生活习惯"
LONG_ARABIC = (
    "ثلاث طرق لخفض فاتورة الكهرباء في ثلاثين ثانية فقط دون شراء أي شيء جديد أو تغيير حياتك"
)


@pytest.mark.parametrize("canvas", [VERTICAL, LANDSCAPE, SQUARE, Canvas(180, 320)])
@pytest.mark.parametrize("settings", [CaptionSettings(uppercase=True), CLASSIC])
@pytest.mark.parametrize(
    "words",
    [
        spoken(LONG_TEXT),
        [Word(c, i * 0.1, i * 0.1 + 0.1) for i, c in enumerate(LONG_CJK)],  # a word a character
        [Word(LONG_CJK, 0.0, 4.0)],  # one long unspaced "word"
        spoken(LONG_ARABIC),
    ],
    ids=["latin", "cjk-chars", "cjk-run", "arabic"],
)
def test_lines_wrap_inside_the_safe_area(
    canvas: Canvas, settings: CaptionSettings, words: list[Word]
) -> None:
    script, cues = ass_text(words, canvas, settings=settings)
    style = caption_style(canvas, cues, settings)
    left, right, _, _ = safe_area(canvas)
    assert (style.margin_l, style.margin_r) == (left, right)
    assert style_fields(script)[19:21] == [str(left), str(right)]
    usable = canvas.width - left - right
    spoken_text = "".join(w.text for w in words).replace(" ", "")
    shown = "".join(c.text for c in cues).replace(" ", "").replace("\n", "")
    assert shown == (spoken_text.upper() if settings.uppercase else spoken_text)
    for cue in cues:
        assert len(cue.lines) <= 2
        for line in cue.text.split("\n"):
            assert text_width_px(line, style.font_size, style.font) + 2 * style.outline <= usable
    # Lines were wrapped to fit, not the text shrunk to fit long lines.
    ordinary = caption_style(canvas, group_cues(spoken("Hi there")), settings)
    assert style.font_size == ordinary.font_size


def test_vertical_safe_area_keeps_clear_of_platform_ui() -> None:
    left, right, top, bottom = safe_area(VERTICAL)
    assert bottom >= 1920 * 0.25 and top >= 1920 * 0.1
    assert right > left  # the like/comment/share buttons run down the right edge
    for position in ("bottom", "middle", "top"):
        script, _ = ass_text(
            spoken(LONG_TEXT), VERTICAL, settings=CaptionSettings(position=position)
        )
        style = style_fields(script)
        assert int(style[19]) >= left and int(style[20]) >= right


def test_cjk_words_are_joined_without_spaces_and_korean_with_them(tmp_path: Path) -> None:
    zh = [Word(t, i * 0.3, i * 0.3 + 0.3) for i, t in enumerate(["我们", "今天", "来聊", "电费。"])]
    ko = [Word(t, 5 + i * 0.3, 5 + i * 0.3 + 0.3) for i, t in enumerate(["오늘은", "전기요금"])]
    srt = write_srt(zh + ko, tmp_path / "cjk.srt").read_text(encoding="utf-8")
    assert "\n我们今天来聊电费。\n" in srt and "\n오늘은 전기요금\n" in srt
    script, _ = ass_text(zh, VERTICAL, settings=CLASSIC)
    texts = [re.sub(r"\{[^}]*\}", "", e.split(",,", 2)[-1]) for e in events(script)]
    assert texts == ["我们今天来聊电费。"]
    assert all(f"\\fn{CJK_FONT.family}" in e for e in events(script))


def test_long_unspaced_word_is_cut_between_characters_with_its_time_shared() -> None:
    cues = group_cues([Word(LONG_CJK + "。", 1.0, 5.0)], CaptionLayout(max_chars_per_line=20))
    pieces = [w for c in cues for w in c.words]
    assert "".join(w.text for w in pieces) == LONG_CJK + "。"
    assert len(pieces) > 3
    assert all(len(w.text.rstrip("。")) <= 10 for w in pieces)  # 20 columns: 10 characters
    assert pieces[-1].text.endswith("惯。")  # punctuation stays with the text before it
    assert pieces[0].start == 1.0 and pieces[-1].end == pytest.approx(5.0)
    assert all(a.end == pytest.approx(b.start) for a, b in itertools.pairwise(pieces))


def test_each_script_runs_in_a_font_that_has_its_glyphs() -> None:
    base = LATIN_FONTS["DejaVu Sans"]
    text = "Hi 你好、世界 مرحبا! שלום 한국어 Ωμέγα"
    runs = font_runs(text, base)
    assert "".join(run for _, run in runs) == text
    for font, run in runs:
        assert all(font.covers(c) for c in run), (font.family, run)
    # Other scripts are drawn at the base font's em, so Arabic lines stand taller.
    assert line_height_px("Hello", 40, base) == 40
    assert line_height_px("Hi 你好", 40, base) > 40
    assert line_height_px("مرحبا", 40, base) > line_height_px("你好", 40, base)
    families = {font.family for font, _ in runs}
    assert families == {
        "DejaVu Sans",
        "Droid Sans Fallback",
        "Noto Sans Arabic",
        "Noto Sans Hebrew",
    }


def test_rtl_lines_let_libass_find_their_direction() -> None:
    script, _ = ass_text(spoken("مرحبا بكم!"), LANDSCAPE)
    assert style_fields(script)[-1] == "-1"  # Encoding -1: base direction from the text
    assert "مرحبا" in events(script)[0]  # logical order: libass's bidi does the reordering


BURN = Canvas(320, 180, 10)
BACKGROUND = (32, 64, 96)


def burn(
    tmp_path: Path, words: list[Word], settings: CaptionSettings, fonts: str = "all"
) -> np.ndarray:
    """Frames (RGB) of 3 s of flat colour with `words` burned in, by libass given only our fonts."""
    write_ass(words, BURN, tmp_path / "captions.ass", settings=settings)
    fonts_dir = copy_caption_fonts(tmp_path / "fonts")
    if fonts == "latin":
        for font in fonts_dir.iterdir():
            if font.name != "DejaVuSans-Bold.ttf":
                font.unlink()
    # No system fonts: only what we ship may draw (an empty fontconfig configuration).
    (tmp_path / "fonts.conf").write_text("<?xml version='1.0'?><fontconfig></fontconfig>")
    colour = "0x{:02x}{:02x}{:02x}".format(*BACKGROUND)
    cmd = [ffmpeg_exe(), "-v", "error", "-f", "lavfi"]
    cmd += ["-i", f"color=c={colour}:s={BURN.width}x{BURN.height}:r={BURN.fps}:d=3"]
    cmd += ["-vf", "ass=filename=captions.ass:fontsdir=fonts", "-f", "rawvideo"]
    cmd += ["-pix_fmt", "rgb24", "-"]
    env = dict(os.environ, FONTCONFIG_FILE=str(tmp_path / "fonts.conf"))
    raw = subprocess.run(cmd, check=True, capture_output=True, cwd=tmp_path, env=env).stdout
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, BURN.height, BURN.width, 3)
    return frames.astype(np.int16)


def ink(frame: np.ndarray) -> np.ndarray:
    """Where text was drawn: pixels well away from the background colour."""
    return np.abs(frame - np.array(BACKGROUND)).max(axis=-1) > 60


@pytest.mark.parametrize(
    ("first", "second", "rtl"),
    [("Hello", "world", False), ("שלום", "עולם", True), ("مرحبا", "بالعالم", True)],
)
def test_active_word_moves_in_reading_direction(
    tmp_path: Path, first: str, second: str, rtl: bool
) -> None:
    frames = burn(tmp_path, [Word(first, 0.0, 0.5), Word(second, 0.5, 1.0)], CaptionSettings())

    def highlight_x(frame: np.ndarray) -> float:
        r, g, b = (frame[..., c] for c in range(3))
        _, xs = np.nonzero((r > 180) & (g > 160) & (b < 110))
        assert len(xs) > 20, "the active word is drawn in the highlight colour"
        return float(xs.mean())

    first_x, second_x = highlight_x(frames[2]), highlight_x(frames[7])
    assert (first_x > second_x) if rtl else (first_x < second_x)
    assert not ink(frames[-1]).any(), "nothing left on screen after the words"


def distinct_renders(tmp_path: Path, texts: list[str], fonts: str = "all") -> list[np.ndarray]:
    """Each text as its own cue (a second apart), rendered; returns the ink masks."""
    words = [Word(t, float(i), i + 0.1) for i, t in enumerate(texts)]  # pauses part the cues
    frames = burn(tmp_path, words, CLASSIC, fonts)
    return [ink(frames[i * BURN.fps + 1]) for i in range(len(texts))]


@pytest.mark.parametrize(
    "texts",
    [
        ["你好世界", "東京タワ", "한국어요"],  # Chinese, Japanese, Korean: four characters each
        ["سلام", "كتاب", "شمس"],  # Arabic: shaped, joined letters
        ["שלום", "ספר", "אמא"],  # Hebrew
    ],
    ids=["cjk", "arabic", "hebrew"],
)
def test_non_latin_scripts_are_drawn_with_real_glyphs(tmp_path: Path, texts: list[str]) -> None:
    masks = distinct_renders(tmp_path, texts)
    for mask in masks:
        assert mask.sum() > 40, "glyphs were drawn"
        ys, _ = np.nonzero(mask)
        assert ys.min() > BURN.height * 0.5, "in the caption area at the bottom"
    # Missing glyphs would all be drawn as the same boxes; real glyphs differ from text to text.
    for a, b in itertools.combinations(masks, 2):
        assert (a ^ b).sum() > 0.3 * min(a.sum(), b.sum())


def test_without_the_cjk_font_glyphs_would_be_missing(tmp_path: Path) -> None:
    """The check above can tell: with only the Latin font, different texts draw the same."""
    a, b = distinct_renders(tmp_path, ["你好世界", "東京タワ"], fonts="latin")
    assert (a ^ b).sum() < 0.1 * max(a.sum(), b.sum(), 1)
