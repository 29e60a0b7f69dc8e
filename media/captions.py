"""Caption cues from word timings: grouping, line balancing, SRT files and burn-in ASS files."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import ImageFont

from media.spec import Canvas, Word

FONT_PATH = Path(__file__).parent / "fonts" / "DejaVuSans-Bold.ttf"
FONT_FAMILY = "DejaVu Sans"  # the family name inside FONT_PATH, which libass matches on

# A word ending like this closes a sentence or a clause (trailing quotes/brackets allowed).
_CLOSERS = "'\")]}”’»"
_SENTENCE_END = re.compile(rf"[.!?…。！？][{re.escape(_CLOSERS)}]*$")
_CLAUSE_END = re.compile(rf"[,;:—–][{re.escape(_CLOSERS)}]*$")

# libass sizes a font so that its ascent + descent fills `Fontsize` pixels; for DejaVu Sans that
# makes the em 2048 / (1901 + 483) of the size. Pillow sizes by the em, so widths measured with
# Pillow are scaled by this to predict what libass draws.
_LIBASS_EM_PER_SIZE = 2048 / (1901 + 483)
_MIN_EVENT_S = 0.01


@dataclass(frozen=True)
class CaptionLayout:
    """How words are grouped into cues; `for_canvas` picks the right one for a frame shape."""

    max_chars_per_line: int = 32
    max_lines: int = 2
    max_cue_s: float = 3.0
    max_gap_s: float = 0.8  # a pause this long starts a new cue, so text never waits on silence
    linger_s: float = 0.35  # a cue stays up this long after its last word, if nothing follows

    @classmethod
    def for_canvas(cls, canvas: Canvas) -> CaptionLayout:
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
        return "\n".join(" ".join(w.text for w in line) for line in self.lines)


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


def group_cues(words: Iterable[Word], layout: CaptionLayout | None = None) -> list[Cue]:
    """Group words into cues that fit the layout and break at sentences, clauses and pauses."""
    layout = layout or CaptionLayout()
    groups: list[list[Word]] = []
    for word in clean_words(words):
        if groups and not _starts_new_cue(groups[-1], word, layout):
            groups[-1].append(word)
        else:
            groups.append([word])
    cues = []
    for i, group in enumerate(groups):
        next_start = groups[i + 1][0].start if i + 1 < len(groups) else math.inf
        start = group[0].start
        end = min(max(group[-1].end, start + _MIN_EVENT_S) + layout.linger_s, next_start)
        lines = _balance_lines(group, layout.max_chars_per_line, layout.max_lines)
        cues.append(Cue(start=start, end=max(end, start + _MIN_EVENT_S), lines=lines))
    return cues


def _starts_new_cue(current: list[Word], word: Word, layout: CaptionLayout) -> bool:
    prev = current[-1]
    if _SENTENCE_END.search(prev.text):
        return True
    if word.start - prev.end > layout.max_gap_s or word.end - current[0].start > layout.max_cue_s:
        return True
    texts = [w.text for w in current] + [word.text]
    if len(_wrap(texts, layout.max_chars_per_line)) > layout.max_lines:
        return True
    # A clause break is a good place to cut once the cue is reasonably full; cutting earlier
    # would flash one-word cues on screen.
    capacity = layout.max_chars_per_line * layout.max_lines
    return bool(_CLAUSE_END.search(prev.text)) and _chars(texts[:-1]) >= capacity // 2


def _chars(texts: Sequence[str]) -> int:
    return sum(len(t) for t in texts) + max(0, len(texts) - 1)


def _wrap(texts: Sequence[str], width: int) -> list[list[int]]:
    """Greedy wrap of word indices into lines of at most `width` chars (long words get a line)."""
    lines: list[list[int]] = []
    length = 0
    for i, text in enumerate(texts):
        if lines and length + 1 + len(text) <= width:
            lines[-1].append(i)
            length += 1 + len(text)
        else:
            lines.append([i])
            length = len(text)
    return lines


def _balance_lines(words: list[Word], width: int, max_lines: int) -> tuple[tuple[Word, ...], ...]:
    """Lines of near-equal length: the narrowest width that still needs no more lines."""
    texts = [w.text for w in words]
    needed = min(len(_wrap(texts, width)), max_lines)
    target = max(max(len(t) for t in texts), math.ceil(_chars(texts) / needed))
    best = _wrap(texts, width)
    for trial_width in range(target, width + 1):
        trial = _wrap(texts, trial_width)
        if len(trial) <= needed:
            best = trial
            break
    return tuple(tuple(words[i] for i in line) for line in best)


def _srt_time(t: float) -> str:
    ms = round(t * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


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


@dataclass(frozen=True)
class CaptionStyle:
    """Where and how large burned-in captions are drawn, in canvas pixels."""

    font_size: int
    outline: float
    shadow: float
    margin_h: int
    margin_v: int  # distance from the bottom edge of the canvas to the bottom of the text
    text_colour: str = "&H00FFFFFF"  # ASS colours are &HAABBGGRR
    highlight_colour: str = "&H0000E5FF"  # warm yellow
    outline_colour: str = "&H00101010"
    shadow_colour: str = "&H80000000"


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), size)


def text_width_px(text: str, font_size: float) -> float:
    """Width libass will draw `text` at `font_size` with the caption font."""
    return _font(100).getlength(text) * _LIBASS_EM_PER_SIZE * font_size / 100


def caption_style(canvas: Canvas, cues: Sequence[Cue]) -> CaptionStyle:
    """The largest font (up to a cap set by the canvas height) at which every line fits."""
    w, h = canvas.width, canvas.height
    vertical = w / h < 0.8
    margin_h = round(w * 0.07)
    # Vertical feeds put likes, captions and the account name over the bottom quarter, so the
    # text sits with its bottom at 75% of the height; wider frames keep classic subtitle places.
    margin_v = round(h * (0.25 if vertical else 0.12 if w / h < 1.25 else 0.08))
    cap = h * (0.045 if vertical else 0.065)
    safe_width = (w - 2 * margin_h) * 0.94  # leave room for the outline on both sides
    widest = max((text_width_px(line, 100) for c in cues for line in c.text.split("\n")), default=0)
    size = cap if widest <= 0 else min(cap, safe_width * 100 / widest)
    size = max(size, h * 0.02, 8.0)  # an overlong single word wraps/overflows rather than vanish
    return CaptionStyle(
        font_size=round(size),
        outline=round(max(1.5, size * 0.08), 1),
        shadow=round(max(1.0, size * 0.04), 1),
        margin_h=margin_h,
        margin_v=margin_v,
    )


def escape_ass_text(text: str) -> str:
    """Make `text` literal inside an ASS Dialogue line (no override blocks, no \\N escapes)."""
    text = " ".join(text.split())
    # libass reads "\{" and "\}" as literal braces; a backslash before anything else is kept,
    # but "\N", "\n" and "\h" are escapes, so a word joiner (invisible) splits each backslash off.
    text = text.replace("\\", "\\\u2060")
    return text.replace("{", "\\{").replace("}", "\\}")


def _ass_time(cs: int) -> str:
    return f"{cs // 360_000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def _cue_text(cue: Cue, active: int | None, style: CaptionStyle) -> str:
    lines = []
    index = 0
    for line in cue.lines:
        parts = []
        for word in line:
            text = escape_ass_text(word.text)
            if index == active:
                text = f"{{\\1c{style.highlight_colour}&}}{text}{{\\1c{style.text_colour}&}}"
            parts.append(text)
            index += 1
        lines.append(" ".join(parts))
    return "\\N".join(lines)


def ass_text(
    words: Iterable[Word], canvas: Canvas, layout: CaptionLayout | None = None
) -> tuple[str, list[Cue]]:
    """An ASS script with one event per spoken word: the whole cue, that word highlighted."""
    cues = group_cues(words, layout or CaptionLayout.for_canvas(canvas))
    style = caption_style(canvas, cues)
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
Style: Caption,{FONT_FAMILY},{style.font_size},{style.text_colour},{style.text_colour},\
{style.outline_colour},{style.shadow_colour},-1,0,0,0,100,100,0,0,1,{style.outline},\
{style.shadow},2,{style.margin_h},{style.margin_h},{style.margin_v},1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""
    events = []
    for cue in cues:
        cue_words = cue.words
        # Boundaries are rounded once to ASS centiseconds, so consecutive events neither
        # overlap nor leave a one-frame gap where the caption blinks.
        bounds = [round(cue.start * 100)]
        bounds += [round(w.start * 100) for w in cue_words[1:]]
        bounds.append(round(cue.end * 100))
        for i in range(len(cue_words)):
            start, end = bounds[i], max(bounds[i + 1], bounds[i])
            if end <= start:
                continue
            text = _cue_text(cue, i, style)
            events.append(f"Dialogue: 0,{_ass_time(start)},{_ass_time(end)},Caption,,0,0,0,,{text}")
    return header + "\n".join(events) + "\n", cues


def write_ass(
    words: Iterable[Word], canvas: Canvas, path: Path, layout: CaptionLayout | None = None
) -> list[Cue]:
    """Write the burn-in ASS file (UTF-8) for `canvas`; returns the cues it shows."""
    text, cues = ass_text(words, canvas, layout)
    path.write_text(text, encoding="utf-8")
    return cues
