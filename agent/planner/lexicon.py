"""Word tables the brief reader matches: numbers, formats, languages, tones, music styles."""

from __future__ import annotations

import re


def words(text: str) -> frozenset[str]:
    """The set of whitespace-separated words in `text`: word tables stay easy to read."""
    return frozenset(text.split())


def word_list(text: str) -> tuple[str, ...]:
    """The words of `text`, in order."""
    return tuple(text.split())


UNIT_NUMBERS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
TENS_NUMBERS: dict[str, int] = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
# Counts in the five languages with their own phrasebook, so "tres formas de…" is a list of 3.
FOREIGN_NUMBERS: dict[str, int] = {
    "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8,
    "nueve": 9, "diez": 10, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7,
    "huit": 8, "neuf": 9, "dix": 10, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5,
    "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "dois": 2, "duas": 2,
    "três": 3, "quatro": 4, "sete": 7, "oito": 8, "nove": 9, "dez": 10, "due": 2, "tre": 3,
    "quattro": 4, "cinque": 5, "sei": 6, "sette": 7, "otto": 8, "dieci": 10,
}  # fmt: skip
PHRASE_NUMBERS: dict[str, float] = {
    "half a dozen": 6, "a dozen": 12, "dozen": 12, "a couple of": 2, "a couple": 2,
    "couple of": 2, "a few": 3, "few": 3, "a handful of": 4, "half a": 0.5, "half an": 0.5,
    "a": 1, "an": 1,
}  # fmt: skip


def _alternation(words: list[str]) -> str:
    # Longest first so "seventeen" wins over "seven" and "a dozen" over "a".
    ordered = sorted(words, key=len, reverse=True)
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in ordered)


_COMPOUND = (
    rf"(?:{_alternation(list(TENS_NUMBERS))})(?:[\s-](?:{_alternation(list(UNIT_NUMBERS)[1:10])}))?"
)
_WORD_NUMBERS = _alternation(list(UNIT_NUMBERS) + list(FOREIGN_NUMBERS))
DIGITS = r"\d{1,4}(?:[.,]\d{1,2})?"
# A count: digits or number words, never "a"/"an" (those would make "a tip" a list).
_COUNT_PHRASES = [k for k in PHRASE_NUMBERS if k not in ("a", "an", "half a", "half an")]
COUNT = rf"(?:{DIGITS}|{_COMPOUND}|{_WORD_NUMBERS}|{_alternation(_COUNT_PHRASES)})"
# An amount of time also accepts "a minute", "half a minute".
AMOUNT = rf"(?:{DIGITS}|{_COMPOUND}|{_WORD_NUMBERS}|{_alternation(list(PHRASE_NUMBERS))})"


def parse_number(text: str) -> float | None:
    """The value of a number written in digits or words ("25", "twenty-five", "a dozen")."""
    word = " ".join(text.lower().replace("-", " ").split())
    if not word:
        return None
    if word[0].isdigit():
        # "1,5" is a European decimal; thousands separators never reach here (at most 2 decimals).
        try:
            return float(word.replace(",", "."))
        except ValueError:
            return None
    if word in PHRASE_NUMBERS:
        return PHRASE_NUMBERS[word]
    if word in UNIT_NUMBERS:
        return UNIT_NUMBERS[word]
    if word in FOREIGN_NUMBERS:
        return FOREIGN_NUMBERS[word]
    parts = word.split()
    if parts and parts[0] in TENS_NUMBERS:
        value = TENS_NUMBERS[parts[0]]
        if len(parts) == 2 and parts[1] in UNIT_NUMBERS:
            value += UNIT_NUMBERS[parts[1]]
        return value
    return None


_SMALL_WORDS = [*list(UNIT_NUMBERS)[:20]]
_TENS_WORDS = {v: k for k, v in TENS_NUMBERS.items()}


def number_words(value: int) -> str:
    """English words for 0–99 ("thirty", "forty-five"); digits beyond that."""
    if 0 <= value < 20:
        return _SMALL_WORDS[value]
    if 20 <= value < 100:
        tens, unit = divmod(value, 10)
        word = _TENS_WORDS[tens * 10]
        return word if unit == 0 else f"{word}-{_SMALL_WORDS[unit]}"
    return str(value)


