"""Spotting the production asks in a brief: length, format, language, host, music, captions."""

from __future__ import annotations

import re

from agent.planner import lexicon as lx
from agent.planner.topic import CUT
from core.production import VideoFormat

SHORT_DURATION_S = 20.0
LONG_DURATION_S = 120.0

Span = tuple[int, int]

_UNIT_S = r"seconds?|secs?|s|segundos?|secondes?|sekunden|sek|secondi|seg"
_UNIT_M = r"minutes?|mins?|minutos?|minuten|minuti"
_UNIT_H = r"hours?|hrs?|horas?|heures?|stunden?|ore"
_LESS = (
    r"under|less\s+than|below|max(?:imum)?|at\s+most|up\s+to|no\s+(?:more|longer)\s+than|"
    r"shorter\s+than|within|in\s+under|in\s+less\s+than"
)
_MORE = r"over|more\s+than|at\s+least|longer\s+than"
_DURATION = re.compile(
    rf"(?P<lead>\b(?:(?P<less>{_LESS})|(?P<more>{_MORE})|about|around|roughly|approximately|"
    rf"approx|in\s+about|in|of|for|lasting|just)\s+)?"
    rf"(?:(?P<lo>{lx.DIGITS})\s*(?:-|to)\s*)?"
    rf"\b(?P<num>{lx.AMOUNT})(?P<half1>\s+and\s+a\s+half)?(?P<gap>[\s-]*)"
    rf"(?P<unit>{_UNIT_H}|{_UNIT_M}|{_UNIT_S})\b"
    rf"(?P<half2>\s+and\s+a\s+half)?"
    rf"(?:[\s,]*(?:and\s+)?(?P<sec>\d{{1,2}})\s*(?:seconds?|secs?|s)\b)?"
    rf"(?:[\s-]+long\b)?",
    re.I,
)
_CLOCK = re.compile(r"(?<![\w:])(?P<m>\d{1,2}):(?P<s>[0-5]\d)(?![\w:])")
_RATIOS = {(9, 16), (16, 9), (4, 5), (1, 1), (4, 3), (3, 4), (21, 9), (2, 3), (3, 2)}
_DECADE_BEFORE = re.compile(r"(?:\bthe|\bearly|\blate|\bmid|['’])[\s-]*$", re.I)
_DURATION_FOLLOWERS = lx.words(
    "video vid clip long reel short explainer tiktok version max or and with about on for in "
    "of to format vertical horizontal square"
)
_SHORT = re.compile(
    r"\bshort\b|\bquick\s+(?:video|clip|reel|one|explainer|promo|ad|teaser)\b", re.I
)
_LONG = re.compile(
    r"\blong[\s-]form\b|\blong(?:er)?\s+video\b|\bin[\s-]depth\b|\bdeep[\s-]dive\b", re.I
)

