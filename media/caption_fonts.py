"""The fonts captions are drawn with: which font draws each character, and how wide libass draws it.

libass is given a folder holding only these fonts (`media.captions.copy_caption_fonts`), and
every run of text names its font explicitly (`font_runs`), so what libass draws never depends on
the fonts, or the font fallback, of the machine that renders. Widths are measured with Pillow on
the same files.
"""

from __future__ import annotations

import struct
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from pathlib import Path

from PIL import ImageFont

FONTS_DIR = Path(__file__).parent / "fonts"


@dataclass(frozen=True)
class CaptionFont:
    family: str  # the family name inside the file, which libass matches `\fn` and styles on
    file: str  # under FONTS_DIR

    @property
    def path(self) -> Path:
        return FONTS_DIR / self.file

    @cached_property
    def _tables(self) -> tuple[bytes, dict[str, int]]:
        data = self.path.read_bytes()
        count = struct.unpack_from(">H", data, 4)[0]
        offsets = {}
        for i in range(count):
            tag, _, offset, _ = struct.unpack_from(">4sIII", data, 12 + 16 * i)
            offsets[tag.decode("latin-1")] = offset
        return data, offsets

    @cached_property
    def em_per_size(self) -> float:
        """Pixels per em for each pixel of ASS `Fontsize`.

        libass sizes a font so that its OS/2 winAscent + winDescent fills `Fontsize` pixels;
        Pillow sizes by the em, so Pillow's widths are scaled by this to predict libass's.
        """
        data, tables = self._tables
        units_per_em = struct.unpack_from(">H", data, tables["head"] + 18)[0]
        win_ascent, win_descent = struct.unpack_from(">HH", data, tables["OS/2"] + 74)
        return float(units_per_em / (win_ascent + win_descent))

    @cached_property
    def codepoints(self) -> frozenset[int]:
        """Every character the font has a glyph for (from its Unicode cmap)."""
        data, tables = self._tables
        base = tables["cmap"]
        subtables = {}
        for i in range(struct.unpack_from(">H", data, base + 2)[0]):
            platform, encoding, offset = struct.unpack_from(">HHI", data, base + 4 + 8 * i)
            subtables[(platform, encoding)] = base + offset
        for key in ((3, 10), (0, 4), (3, 1), (0, 3)):
            if key in subtables:
                return _read_cmap(data, subtables[key])
        raise ValueError(f"{self.file} has no Unicode cmap")

    def covers(self, char: str) -> bool:
        return ord(char) in self.codepoints

    def width_px(self, text: str, em_px: float) -> float:
        """Width of `text` (one run in this font) drawn with an em of `em_px` pixels."""
        return _pillow_font(self.path).getlength(text) * em_px / 100

    def size_matching(self, base: CaptionFont, font_size: float) -> float:
        """The ASS `Fontsize` giving this font the em that `base` has at `font_size`."""
        return font_size * base.em_per_size / self.em_per_size


def _read_cmap(data: bytes, at: int) -> frozenset[int]:
    fmt = struct.unpack_from(">H", data, at)[0]
    found: set[int] = set()
    if fmt == 12:
        count = struct.unpack_from(">I", data, at + 12)[0]
        for i in range(count):
            start, end, glyph = struct.unpack_from(">III", data, at + 16 + 12 * i)
            found.update(range(start if glyph else start + 1, end + 1))
    elif fmt == 4:
        segments = struct.unpack_from(">H", data, at + 6)[0] // 2
        ends = struct.unpack_from(f">{segments}H", data, at + 14)
        starts = struct.unpack_from(f">{segments}H", data, at + 16 + 2 * segments)
        deltas = struct.unpack_from(f">{segments}h", data, at + 16 + 4 * segments)
        range_at = at + 16 + 6 * segments
        range_offsets = struct.unpack_from(f">{segments}H", data, range_at)
        for s, (start, end, delta, ro) in enumerate(
            zip(starts, ends, deltas, range_offsets, strict=True)
        ):
            for code in range(start, min(end, 0xFFFE) + 1):
                if ro == 0:
                    glyph = (code + delta) & 0xFFFF
                else:
                    glyph = struct.unpack_from(
                        ">H", data, range_at + 2 * s + ro + 2 * (code - start)
                    )[0]
                if glyph:
                    found.add(code)
    else:
        raise ValueError(f"unsupported cmap format {fmt}")
    return frozenset(found)


@cache
def _pillow_font(path: Path) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), 100)