# Plural nouns that announce a list: "three ways", "5 tips", "top 10 places".
LIST_NOUNS: frozenset[str] = words(
    """ways tips things facts reasons mistakes habits ideas hacks steps secrets myths lessons
    signs rules tricks strategies benefits examples questions places foods recipes exercises
    books tools apps destinations products features principles methods techniques options
    stretches snacks moves spots gadgets skills points keys trends stories items picks dishes
    drinks games movies films songs routines workouts ingredients cities countries beaches hikes
    hobbies plants habits lifehacks shortcuts rituals signals laws truths misconceptions
    essentials must-haves dos don'ts things tools resources phrases words quotes lessons
    formas maneras consejos trucos ideas pasos razones hábitos errores cosas claves
    façons manières conseils astuces idées étapes raisons habitudes erreurs choses
    tipps wege ideen schritte gründe fehler dinge tricks
    dicas maneiras ideias passos razões erros coisas modi consigli trucchi idee passi motivi
    abitudini errori cose"""
)
# Singular forms, for "one simple trick" and "a 5-step guide".
LIST_NOUNS_SINGULAR: frozenset[str] = words(
    "way tip thing fact reason mistake habit idea hack step secret myth lesson sign rule trick "
    "strategy benefit example question place food recipe exercise book tool app destination "
    "product feature method technique option stretch snack move spot gadget skill point key "
    "trend story item pick dish drink game movie film song routine workout"
)
# Words between a count and its noun that add nothing to the topic: "5 easy tips for …".
LIST_ADJECTIVES: frozenset[str] = words(
    """easy simple quick best great top little small big smart essential proven surprising
    powerful practical useful important key common amazing cool fun new creative effective
    brilliant clever genius weird strange crazy biggest basic golden free cheap fast super
    awesome helpful unexpected underrated overrated favorite favourite must-know must-try
    little-known lesser-known hidden secret daily everyday science-backed expert real honest
    actionable fresh good better"""
)
# Lists of things to know, rather than things to do or to pick.
INFO_NOUNS: frozenset[str] = words(
    "facts things myths secrets lessons signs reasons mistakes questions truths misconceptions "
    "stories trends benefits examples points keys laws principles"
)
# Nouns after which the topic is "for X" rather than "about X".
FOR_NOUNS: frozenset[str] = words(
    "tips ideas hacks tricks steps rules habits strategies methods techniques routines "
    "exercises stretches snacks recipes tools apps gadgets books products resources shortcuts "
    "rituals essentials options moves workouts ways"
)

FORMAT_PLATFORMS: tuple[tuple[str, str], ...] = (
    (r"youtube\s+shorts?|yt\s+shorts?|\bshorts\b", "tiktok"),
    (r"tik\s?tok|tiktoks?|\breels?\b|instagram\s+(?:reels?|stor(?:y|ies))|snapchat", "tiktok"),
    (r"\bstor(?:y|ies)\s+format|\bstories\b(?=\s+(?:video|format|post))", "tiktok"),
    (r"instagram\s+(?:feed|post|grid)|\bfeed\s+post|facebook\s+feed|linkedin\s+feed", "square"),
    (r"\binstagram\b", "tiktok"),
    (r"youtube(?!\s+shorts?)|\byt\b(?!\s+shorts?)|vimeo", "youtube"),
)
FORMAT_RATIOS: tuple[tuple[str, str], ...] = (
    (r"9\s*[:x/]\s*16|4\s*[:x/]\s*5", "tiktok"),
    (r"16\s*[:x/]\s*9|21\s*[:x/]\s*9|4\s*[:x/]\s*3", "youtube"),
    (r"\b1\s*[:x/]\s*1\b", "square"),
)
# Orientation words only count next to a production word: "vertical farming" is a topic.
FORMAT_ADJECTIVES: dict[str, str] = {
    "vertical": "tiktok", "vertically": "tiktok", "portrait": "tiktok", "verticale": "tiktok",
    "vertikal": "tiktok", "vertikales": "tiktok", "horizontal": "youtube",
    "horizontally": "youtube", "landscape": "youtube", "widescreen": "youtube",
    "wide-screen": "youtube", "horizontale": "youtube", "orizzontale": "youtube",
    "square": "square", "squared": "square", "cuadrado": "square", "carré": "square",
    "quadratisch": "square", "quadrato": "square", "quadrado": "square", "carrée": "square",
    "cuadrada": "square", "quadrata": "square", "quadrada": "square", "vertikale": "tiktok",
}  # fmt: skip
PRODUCTION_NOUNS = (
    r"video|vid|clip|format|reel|short|version|mode|orientation|aspect|ratio|frame|framing|"
    r"post|story|explainer|tiktok|promo|ad|cut|edit|vídeo|vidéo|formato|format"
)