_NO_HOST = re.compile(
    r"\b(?:no|without(?:\s+an?|\s+any)?|zero|skip(?:\s+the)?)\s+(?:on-?camera\s+|human\s+|ai\s+)?"
    r"(?:hosts?|presenters?|avatars?|faces?|talking[\s-]heads?|spokesperson|anchor)\b|"
    r"\bfaceless\b|\b(?:just|only|all|pure)\s+b-?roll\b|\bb-?roll[\s-]only\b|"
    r"\b(?:voice-?over|voiceover|narration)[\s-]only\b|\bonly\s+(?:a\s+)?(?:voice-?over|"
    r"voiceover|narration)\b|\bno\s+one\s+on\s+(?:camera|screen)\b|\boff[\s-]camera\b|"
    r"\bdon'?t\s+show\s+(?:me|my\s+face|a\s+person|anyone|a\s+host)\b|\bsin\s+presentadora?\b|"
    r"\bsans\s+présentat(?:eur|rice)\b|\bohne\s+moderator(?:in)?\b|\bsem\s+apresentadora?\b|"
    r"\bsenza\s+presentat(?:ore|rice)\b",
    re.I,
)
_HOST_NOUN = (
    r"(?:host(?:ed)?|presenter|avatar|anchor|spokes(?:person|man|woman|model)|talking[\s-]head|"
    r"influencer|me\s+on\s+camera|on[\s-]camera|my\s+face|i\s+appear|presentadora?|"
    r"présentat(?:eur|rice)|moderator(?:in)?|apresentadora?|presentat(?:ore|rice))"
)
_HOST_CLAUSE = re.compile(
    rf"(?:\b(?:with|featuring|starring|and|by|plus|hosted\s+by|presented\s+by|mit|con|avec|"
    rf"com)\s+(?:(?:an?|the|my|our|einem|einer|un|una|une|um|uma)\s+)?(?:[\w'-]+\s+){{0,2}}?"
    rf"{_HOST_NOUN}|(?:\b(?:an?|the|my|our)\s+)?\b{_HOST_NOUN})\b"
    rf"(?P<clause>\s+(?:who|that|which|to|will|should|would|opening|closing|opens|closes|"
    rf"introducing|introduces|presenting|presents|talking|speaking|only|just|at|in|for|doing|"
    rf"does|starts?|ends?|begins?|kicks?|wraps?|signs?|appears?|handles?|intro|outro)\b"
    rf"[^,.;:!?{CUT}]*)?",
    re.I,
)
_HOST_VERB = re.compile(r"(?:\bto|\bhow\s+to)\s+$", re.I)
_HOST_VERB_AFTER = re.compile(r"^\s+(?:an?|the|your|my|our|a\s+\w+)\b", re.I)
_OPENS = re.compile(
    r"\b(?:opens?|opening|intro(?:duces?|duction|s)?|starts?|starting|begins?|beginning|"
    r"kicks?\s+(?:it\s+)?off|hook)\b",
    re.I,
)
_CLOSES = re.compile(
    r"\b(?:closes?|closing|outro|ends?|ending|wraps?\s+(?:it\s+)?up|signs?\s+off|sign-off|"
    r"concludes?|cta|call\s+to\s+action)\b",
    re.I,
)
_FACELESS_HINT = re.compile(
    r"\b(?:b-?roll|footage|montage|time-?lapse|slideshow|slide\s+show|voice-?over|voiceover|"
    r"narrated|narration|narrator|stock\s+clips?|(?:clip|shot|footage|loop)\s+of)\b",
    re.I,
)
_NO_MUSIC = re.compile(
    r"\b(?:no|without(?:\s+any)?)\s+(?:background\s+)?(?:music|soundtrack|bgm|score)\b|"
    r"\bmusic[\s-](?:free|off)\b|\bsin\s+música\b|\bsans\s+musique\b|\bohne\s+musik\b|"
    r"\bsem\s+música\b|\bsenza\s+musica\b",
    re.I,
)
_MUSIC_CLAUSE = re.compile(
    r"\b(?:with|and|plus|over|set\s+to)\s+(?:(?:an?|some)\s+)?(?P<style>(?:[\w-]+\s+){0,3}?)"
    r"(?:background\s+)?(?:music|soundtrack|beats?|bgm)\b",
    re.I,
)
_NO_NARRATION = re.compile(
    r"\b(?:no|without(?:\s+any)?)\s+(?:narration|voice-?overs?|voiceovers?|voices?|talking|speech|"
    r"spoken\s+words|words|dialogue)\b|\bsilent\b|\bmusic[\s-]only\b|\bonly\s+music\b",
    re.I,
)
# "A clip of waves at sunset" asks for pictures; narration would talk over them.
_VISUAL_ONLY = re.compile(
    r"\b(?:clip|footage|montage|time-?lapse|loop|b-?roll|shots?)\s+of\b|\b(?:just|only|pure|all)\s+"
    r"b-?roll\b|\bb-?roll[\s-]only\b|\bmontage\b|\baesthetic\b|\bvibes?\b|\bmood\s+(?:piece|video|"
    r"reel)\b|\bscreensaver\b",
    re.I,
)
_WANTS_WORDS = re.compile(
    r"\b(?:narrat\w*|voice|voice-?over|voiceover|explain\w*|tips?|ways?|how\s+to|facts?|"
    r"talk\w*|host)\b",
    re.I,
)
PROMO = re.compile(
    r"\b(?:promo(?:tion(?:al)?)?|promot(?:e|es|ing)|ads?|advert(?:isement)?|commercial|launch|"
    r"teaser|trailer|product\s+video|announcement)\b",
    re.I,
)
_NO_CAPTIONS = re.compile(
    r"\b(?:no|without(?:\s+any)?)\s+(?:on-?screen\s+)?(?:captions?|subtitles?|subs|"
    r"text\s+on\s+screen|on-?screen\s+text)\b|\b(?:captions?|subtitles?)\s+off\b|"
    r"\bsin\s+subtítulos\b|\bsans\s+sous-titres\b|\bohne\s+untertitel\b|\bsem\s+legendas\b|"
    r"\bsenza\s+sottotitoli\b",
    re.I,
)
_CAPTIONS_CLAUSE = re.compile(
    r"\b(?:with|and|plus)\s+(?:(?:burned|burnt|big|bold|animated)[\s-]+(?:in\s+)?)?"
    r"(?:captions?|subtitles?|subs)\b",
    re.I,
)
_TONE_WORD = "|".join(sorted((re.escape(w) for w in lx.TONE_WORDS), key=len, reverse=True))
_TONE = re.compile(rf"\b(?P<word>{_TONE_WORD})\b", re.I)
_TONE_CLAUSE = re.compile(
    rf"(?:\b(?:in|with)\s+)?(?:\ban?\s+)?\b(?:{_TONE_WORD})[\s-]+(?:tone|style|vibe|feel|mood|"
    rf"voice|way|energy)\b|\b(?:tone|style|vibe|mood)\s*[:=]\s*(?:{_TONE_WORD})\b",
    re.I,
)
_LANGUAGE_IN = re.compile(
    rf"\b(?:in|into|en|auf|em)\s+(?P<lang>{lx.LANGUAGE_NAMES})\b(?P<after>\s*[\w'-]*)", re.I
)
_LANGUAGE_OTHER = re.compile(
    rf"\b(?P<lang>{lx.LANGUAGE_NAMES})[\s-](?:language|narration|narrated|voice-?over|voiceover|"
    rf"voice|audio|speaker|version|dub(?:bed)?|speaking)\b|\b(?:language|lang|idioma|langue|"
    rf"sprache|lingua)\s*[:=]?\s*(?P<lang2>{lx.LANGUAGE_NAMES})\b|\b(?:speaks?|speaking|"
    rf"spoken\s+in|narrated\s+in|dubbed\s+in|translated\s+(?:in)?to)\s+"
    rf"(?P<lang3>{lx.LANGUAGE_NAMES})\b",
    re.I,
)
_SCRIPTS: tuple[tuple[str, str], ...] = (
    ("[\u3040-\u30ff]", "ja"),
    ("[\uac00-\ud7af]", "ko"),
    ("[\u4e00-\u9fff]", "zh"),
    ("[\u0400-\u04ff]", "ru"),
    ("[\u0600-\u06ff]", "ar"),
    ("[\u0900-\u097f]", "hi"),
    ("[\u0e00-\u0e7f]", "th"),
    ("[\u0590-\u05ff]", "he"),
    ("[\u0370-\u03ff]", "el"),
)
_FORMAT_ADJECTIVE = re.compile(
    r"(?:\bin\s+)?\b(?P<adj>" + "|".join(re.escape(a) for a in lx.FORMAT_ADJECTIVES) + r")\b"
    r"(?:\s+(?:format|mode|orientation|aspect(?:\s+ratio)?|framing))?",
    re.I,
)
_AFTER_ADJECTIVE = re.compile(rf"^[\s,-]*(?:$|[.,;!?]|\d|(?:{lx.PRODUCTION_NOUNS})\b)", re.I)
_BEFORE_ADJECTIVE = re.compile(r"\b(?:vidéo|vídeo|formato)\s+$", re.I)
_PLATFORM_REMOVABLE_BEFORE = re.compile(r"(?:^|\b(?:for|as\s+an?|an?|the|my|our|on))\s*$", re.I)