# The families a caption style can be set in (bold faces); each draws Latin, Greek and Cyrillic.
LATIN_FONTS = {
    "DejaVu Sans": CaptionFont("DejaVu Sans", "DejaVuSans-Bold.ttf"),
    "Noto Sans": CaptionFont("Noto Sans", "NotoSans-Bold.ttf"),
}
DEFAULT_FAMILY = "DejaVu Sans"
ARABIC_FONT = CaptionFont("Noto Sans Arabic", "NotoSansArabic-Bold.ttf")
HEBREW_FONT = CaptionFont("Noto Sans Hebrew", "NotoSansHebrew-Bold.ttf")
# Chinese, Japanese and Korean (regular weight only: libass emboldens it for bold styles).
CJK_FONT = CaptionFont("Droid Sans Fallback", "DroidSansFallback.ttf")
ALL_FONTS = (*LATIN_FONTS.values(), ARABIC_FONT, HEBREW_FONT, CJK_FONT)

_ARABIC = ((0x0600, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))
_HEBREW = ((0x0590, 0x05FF), (0xFB1D, 0xFB4F))
# Scripts written without spaces between words: Han, kana, CJK symbols and punctuation.
_UNSPACED = (
    (0x2E80, 0x2FDF),
    (0x3000, 0x30FF),
    (0x3190, 0x31FF),
    (0x3200, 0x33FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFF60),
    (0xFFE0, 0xFFE6),
    (0x20000, 0x3FFFF),
)
_HANGUL = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7FF))


def _within(char: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in ranges)


def is_unspaced(char: str) -> bool:
    """Whether `char` belongs to a script written without spaces (Chinese, Japanese)."""
    return _within(char, _UNSPACED)


def is_cjk(char: str) -> bool:
    return _within(char, _UNSPACED) or _within(char, _HANGUL)


def display_width(text: str) -> int:
    """Width in terminal-like columns: wide and full-width (CJK) characters count twice."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def needs_space(before: str, after: str) -> bool:
    """Whether a space separates two words: not next to Chinese or Japanese characters."""
    return not (is_unspaced(before[-1]) or is_unspaced(after[0]))


def join_words(texts: Sequence[str]) -> str:
    """Words joined into a line: by spaces, except next to Chinese or Japanese characters."""
    line = ""
    for text in texts:
        line += " " + text if line and needs_space(line, text) else text
    return line


def word_count(texts: Sequence[str]) -> float:
    """How many words `texts` make, a word of Chinese or Japanese counting half per character."""
    return sum(len(t) / 2 if all(map(is_unspaced, t)) else 1 for t in texts)


def split_unspaced(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Chinese or Japanese text cut between characters into pieces that fit (other text whole).

    Punctuation stays with the text before it, so no piece starts with it.
    """
    if not any(map(is_unspaced, text)):
        return [text]
    pieces = [""]
    for char in text:
        if pieces[-1] and char.isalnum() and not fits(pieces[-1] + char):
            pieces.append("")
        pieces[-1] += char
    return pieces


def _preferred(char: str, base: CaptionFont) -> CaptionFont:
    if _within(char, _ARABIC):
        return ARABIC_FONT
    if _within(char, _HEBREW):
        return HEBREW_FONT
    if is_cjk(char):
        return CJK_FONT
    if base.covers(char):
        return base
    return next((f for f in ALL_FONTS if f.covers(char)), base)


def font_runs(text: str, base: CaptionFont) -> list[tuple[CaptionFont, str]]:
    """`text` cut into runs, each with the font that draws it.

    Letters go to the font of their script; spaces, digits, punctuation and combining marks
    stay in the font of the run they are in when it has them, so words are shaped whole.
    """
    runs: list[tuple[CaptionFont, str]] = []
    for char in text:
        current = runs[-1][0] if runs else None
        neutral = not unicodedata.category(char).startswith("L")
        if current is not None and neutral and current.covers(char):
            font = current
        elif current is None and neutral and base.covers(char):
            font = base
        else:
            font = _preferred(char, base)
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + char)
        else:
            runs.append((font, char))
    return runs


def text_width_px(text: str, font_size: float, base: CaptionFont | None = None) -> float:
    """Width libass draws `text` at ASS `Fontsize` `font_size`, `base` drawing what it can."""
    base = base or LATIN_FONTS[DEFAULT_FAMILY]
    # Every run is drawn with the em of the base font (see `CaptionFont.size_matching`).
    return _width_at_em_100(text, base) * base.em_per_size * font_size / 100


@lru_cache(maxsize=65_536)
def _width_at_em_100(text: str, base: CaptionFont) -> float:
    # Wrapping measures the same candidate lines many times over.
    return sum(font.width_px(run, 100) for font, run in font_runs(text, base))


def line_height_px(text: str, font_size: float, base: CaptionFont | None = None) -> float:
    """About how tall libass makes a line of `text`: the largest ASS size among its runs.

    Runs in other scripts are drawn at the base font's em, which for fonts with tall
    ascent + descent (Arabic especially) means a larger size, so a taller line.
    """
    base = base or LATIN_FONTS[DEFAULT_FAMILY]
    runs = font_runs(text, base)
    return max((font.size_matching(base, font_size) for font, _ in runs), default=font_size)
