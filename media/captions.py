"""Caption cues from word timings: grouping, line wrapping, SRT and WebVTT files, burn-in ASS."""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from media.caption_fonts import (
    ALL_FONTS,
    DEFAULT_FAMILY,
    LATIN_FONTS,
    CaptionFont,
    display_width,
    font_runs,
    join_words,
    needs_space,
    split_unspaced,
    text_width_px,
    word_count,
)
from media.spec import Canvas, Word

FONT_FAMILY = DEFAULT_FAMILY  # the family name inside FONT_PATH, which libass matches on
FONT_PATH = LATIN_FONTS[DEFAULT_FAMILY].path

# A word ending like this closes a sentence or a clause (trailing quotes/brackets allowed).
_CLOSERS = "'\")]}”’»」』）"
_SENTENCE_END = re.compile(rf"[.!?…。！？؟][{re.escape(_CLOSERS)}]*$")
_CLAUSE_END = re.compile(rf"[,;:—–，、；：،؛][{re.escape(_CLOSERS)}]*$")
_MIN_EVENT_S = 0.01
# Pillow's widths and libass's can differ by a pixel or two a word (hinting, synthetic bold).
_WIDTH_SLACK = 0.97

Style = Literal["classic", "word"]
Position = Literal["bottom", "middle", "top"]
LineFits = Callable[[str], bool]


@dataclass(frozen=True)
class CaptionLayout:
    """How words are grouped into cues; `for_canvas` picks the right one for a frame shape.

    Line lengths count columns: Chinese, Japanese and Korean characters count two.
    """

    max_chars_per_line: int = 32
    max_lines: int = 2
    max_cue_s: float = 3.0
    max_gap_s: float = 0.8  # a pause this long starts a new cue, so text never waits on silence
    linger_s: float = 0.35  # a cue stays up this long after its last word, if nothing follows
    max_words: float | None = None  # a word of Chinese or Japanese counts half a word a character

    @classmethod
    def for_canvas(cls, canvas: Canvas, style: Style = "classic") -> CaptionLayout:
        if style == "word":  # short-form: a few big words at a time
            return cls(max_chars_per_line=24, max_lines=2, max_cue_s=2.0, max_words=3)
        ratio = canvas.width / canvas.height
        if ratio < 0.8:
            return cls(max_chars_per_line=32)
        if ratio < 1.25:
            return cls(max_chars_per_line=36)
        return cls(max_chars_per_line=42)


@dataclass(frozen=True)
class Cue:
    """Words shown together on screen, already broken into lines."""

    start: float
    end: float
    lines: tuple[tuple[Word, ...], ...]

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for line in self.lines for w in line)

    @property
    def text(self) -> str:
        return "\n".join(join_words([w.text for w in line]) for line in self.lines)


def copy_caption_fonts(folder: Path) -> Path:
    """Fill `folder` with the caption fonts (font files only), for libass's `fontsdir`."""
    folder.mkdir(parents=True, exist_ok=True)
    for font in ALL_FONTS:
        shutil.copyfile(font.path, folder / font.file)
    return folder


def clean_words(words: Iterable[Word]) -> list[Word]:
    """Words in time order, whitespace collapsed, empty ones dropped, end never before start."""
    cleaned = []
    for w in words:
        text = " ".join(w.text.split())
        if not text or not (math.isfinite(w.start) and math.isfinite(w.end)):
            continue
        start = max(0.0, w.start)
        cleaned.append(Word(text=text, start=start, end=max(start, w.end)))
    return sorted(cleaned, key=lambda w: (w.start, w.end))