def duration(text: str, spans: list[Span]) -> float | None:
    found: list[tuple[int, float]] = []
    for match in _DURATION.finditer(text):
        seconds = _duration_value(match, text)
        if seconds is not None:
            found.append((match.start(), seconds))
            spans.append(match.span())
    for match in _CLOCK.finditer(text):
        minutes, secs = int(match.group("m")), int(match.group("s"))
        before = text[max(0, match.start() - 6) : match.start()].lower()
        if (minutes, secs) in _RATIOS or re.search(r"\b(?:at|by|from|until)\s*$", before):
            continue
        found.append((match.start(), minutes * 60.0 + secs))
        spans.append(match.span())
    if found:
        return min(found)[1]
    if _LONG.search(text):
        return LONG_DURATION_S
    if _SHORT.search(text):
        return SHORT_DURATION_S
    return None


def _duration_value(match: re.Match[str], text: str) -> float | None:
    raw = match.group("num")
    unit = match.group("unit").lower()
    number = lx.parse_number(raw)
    if number is None or number <= 0:
        return None
    word = raw.lower().split()[0]
    if word in ("a", "an") and unit[0] == "s":
        return None  # "a second video" is an ordinal, not one second
    if unit == "s" and not raw[0].isdigit():
        return None  # "tres formas" is a count, not three seconds
    if unit == "s" and not match.group("gap"):
        after = text[match.end() :].split(maxsplit=1)
        next_word = after[0].lower().strip(".,;:!?") if after else ""
        is_decade = number >= 1000 or (
            number % 10 == 0
            and (
                _DECADE_BEFORE.search(text[: match.start("num")])
                or (next_word.isalpha() and next_word not in _DURATION_FOLLOWERS)
            )
        )
        if is_decade:
            return None  # "the 90s", "80s music"
    scale = (
        3600.0
        if re.fullmatch(_UNIT_H, unit, re.I)
        else 60.0
        if re.fullmatch(_UNIT_M, unit, re.I)
        else 1.0
    )
    seconds = number * scale
    if match.group("half1") or match.group("half2"):
        seconds += 0.5 * scale
    if match.group("sec"):
        seconds += float(match.group("sec"))
    if match.group("lo"):
        low = lx.parse_number(match.group("lo"))
        if low is not None and 0 < low < number:
            seconds = (low * scale + seconds) / 2
    if match.group("less"):
        seconds *= 0.9
    elif match.group("more"):
        seconds *= 1.1
    return seconds


