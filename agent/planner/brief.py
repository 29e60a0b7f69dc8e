"""Reading a person's free-form description of a video into a typed Brief."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from agent.planner import signals as sig
from agent.planner.layout import MAX_PLANNED_S, MIN_DURATION_S, fit_shape
from agent.planner.topic import CUT, extract_topic, scan_items
from core.errors import InvalidInput
from core.production import VideoFormat
from core.script import MAX_TOTAL_S

DEFAULT_DURATION_S = 30.0
MAX_BRIEF_CHARS = 4000


@dataclass(frozen=True)
class Brief:
    """What was read from the person's words; every field has the default a person expects."""

    topic: str
    duration_s: float = DEFAULT_DURATION_S
    format: VideoFormat = VideoFormat.tiktok
    host: bool = True
    host_opens: bool = True
    host_closes: bool = True
    items: int | None = None
    language: str = "en"
    tone: str = "friendly"
    music: bool = True
    captions: bool = True
    action: str = ""  # the verb phrase of a "how to" brief: "save energy at home"
    item_noun: str = ""  # what the list items are called: "ways", "tips"
    countdown: bool = False  # "top ten" lists count down
    music_style: str = ""  # "lo-fi", "jazz": the music the person asked for
    narration: bool = True  # "no voice-over", "a clip of waves": clips without spoken words
    genre: str = ""  # "promo" for ads and launches; "" for everything else
    notes: tuple[str, ...] = field(default=())  # what the planner changed from the ask, and why


_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": " - "})


def read_brief(text: str) -> Brief:
    """Read a person's description of a video; raise InvalidInput when it says nothing usable."""
    text = unicodedata.normalize("NFC", text or "").translate(_QUOTES)
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    if not text:
        raise InvalidInput(
            "the brief is empty; describe the video, for example "
            "'a 30-second vertical video about three ways to save energy at home'"
        )
    if len(text) > MAX_BRIEF_CHARS:
        raise InvalidInput(
            f"the brief is {len(text)} characters; at most {MAX_BRIEF_CHARS}. "
            "Describe the video in a few sentences; the script can be edited afterwards"
        )
    spans: list[sig.Span] = []
    notes: list[str] = []
    asked_s = sig.duration(text, spans)
    video_format = sig.video_format(text, spans)
    language, written = sig.language(text, spans)
    host, opens, closes = sig.host(text, spans)
    music, music_style = sig.music(text, spans)
    captions = sig.captions(text, spans)
    tone = sig.tone(text, spans)
    narration = sig.narration(text, spans, has_host=host)
    work = _cut_out(text, spans)
    reading = extract_topic(work, written)
    if reading is None:
        raise InvalidInput(
            "the brief does not say what the video is about; say it like "
            "'a 30-second video about how to brew great coffee'"
        )
    items, noun, countdown = reading.items, reading.item_noun, reading.countdown
    if items is None:
        items, noun, countdown = scan_items(work)

    duration_s = DEFAULT_DURATION_S if asked_s is None else asked_s
    label = _seconds_label(duration_s)
    if duration_s > MAX_TOTAL_S:
        notes.append(
            f"{label} is longer than the {MAX_TOTAL_S / 60:.0f}-minute maximum; "
            f"the plan is {MAX_TOTAL_S / 60:.0f} minutes"
        )
        duration_s = MAX_TOTAL_S
    elif duration_s < MIN_DURATION_S:
        notes.append(
            f"{label} is shorter than the {MIN_DURATION_S:.0f}-second minimum; "
            f"the plan is {MIN_DURATION_S:.0f} seconds"
        )
        duration_s = MIN_DURATION_S
    shape = fit_shape(
        min(duration_s, MAX_PLANNED_S),
        opens=host and opens,
        closes=host and closes,
        items=items,
        seconds_label=_seconds_label(duration_s),
    )
    notes.extend(shape.notes)
    if host and opens and not shape.intro_s:
        opens = False
    if host and closes and not shape.outro_s:
        closes = False
    if language != "en" and language.split("-")[0] not in ("es", "fr", "de", "pt", "it"):
        notes.append(
            f"narration is written in English; translate it before producing in {language}"
        )
    return Brief(
        topic=reading.topic,
        duration_s=round(duration_s, 1),
        format=video_format,
        host=host and (opens or closes),
        host_opens=host and opens,
        host_closes=host and closes,
        items=shape.items,
        language=language,
        tone=tone,
        music=music,
        captions=captions,
        action=reading.action,
        item_noun=noun,
        countdown=countdown,
        music_style=music_style,
        narration=narration,
        genre="promo" if sig.PROMO.search(text) else "",
        notes=tuple(notes),
    )


def _seconds_label(seconds: float) -> str:
    if seconds >= 120 and seconds % 60 == 0:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} seconds"


def _cut_out(text: str, spans: list[sig.Span]) -> str:
    """The brief with every production phrase replaced by a cut the topic cannot cross."""
    out: list[str] = []
    position = 0
    for start, end in sorted(spans):
        if end <= position:
            continue
        start = max(start, position)
        out.append(text[position:start])
        out.append(f" {CUT} ")
        position = end
    out.append(text[position:])
    return "".join(out)