def group_cues(
    words: Iterable[Word], layout: CaptionLayout | None = None, fits: LineFits | None = None
) -> list[Cue]:
    """Group words into cues that fit the layout and break at sentences, clauses and pauses.

    `fits`, when given, also says whether a line of text fits (on screen, at the font size).
    """
    layout = layout or CaptionLayout()
    rule = _line_rule(layout.max_chars_per_line, fits)
    groups: list[list[Word]] = []
    for word in _split_long_words(clean_words(words), rule):
        if groups and not _starts_new_cue(groups[-1], word, layout, rule):
            groups[-1].append(word)
        else:
            groups.append([word])
    cues = []
    for i, group in enumerate(groups):
        next_start = groups[i + 1][0].start if i + 1 < len(groups) else math.inf
        start = group[0].start
        end = min(max(group[-1].end, start + _MIN_EVENT_S) + layout.linger_s, next_start)
        lines = _balance_lines(group, layout, fits)
        cues.append(Cue(start=start, end=max(end, start + _MIN_EVENT_S), lines=lines))
    return cues


def _line_rule(width: int, fits: LineFits | None) -> LineFits:
    return lambda line: display_width(line) <= width and (fits is None or fits(line))


def _split_long_words(words: list[Word], rule: LineFits) -> list[Word]:
    """Chinese or Japanese 'words' too long for a line, cut between characters, time shared out."""
    out: list[Word] = []
    for word in words:
        pieces = [word.text] if rule(word.text) else split_unspaced(word.text, rule)
        if len(pieces) == 1:
            out.append(word)
            continue
        step, at = (word.end - word.start) / len(word.text), 0
        for piece in pieces:
            start = word.start + at * step
            at += len(piece)
            out.append(Word(piece, start, min(word.end, word.start + at * step)))
    return out


def _starts_new_cue(current: list[Word], word: Word, layout: CaptionLayout, rule: LineFits) -> bool:
    prev = current[-1]
    if _SENTENCE_END.search(prev.text):
        return True
    if word.start - prev.end > layout.max_gap_s or word.end - current[0].start > layout.max_cue_s:
        return True
    texts = [w.text for w in current] + [word.text]
    if layout.max_words is not None and word_count(texts) > layout.max_words:
        return True
    if len(_wrap(texts, rule)) > layout.max_lines:
        return True
    # A clause break is a good place to cut once the cue is reasonably full; cutting earlier
    # would flash one-word cues on screen.
    capacity = layout.max_chars_per_line * layout.max_lines
    full = display_width(join_words(texts[:-1])) >= capacity // 2
    return bool(_CLAUSE_END.search(prev.text)) and full


def _wrap(texts: Sequence[str], rule: LineFits) -> list[list[int]]:
    """Greedy wrap of word indices into lines that `rule` accepts (a long word gets a line)."""
    lines: list[list[int]] = []
    for i, text in enumerate(texts):
        if lines and rule(join_words([texts[j] for j in lines[-1]] + [text])):
            lines[-1].append(i)
        else:
            lines.append([i])
    return lines


def _balance_lines(
    words: list[Word], layout: CaptionLayout, fits: LineFits | None
) -> tuple[tuple[Word, ...], ...]:
    """Lines of near-equal length: the narrowest width that still needs no more lines."""
    texts = [w.text for w in words]
    width = layout.max_chars_per_line
    best = _wrap(texts, _line_rule(width, fits))
    needed = min(len(best), layout.max_lines)
    widest_word = max(display_width(t) for t in texts)
    target = max(widest_word, math.ceil(display_width(join_words(texts)) / needed))
    for trial_width in range(target, width + 1):
        trial = _wrap(texts, _line_rule(trial_width, fits))
        if len(trial) <= needed:
            best = trial
            break
    return tuple(tuple(words[i] for i in line) for line in best)


def _srt_time(t: float, separator: str = ",") -> str:
    ms = round(t * 1000)
    hms = f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}"
    return f"{hms}{separator}{ms % 1000:03d}"


def srt_text(words: Iterable[Word], layout: CaptionLayout | None = None) -> str:
    blocks = []
    for n, cue in enumerate(group_cues(words, layout), start=1):
        # "-->" inside a line would read as a timing line to some SRT parsers.
        text = cue.text.replace("-->", "->")
        blocks.append(f"{n}\n{_srt_time(cue.start)} --> {_srt_time(cue.end)}\n{text}\n")
    return "\n".join(blocks)