def video_format(text: str, spans: list[Span]) -> VideoFormat:
    found: list[tuple[int, str]] = []
    for pattern, name in lx.FORMAT_RATIOS:
        for match in re.finditer(pattern, text, re.I):
            found.append((match.start(), name))
            spans.append(match.span())
    for pattern, name in lx.FORMAT_PLATFORMS:
        for match in re.finditer(pattern, text, re.I):
            found.append((match.start(), name))
            after_noun = _AFTER_ADJECTIVE.match(text[match.end() :])
            if _PLATFORM_REMOVABLE_BEFORE.search(text[: match.start()]) or after_noun:
                spans.append(match.span())
    for match in _FORMAT_ADJECTIVE.finditer(text):
        in_front = match.group(0).lower().startswith("in ")
        # "une vidéo carrée": in French, Spanish, Italian and Portuguese the noun comes first.
        after_noun = _BEFORE_ADJECTIVE.search(text[: match.start()])
        if in_front or after_noun or _AFTER_ADJECTIVE.match(text[match.end() :]):
            found.append((match.start(), lx.FORMAT_ADJECTIVES[match.group("adj").lower()]))
            spans.append(match.span())
    if not found:
        return VideoFormat.tiktok
    return VideoFormat(min(found)[1])


def language(text: str, spans: list[Span]) -> tuple[str, str]:
    """The spoken language asked for, and the language the brief itself is written in."""
    written = _written_language(text)
    found: list[tuple[int, str]] = []
    for match in _LANGUAGE_IN.finditer(text):
        after = match.group("after").strip().lower()
        if after and after not in lx.LANGUAGE_FOLLOWERS:
            continue  # "in French Polynesia", "in Spanish cooking"
        found.append((match.start(), match.group("lang")))
        spans.append((match.start(), match.end("lang")))
    for match in _LANGUAGE_OTHER.finditer(text):
        name = match.group("lang") or match.group("lang2") or match.group("lang3")
        found.append((match.start(), name))
        spans.append(match.span())
    if found:
        name = " ".join(min(found)[1].lower().split())
        return lx.LANGUAGES.get(name, "en"), written
    return written, written


