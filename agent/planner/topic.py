"""Finding what a brief is about: the topic phrase, a "how to" action, and a list count."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from agent.planner.lexicon import (
    COUNT,
    LIST_ADJECTIVES,
    LIST_NOUNS,
    LIST_NOUNS_SINGULAR,
    TONE_WORDS,
    parse_number,
    words,
)

# Where a brief's production words were cut out; the topic never runs across one.
CUT = "¦"
MAX_TOPIC_CHARS = 80
MAX_TOPIC_WORDS = 12


@dataclass(frozen=True)
class TopicReading:
    topic: str
    action: str = ""
    items: int | None = None
    item_noun: str = ""
    countdown: bool = False


_CUES_EN = (
    r"\b(?:about|regarding|concerning|explain(?:s|ing)?|cover(?:s|ing)?|describ(?:e|es|ing)|"
    r"discuss(?:es|ing)?|introduc(?:e|es|ing)|showcas(?:e|es|ing)|highlight(?:s|ing)?|"
    r"review(?:s|ing)?|compar(?:e|es|ing)|celebrat(?:e|es|ing)|promot(?:e|es|ing)|"
    r"teach(?:es|ing)?|show(?:s|ing)?|demonstrat(?:e|es|ing)|explor(?:e|es|ing)|"
    r"on\s+the\s+(?:topic|subject)\s+of|(?:the\s+)?(?:topic|subject|theme)\s*(?:is|:|-))\s+"
)
_CUES_FOREIGN: dict[str, str] = {
    "es": r"\b(?:sobre|acerca\s+de|de\s+cómo|cómo)\s+",
    "fr": r"\b(?:sur|à\s+propos\s+de|au\s+sujet\s+de|comment)\s+",
    "de": r"\b(?:über|zum\s+thema|wie\s+man)\s+",
    "pt": r"\b(?:sobre|acerca\s+de|como)\s+",
    "it": r"\b(?:su|sul|sulla|sui|sugli|riguardo|come)\s+",
}
_HOW_TO = re.compile(
    r"^\s*how\s+(?:to|you\s+can|do\s+(?:i|you|we)|can\s+(?:i|you|we)|we\s+can|i\s+can)\s+", re.I
)
# "what is inflation?" is about inflation.
_WHAT_IS = re.compile(r"^\s*(?:what\s+(?:is|are)|what's|who\s+(?:is|was|were))\s+", re.I)
# "cómo ahorrar energía": the infinitive already reads as a topic in these languages.
_HOW_TO_FOREIGN = re.compile(r"^\s*(?:cómo|como|comment|wie\s+man|come)\s+", re.I)
_NOUN_CUE = re.compile(
    r"\b(?:promo|promotion|ad|advert|advertisement|commercial|trailer|teaser|announcement)\s+"
    r"(?:for|of|on|about)\s+|\b(?:tutorial|guide|overview|introduction|intro|recap|breakdown|"
    r"walkthrough|lesson|primer|story|video|clip|reel|short|explainer|talk|piece|segment|post|"
    r"tiktok|content|something|dive|look|journey|tour|documentary|doc|film|series|episode)\s+"
    r"(?:of|on|to|into)\s+(?!camera\b|screen\b)",
    re.I,
)
_BEFORE_NOUN = re.compile(
    rf"(?P<topic>[^{CUT},.;:!?]{{1,{MAX_TOPIC_CHARS}}}?)\s+(?:explainer|tutorial|guide|overview|101|basics|promo|"
    r"commercial|trailer|teaser|review|recap|walkthrough)\b",
    re.I,
)
_LIST_NOUN_RE = "|".join(sorted((re.escape(n) for n in LIST_NOUNS), key=len, reverse=True))
_SINGULAR_RE = "|".join(sorted(LIST_NOUNS_SINGULAR, key=len, reverse=True))
_LIST = re.compile(
    rf"^(?:(?:the|my|our|these|those|with)\s+)?(?P<top>top\s+)?(?P<num>{COUNT})\s+"
    rf"(?P<mid>(?:[^\W\d_][\w'-]*\s+){{0,3}}?)(?P<noun>{_LIST_NOUN_RE}|{_SINGULAR_RE})\b\s*"
    r"(?P<conn>to|for|on|about|of|in|that|you|when|which|de|para|pour|für|zum|zur|um|per|di)?"
    r"\b\s*(?P<rest>.*)$",
    re.I,
)
_STEPS = re.compile(
    rf"^(?:an?\s+)?(?P<num>{COUNT})-step\s+\w+\s+(?:to|for|on)\s+(?P<rest>.+)$", re.I
)
_TOP = re.compile(rf"^(?:the\s+)?top\s+(?P<num>{COUNT})\s+(?P<rest>.+)$", re.I)
_BEST = re.compile(
    rf"^(?:the\s+)?(?P<num>{COUNT})\s+(?P<rest>(?:best|greatest|biggest|coolest|easiest|worst|"
    r"weirdest|strangest|funniest|cheapest|most\s+\w+)\s+.+)$",
    re.I,
)
_SCAN_LIST = re.compile(
    rf"\b(?P<top>top\s+)?(?P<num>{COUNT})(?:-step\b|\s+(?:[^\W\d_][\w'-]*\s+){{0,3}}?"
    rf"(?P<noun>{_LIST_NOUN_RE})\b)|\btop\s+(?P<topnum>{COUNT})\b",
    re.I,
)
# ", with a host" ends the topic; ", cats and dogs" continues it.
_CLAUSE_STARTERS = re.compile(
    r"^\s*(?:with|without|no|in|for|featuring|using|and\s+(?:an?|the|some|no)\b|make|keep|add|"
    r"end|start|open|close|ending|starting|please|vertical|horizontal|square|host|music|"
    r"captions?|subtitles?|tone|style|format|shot|filmed|narrated|voiced|so|but|then|target|"
    r"aimed|where|which|that|who|\d)",
    re.I,
)
_WITH_PRODUCTION = re.compile(
    r"\s+(?:with|using|plus|and)\s+(?:[\w'-]+\s+){0,3}?(?:host|presenter|avatar|music|captions?|"
    r"subtitles?|narration|voice-?over|voiceover|voice|b-?roll|clips?|shots?|transitions?|"
    r"on-?screen|visuals?|footage|animations?|graphics|emojis?|intro|outro|hook|cta|"
    r"call\s+to\s+action|tone|vibe|me)\b",
    re.I,
)
_PRODUCTION_TAIL = re.compile(
    r"\s+(?:featuring|narrated|voiced|presented|hosted|starring|shot\s+(?:on|in)|filmed|"
    r"for\s+(?:my|our|a|the)\s+(?:channel|brand|page|account|followers|audience|store|shop|"
    r"business|company|startup|socials?)|in\s+an?\s+\w+\s+(?:tone|style|way|voice))\b",
    re.I,
)
_EDGE_CONNECTORS = words(
    "and or with for in on the a an to of that which who please pls thanks thank you etc it "
    "is be should will would just so then but mit con avec com y et und e einem einer un una "
    "une um uma"
)
_EDGE_PRODUCTION = words(
    "video videos vid clip clips reel reels short shorts tiktok tiktoks format version style "
    "explainer tutorial content post promo ad"
)
_KEEP_LEADING = words("the a an")
_FILLER = (
    _EDGE_CONNECTORS
    | _EDGE_PRODUCTION
    | frozenset(TONE_WORDS)
    | words(
        "make create produce generate give write build do need want like can could me us i "
        "i'd i'm we let's lets some about film movie piece really very nice cool good great "
        "awesome hey hi hello quick simple little youtube instagram new another one short long"
    )
)
_KEEP = set("'-&%+/.,")
# Words that start a brief with a capital only because they start it; names keep theirs.
_COMMON_STARTS = (
    LIST_ADJECTIVES
    | frozenset(TONE_WORDS)
    | words(
        "travel cooking healthy home morning evening daily how why what when where tips guide "
        "budget fitness workout study productivity energy money sleep coffee food recipes "
        "garden gardening kids family office remote small summer winter spring autumn fall "
        "weekend night beginner beginners easy welcome intro introduction"
    )
)
_FOREIGN_CONNECTORS = words("de para pour für zum zur um per di")
# List nouns that, followed by "to", introduce an action: "ways to save energy".
ACTION_NOUNS = words(
    "ways tips steps hacks tricks strategies habits reasons methods techniques ideas rules "
    "secrets keys lessons exercises stretches routines moves way tip step hack trick "
    "strategy habit reason method technique idea rule secret key lesson exercise"
)


def scan_items(text: str) -> tuple[int | None, str, bool]:
    """A list count anywhere in the brief: ("5 tips", "top ten") → (5, "tips", False)."""
    for match in _SCAN_LIST.finditer(text):
        raw = match.group("num") or match.group("topnum")
        value = parse_number(raw) if raw else None
        if value is None or value < 1:
            continue
        noun = (match.group("noun") or ("steps" if "-step" in match.group(0) else "")).lower()
        return int(value), noun, bool(match.group("top") or match.group("topnum"))
    return None, "", False


def extract_topic(work: str, written: str) -> TopicReading | None:
    """The topic of `work` (the brief with production words cut out), or None if it has none."""
    phrase = _after_cue(work, written) or _list_phrase(work)
    if phrase is None:
        found = _BEFORE_NOUN.search(work)
        if found:
            phrase = _trim(found.group("topic"), _FILLER)
    if not phrase:
        phrase = _fallback(work)
        if phrase and work.lstrip().startswith(phrase.split()[0]):
            phrase = _sentence_case(phrase)
    if not phrase:
        return None
    reading = _read_phrase(phrase)
    topic = clean_topic(reading.topic)
    if not _has_word(topic):
        return None
    action = clean_topic(reading.action)
    return TopicReading(topic, action, reading.items, reading.item_noun, reading.countdown)


def _after_cue(work: str, written: str) -> str | None:
    patterns = [_CUES_EN]
    if written in _CUES_FOREIGN:
        patterns.insert(0, _CUES_FOREIGN[written])
    for pattern in [*patterns, _NOUN_CUE.pattern]:
        for match in re.finditer(pattern, work, re.I):
            phrase = _trim(_cut(work[match.end() :]), _EDGE_CONNECTORS)
            if _has_word(phrase):
                return phrase
    return None


def _list_phrase(work: str) -> str | None:
    """ "Ein Video mit 3 Tipps zum Energiesparen": the list names the topic when no cue does."""
    for match in _SCAN_LIST.finditer(work):
        phrase = _trim(_cut(work[match.start() :]), _EDGE_CONNECTORS)
        # "4 steps" alone names no topic; "3 smoothie recipes" does.
        reading = _read_phrase(phrase)
        if reading.topic.lower() != reading.item_noun:
            return phrase
    return None


def _fallback(work: str) -> str:
    for part in re.split(rf"[{CUT}\n;:!?()\"]|\.(?:\s|$)|\s-\s|,", work):
        phrase = _trim(part, _FILLER)
        if _has_word(phrase):
            return phrase
    return ""


def _sentence_case(phrase: str) -> str:
    """ "Travel tips for Japan" → "travel tips for Japan": a capital that only starts the brief."""
    first, _, rest = phrase.partition(" ")
    if first[:1].isupper() and first[1:].islower() and first.lower() in _COMMON_STARTS:
        return " ".join(filter(None, [first.lower(), rest]))
    return phrase


def _cut(text: str) -> str:
    """The topic phrase at the start of `text`, up to the first production clause or break."""
    end = len(text)
    for match in re.finditer(rf"[{CUT}\n;:!?()\"]|\.(?:\s|$)|\s-\s|,", text):
        if match.group(0) != ",":
            end = match.start()
            break
        following = text[match.end() :].split(",", 1)[0]
        only_filler = all(w.lower().strip(".!?") in _FILLER for w in following.split())
        if CUT in following or only_filler or _CLAUSE_STARTERS.match(following):
            end = match.start()
            break
    phrase = text[:end]
    for pattern in (_WITH_PRODUCTION, _PRODUCTION_TAIL):
        found = pattern.search(phrase)
        if found:
            phrase = phrase[: found.start()]
    return phrase


def _trim(phrase: str, edge: frozenset[str]) -> str:
    words = phrase.split()
    # After a cue a leading article belongs to the topic ("about the history of coffee").
    leading = edge - _KEEP_LEADING if edge is _EDGE_CONNECTORS else edge
    while words and words[0].lower().strip(".,'") in leading:
        words.pop(0)
    while words and words[-1].lower().strip(".,'") in edge:
        words.pop()
    return " ".join(words)


def _read_phrase(phrase: str) -> TopicReading:
    foreign = _HOW_TO_FOREIGN.match(phrase)
    if foreign and phrase[foreign.end() :].strip():
        phrase = phrase[foreign.end() :]
    what = _WHAT_IS.match(phrase)
    if what and phrase[what.end() :].strip():
        phrase = phrase[what.end() :]
    how = _HOW_TO.match(phrase)
    if how:
        action = _trim(phrase[how.end() :], _EDGE_CONNECTORS)
        return TopicReading(to_gerund(action), action)
    listed = _LIST.match(phrase)
    if listed and (value := parse_number(listed.group("num"))) and value >= 1:
        return _read_list(listed, int(value))
    for pattern, countdown in ((_STEPS, False), (_TOP, True), (_BEST, False)):
        found = pattern.match(phrase)
        if found and (value := parse_number(found.group("num"))) and value >= 1:
            rest = _trim(found.group("rest"), _EDGE_CONNECTORS)
            noun = "steps" if pattern is _STEPS else _first_plural(rest)
            first = rest.split()[0].lower() if rest else ""
            if pattern is _STEPS and first.isalpha() and not first.endswith("ing"):
                # "a 5-step plan to bake bread" names an action; "… to baking bread" a subject.
                return TopicReading(to_gerund(rest), rest, int(value), noun, countdown)
            return TopicReading(rest, "", int(value), noun, countdown)
    return TopicReading(phrase)


def _read_list(listed: re.Match[str], count: int) -> TopicReading:
    noun = listed.group("noun").lower()
    mid = listed.group("mid").split()
    rest = _trim(listed.group("rest"), _EDGE_CONNECTORS)
    countdown = bool(listed.group("top"))
    conn = (listed.group("conn") or "").lower()
    listed_things = " ".join([*mid, listed.group("noun")])
    if conn == "to" and rest and noun in ACTION_NOUNS:
        return TopicReading(to_gerund(rest), rest, count, noun, countdown)
    plain = all(word.lower() in LIST_ADJECTIVES for word in mid)
    if rest and (conn in _FOREIGN_CONNECTORS or (conn in ("for", "about", "on") and plain)):
        return TopicReading(rest, "", count, noun, countdown)
    if rest:
        # "top 10 beaches in Portugal", "4 productivity hacks for remote workers": the listed
        # things, with what qualifies them, are the topic.
        return TopicReading(
            " ".join(filter(None, [listed_things, conn, rest])), "", count, noun, countdown
        )
    return TopicReading(listed_things, "", count, noun, countdown)


def _first_plural(phrase: str) -> str:
    for word in phrase.lower().split():
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            return word
    return ""


def clean_topic(text: str) -> str:
    """Letters, digits and plain punctuation only, so the topic is safe inside prompts."""
    text = unicodedata.normalize("NFC", text)
    kept = "".join(ch if (ch.isalnum() or ch in _KEEP) else " " for ch in text)
    words = kept.split()
    while words and not any(ch.isalnum() for ch in words[-1]):
        words.pop()
    while words and not any(ch.isalnum() for ch in words[0]):
        words.pop(0)
    text = " ".join(words[:MAX_TOPIC_WORDS]).strip(" ,.'-/&+")
    if len(text) > MAX_TOPIC_CHARS:
        text = text[:MAX_TOPIC_CHARS].rsplit(" ", 1)[0].strip(" ,.'-/&+")
    return text


def _has_word(text: str) -> bool:
    return any(sum(ch.isalpha() for ch in word) >= 2 for word in text.split()) or any(
        _is_ideographic(ch) for ch in text
    )


def _is_ideographic(ch: str) -> bool:
    # Scripts written without spaces carry a whole word in one character.
    return "CJK" in unicodedata.name(ch, "") or "HANGUL" in unicodedata.name(ch, "")


_GERUND_EXCEPTIONS = {
    "be": "being", "see": "seeing", "flee": "fleeing", "agree": "agreeing", "die": "dying",
    "lie": "lying", "tie": "tying", "begin": "beginning", "forget": "forgetting",
    "prefer": "preferring", "control": "controlling", "quit": "quitting", "admit": "admitting",
    "commit": "committing", "submit": "submitting", "upset": "upsetting", "ski": "skiing",
    "travel": "traveling", "level": "leveling", "label": "labeling", "cancel": "canceling",
}  # fmt: skip
_VOWELS = set("aeiou")


def to_gerund(action: str) -> str:
    """ "save energy at home" → "saving energy at home"; the first verb takes -ing."""
    words = action.split()
    if not words:
        return action
    index = 1 if len(words) > 1 and words[0].lower().endswith("ly") else 0
    words[index] = _ing(words[index])
    return " ".join(words)


def _ing(verb: str) -> str:
    lower = verb.lower()
    if not lower.isalpha() or lower.endswith("ing"):
        return verb
    if lower in _GERUND_EXCEPTIONS:
        return _GERUND_EXCEPTIONS[lower]
    if lower.endswith("ie"):
        return verb[:-2] + "ying"
    if lower.endswith("e") and not lower.endswith(("ee", "ye", "oe")) and len(lower) > 2:
        return verb[:-1] + "ing"
    vowel_groups = len(re.findall(r"[aeiou]+", lower))
    cvc = (
        len(lower) >= 3
        and lower[-1] not in _VOWELS | set("wxy")
        and lower[-2] in _VOWELS
        and lower[-3] not in _VOWELS
    )
    if vowel_groups == 1 and cvc:
        return verb + verb[-1] + "ing"
    return verb + "ing"