def write_srt(words: Iterable[Word], path: Path, layout: CaptionLayout | None = None) -> Path:
    """Write an SRT file (UTF-8) of the words' cues; returns `path`."""
    path.write_text(srt_text(words, layout), encoding="utf-8")
    return path


def vtt_text(words: Iterable[Word], layout: CaptionLayout | None = None) -> str:
    """A WebVTT file of the words' cues (times as HH:MM:SS.mmm, text escaped for VTT)."""
    blocks = ["WEBVTT\n"]
    for n, cue in enumerate(group_cues(words, layout), start=1):
        text = cue.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        timing = f"{_srt_time(cue.start, '.')} --> {_srt_time(cue.end, '.')}"
        blocks.append(f"{n}\n{timing}\n{text}\n")
    return "\n".join(blocks)


def write_vtt(words: Iterable[Word], path: Path, layout: CaptionLayout | None = None) -> Path:
    """Write a WebVTT file (UTF-8) of the words' cues; returns `path`."""
    path.write_text(vtt_text(words, layout), encoding="utf-8")
    return path


_HEX_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")


@dataclass(frozen=True)
class CaptionSettings:
    """How burned-in captions look. Colours are "#RRGGBB".

    "classic": whole cue lines, subtitle-sized. "word": short-form style, a few big bold words
    at a time with the word being spoken marked in `highlight_colour`.
    """

    style: Style = "word"
    font: str = DEFAULT_FAMILY  # a key of media.caption_fonts.LATIN_FONTS
    text_colour: str = "#FFFFFF"
    highlight_colour: str = "#FFE500"  # warm yellow
    outline_colour: str = "#101010"
    outline_width: float = 0.08  # as a fraction of the font size; 0 for none
    position: Position = "bottom"
    uppercase: bool = False  # word style only

    def __post_init__(self) -> None:
        if self.style not in ("classic", "word"):
            raise ValueError(f"caption style {self.style!r} is not 'classic' or 'word'")
        if self.font not in LATIN_FONTS:
            raise ValueError(f"caption font {self.font!r} is not one of {sorted(LATIN_FONTS)}")
        for name in ("text_colour", "highlight_colour", "outline_colour"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _HEX_COLOUR.fullmatch(value):
                raise ValueError(f"caption {name} {value!r} is not a colour like '#FFE500'")
        if not (math.isfinite(self.outline_width) and 0 <= self.outline_width <= 0.3):
            raise ValueError(f"caption outline_width {self.outline_width!r} is not within 0-0.3")
        if self.position not in ("bottom", "middle", "top"):
            raise ValueError(f"caption position {self.position!r} is not bottom, middle or top")


def ass_colour(colour: str, alpha: int = 0) -> str:
    """A "#RRGGBB" colour as ASS writes colours, &HAABBGGRR."""
    r, g, b = colour[1:3], colour[3:5], colour[5:7]
    return f"&H{alpha:02X}{b}{g}{r}".upper()


@dataclass(frozen=True)
class CaptionStyle:
    """Where and how large burned-in captions are drawn, in canvas pixels."""

    font_size: int
    outline: float
    shadow: float
    margin_l: int
    margin_r: int
    margin_v: int  # from the bottom (or top) edge of the canvas to the text; unused in the middle
    alignment: int = 2  # ASS numpad position: 2 bottom, 5 middle, 8 top centre
    font: CaptionFont = LATIN_FONTS[DEFAULT_FAMILY]
    text_colour: str = "&H00FFFFFF"  # ASS colours are &HAABBGGRR
    highlight_colour: str = "&H0000E5FF"
    outline_colour: str = "&H00101010"
    shadow_colour: str = "&H80000000"


def safe_area(canvas: Canvas) -> tuple[int, int, int, int]:
    """Margins (left, right, top, bottom) in pixels that platform UI leaves clear.

    Vertical feeds put likes, captions and the account name over the bottom quarter, the
    action buttons down the right edge and tabs along the top; wider frames keep classic
    subtitle margins.
    """
    w, h = canvas.width, canvas.height
    ratio = w / h
    if ratio < 0.8:
        return round(w * 0.07), round(w * 0.12), round(h * 0.12), round(h * 0.25)
    if ratio < 1.25:
        return round(w * 0.07), round(w * 0.07), round(h * 0.12), round(h * 0.12)
    return round(w * 0.07), round(w * 0.07), round(h * 0.08), round(h * 0.08)


def _target_size(canvas: Canvas, settings: CaptionSettings) -> float:
    """The ASS font size that gives the style's text height (the same em in every family)."""
    vertical = canvas.width / canvas.height < 0.8
    if settings.style == "word":
        size = canvas.height * (0.055 if vertical else 0.085)
    else:
        size = canvas.height * (0.032 if vertical else 0.055)
    return LATIN_FONTS[settings.font].size_matching(LATIN_FONTS[DEFAULT_FAMILY], size)


def _outline(size: float, settings: CaptionSettings) -> float:
    return round(max(1.5, size * settings.outline_width), 1) if settings.outline_width else 0.0


def _shadow(size: float) -> float:
    return round(max(1.0, size * 0.04), 1)


def _fits_at(canvas: Canvas, size: float, settings: CaptionSettings) -> LineFits:
    left, right, _, _ = safe_area(canvas)
    room = (canvas.width - left - right) * _WIDTH_SLACK
    extra = 2 * _outline(size, settings) + _shadow(size)
    font = LATIN_FONTS[settings.font]
    return lambda line: text_width_px(line, size, font) + extra <= room


def caption_style(
    canvas: Canvas, cues: Sequence[Cue], settings: CaptionSettings | None = None
) -> CaptionStyle:
    """The style's size (smaller only if a line is too wide for it) and its place on `canvas`."""
    settings = settings or CaptionSettings()
    left, right, top, bottom = safe_area(canvas)
    size = _target_size(canvas, settings)
    floor = max(canvas.height * 0.02, 8.0)
    lines = [line for c in cues for line in c.text.split("\n")]
    while size > floor and not all(map(_fits_at(canvas, size, settings), lines)):
        size = max(floor, size * 0.97)  # only a word too long for a line gets here
    alignment, margin_v = {"bottom": (2, bottom), "middle": (5, 0), "top": (8, top)}[
        settings.position
    ]
    return CaptionStyle(
        font_size=round(size),
        outline=_outline(size, settings),
        shadow=_shadow(size),
        margin_l=left,
        margin_r=right,
        margin_v=margin_v,
        alignment=alignment,
        font=LATIN_FONTS[settings.font],
        text_colour=ass_colour(settings.text_colour),
        highlight_colour=ass_colour(settings.highlight_colour),
        outline_colour=ass_colour(settings.outline_colour),
    )


def _escape_char(char: str) -> str:
    # libass reads "\{" and "\}" as literal braces; a backslash before anything else is kept,
    # but "\N", "\n" and "\h" are escapes, so a word joiner (invisible) splits each backslash off.
    if char == "\\":
        return "\\\u2060"
    return "\\" + char if char in "{}" else char


def escape_ass_text(text: str) -> str:
    """Make `text` literal inside an ASS Dialogue line (no override blocks, no \\N escapes)."""
    return "".join(_escape_char(c) for c in " ".join(text.split()))


def _ass_time(cs: int) -> str:
    return f"{cs // 360_000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def _line_chars(line: tuple[Word, ...], first: int) -> tuple[str, list[int | None]]:
    """A line's text and, for each character, the index in the cue of its word (None: a space)."""
    text, owners = "", list[int | None]()
    for i, word in enumerate(line):
        if text and needs_space(text, word.text):
            text += " "
            owners.append(None)
        text += word.text
        owners += [first + i] * len(word.text)
    return text, owners


def _event_text(cue: Cue, active: int | None, style: CaptionStyle) -> str:
    """The cue's lines as ASS text: a font switch for each run of another script, and the
    active word (if any) in the highlight colour."""
    out: list[str] = []
    font, lit, first = style.font, False, 0
    for n, line in enumerate(cue.lines):
        if n:
            out.append("\\N")
        text, owners = _line_chars(line, first)
        first += len(line)
        at = 0
        for run_font, run in font_runs(text, style.font):
            tags = ""
            if run_font != font:
                size = run_font.size_matching(style.font, style.font_size)
                tags += f"\\fn{run_font.family}\\fs{size:.1f}"
                font = run_font
            for char in run:
                owner = owners[at]
                at += 1
                if owner is not None and (owner == active) != lit:
                    lit = not lit
                    tags += f"\\1c{style.highlight_colour if lit else style.text_colour}&"
                if tags:
                    out.append("{" + tags + "}")
                    tags = ""
                out.append(_escape_char(char))
    return "".join(out)


def ass_text(
    words: Iterable[Word],
    canvas: Canvas,
    layout: CaptionLayout | None = None,
    settings: CaptionSettings | None = None,
) -> tuple[str, list[Cue]]:
    """An ASS script for `canvas` and the cues it shows.

    Word style: one event per spoken word, the whole cue shown with that word highlighted.
    Classic style: one event per cue.
    """
    settings = settings or CaptionSettings()
    words = list(words)
    if settings.style == "word" and settings.uppercase:
        words = [replace(w, text=w.text.upper()) for w in words]
    layout = layout or CaptionLayout.for_canvas(canvas, settings.style)
    fits = _fits_at(canvas, _target_size(canvas, settings), settings)
    cues = group_cues(words, layout, fits)
    style = caption_style(canvas, cues, settings)
    # Encoding -1 has libass find each line's direction from its text, so right-to-left lines
    # (Arabic, Hebrew) are laid out right to left, punctuation included.
    header = f"""[Script Info]
; Generated by Skyie Studio
ScriptType: v4.00+
PlayResX: {canvas.width}
PlayResY: {canvas.height}
WrapStyle: 0
ScaledBorderAndShadow: yes
YCbCr Matrix: TV.709

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, \
Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, \
Alignment, MarginL, MarginR, MarginV, Encoding
Style: Caption,{style.font.family},{style.font_size},{style.text_colour},{style.text_colour},\
{style.outline_colour},{style.shadow_colour},-1,0,0,0,100,100,0,0,1,{style.outline},\
{style.shadow},{style.alignment},{style.margin_l},{style.margin_r},{style.margin_v},-1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""
    events = []
    for cue in cues:
        # Boundaries are rounded once to ASS centiseconds, so consecutive events neither
        # overlap nor leave a one-frame gap where the caption blinks.
        bounds = [round(cue.start * 100)]
        if settings.style == "word":
            bounds += [round(w.start * 100) for w in cue.words[1:]]
        bounds.append(round(cue.end * 100))
        for i in range(len(bounds) - 1):
            start, end = bounds[i], max(bounds[i + 1], bounds[i])
            if end <= start:
                continue
            text = _event_text(cue, i if settings.style == "word" else None, style)
            events.append(f"Dialogue: 0,{_ass_time(start)},{_ass_time(end)},Caption,,0,0,0,,{text}")
    return header + "\n".join(events) + "\n", cues


def write_ass(
    words: Iterable[Word],
    canvas: Canvas,
    path: Path,
    layout: CaptionLayout | None = None,
    settings: CaptionSettings | None = None,
) -> list[Cue]:
    """Write the burn-in ASS file (UTF-8) for `canvas`; returns the cues it shows.

    libass must be given a fonts folder filled by `copy_caption_fonts`: runs of Arabic, Hebrew
    and CJK text name their own fonts.
    """
    text, cues = ass_text(words, canvas, layout, settings)
    path.write_text(text, encoding="utf-8")
    return cues