def _written_language(text: str) -> str:
    letters = [ch for ch in text if ch.isalpha()]
    for pattern, code in _SCRIPTS:
        if letters and len(re.findall(pattern, text)) >= 0.3 * len(letters):
            return code
    words = re.findall(r"[^\W\d_]+", text.lower())
    scores = {code: sum(w in stop for w in words) for code, stop in lx.STOPWORDS.items()}
    best = max(scores, key=lambda code: (scores[code], code == "en"))
    if best != "en" and scores[best] >= 3 and scores[best] > scores["en"]:
        return best
    return "en"


def host(text: str, spans: list[Span]) -> tuple[bool, bool, bool]:
    negated = list(_NO_HOST.finditer(text))
    for match in negated:
        spans.append(match.span())
    clauses: list[str] = []
    for match in _HOST_CLAUSE.finditer(text):
        before, after = text[: match.start()], text[match.end() :]
        if _HOST_VERB.search(before) or (
            match.group(0).lower().startswith("host") and _HOST_VERB_AFTER.match(after)
        ):
            continue  # "how to host a dinner party" is a topic, not a host
        if any(n.start() <= match.start() < n.end() for n in negated):
            continue
        spans.append(match.span())
        clauses.append(match.group(0))
    if negated:
        return False, False, False
    if not clauses:
        # Without a word about a host, a brief about footage or a voice-over is faceless.
        return (False, False, False) if _FACELESS_HINT.search(text) else (True, True, True)
    said = " ".join(clauses)
    opens, closes = bool(_OPENS.search(said)), bool(_CLOSES.search(said))
    if not opens and not closes:
        return True, True, True
    return True, opens, closes


def music(text: str, spans: list[Span]) -> tuple[bool, str]:
    quiet = _NO_MUSIC.search(text)
    if quiet:
        spans.append(quiet.span())
        return False, ""
    style = ""
    for match in _MUSIC_CLAUSE.finditer(text):
        spans.append(match.span())
        words = [w for w in match.group("style").lower().split() if w in lx.MUSIC_STYLES]
        if words and not style:
            style = " ".join(words)
    return True, style


def narration(text: str, spans: list[Span], *, has_host: bool) -> bool:
    quiet = _NO_NARRATION.search(text)
    if quiet:
        spans.append(quiet.span())
        return False
    return has_host or not _VISUAL_ONLY.search(text) or bool(_WANTS_WORDS.search(text))


def captions(text: str, spans: list[Span]) -> bool:
    for match in _CAPTIONS_CLAUSE.finditer(text):
        spans.append(match.span())
    off = _NO_CAPTIONS.search(text)
    if off:
        spans.append(off.span())
    return off is None


def tone(text: str, spans: list[Span]) -> str:
    for match in _TONE_CLAUSE.finditer(text):
        spans.append(match.span())
    found = _TONE.search(text)
    if not found:
        return "friendly"
    return lx.TONE_WORDS.get(" ".join(found.group("word").lower().split()), "friendly")