LANGUAGES: dict[str, str] = {
    "english": "en", "spanish": "es", "español": "es", "espanol": "es", "castellano": "es",
    "french": "fr", "français": "fr", "francais": "fr", "german": "de", "deutsch": "de",
    "portuguese": "pt", "português": "pt", "portugues": "pt", "brazilian portuguese": "pt-br",
    "italian": "it", "italiano": "it", "dutch": "nl", "nederlands": "nl", "polish": "pl",
    "russian": "ru", "ukrainian": "uk", "turkish": "tr", "arabic": "ar", "hindi": "hi",
    "bengali": "bn", "urdu": "ur", "japanese": "ja", "korean": "ko", "chinese": "zh",
    "mandarin": "zh", "cantonese": "yue", "vietnamese": "vi", "thai": "th",
    "indonesian": "id", "malay": "ms", "swedish": "sv", "norwegian": "no", "danish": "da",
    "finnish": "fi", "greek": "el", "hebrew": "he", "czech": "cs", "romanian": "ro",
    "hungarian": "hu", "tagalog": "tl", "filipino": "tl", "swahili": "sw", "persian": "fa",
    "farsi": "fa", "catalan": "ca",
}  # fmt: skip
LANGUAGE_NAMES = _alternation(list(LANGUAGES))
# Words that may follow "in Spanish" when it names the spoken language, not "in Spanish cooking".
LANGUAGE_FOLLOWERS = words(
    "with and for please language narration voice voiceover voice-over audio captions "
    "subtitles only too so that featuring no without but then i we it the a an about on "
    "explaining covering showing"
)
# Function words that give away the language a brief is written in.
STOPWORDS: dict[str, frozenset[str]] = {
    "en": words("the a an about with and of to for video how that who on is it your my"),
    "es": words(
        "sobre con para cómo los las una del segundos presentador consejos maneras formas sin "
        "música ahorrar cosas y el que vídeo de"
    ),
    "fr": words(
        "une sur avec pour les des du comment secondes présentateur sans musique et vidéo "
        "conseils façons est qui le la"
    ),
    "de": words(
        "ein eine über mit für und der die das wie sekunden ohne musik tipps zum zur einem einer"
    ),
    "pt": words(
        "um uma sobre com para como os do da segundos apresentador sem música dicas maneiras "
        "e vídeo em"
    ),
    "it": words(
        "un una sul sulla con per come gli il della secondi presentatore senza musica consigli "
        "modi e di"
    ),
}

TONES: dict[str, tuple[str, ...]] = {
    "friendly": ("friendly", "warm", "welcoming", "approachable", "casual", "cheerful"),
    "professional": (
        "professional", "corporate", "formal", "business", "polished", "serious", "b2b",
    ),
    "energetic": (
        "energetic", "upbeat", "hype", "hyped", "exciting", "dynamic", "punchy", "high-energy",
        "high energy", "fast-paced", "fast paced", "lively", "bold",
    ),
    "calm": (
        "calm", "relaxing", "relaxed", "soothing", "peaceful", "chill", "gentle", "meditative",
        "cozy", "cosy", "serene",
    ),
    "playful": ("funny", "humorous", "playful", "witty", "silly", "lighthearted", "fun", "quirky"),
    "inspiring": (
        "inspiring", "inspirational", "motivational", "uplifting", "emotional", "heartfelt",
    ),
    "dramatic": ("dramatic", "epic", "cinematic", "suspenseful", "mysterious", "intense"),
    "informative": ("educational", "informative", "academic", "documentary", "factual"),
}  # fmt: skip
TONE_WORDS: dict[str, str] = {word: tone for tone, words in TONES.items() for word in words}

MUSIC_STYLES: frozenset[str] = words(
    """lo-fi lofi jazz jazzy piano acoustic electronic edm rock pop hip-hop hip hop orchestral
    ambient classical synthwave synth cinematic chill chillhop funk funky folk country latin
    reggae house techno trap indie retro 8-bit chiptune guitar ukulele strings corporate
    upbeat soft gentle epic dramatic happy calm relaxing energetic dreamy dark"""
)
