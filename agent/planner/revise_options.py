"""The rules that set options: music, captions, format, language, voice, preset, title."""

from __future__ import annotations

import re
from collections.abc import Mapping

from agent.planner import revise_edits as ed
from agent.planner.lexicon import LANGUAGE_NAMES, LANGUAGES
from agent.planner.revise_edits import Draft
from agent.planner.revise_phrases import IT, Rule, rule_into
from core.errors import InvalidInput
from core.production import Preset, VideoFormat

BUILT_IN_VOICES = ("default", "female", "female-2", "female-3", "male", "male-2", "male-3")

OPTION_RULES: list[Rule] = []
_rule = rule_into(OPTION_RULES)


@_rule(
    r"(?:no|drop|remove|without|mute|kill|lose|ditch|turn\s+off|switch\s+off|cut|skip|"
    r"get\s+rid\s+of|take\s+out|disable)\s+(?:the\s+|any\s+)?(?:background\s+)?"
    r"(?:music|soundtrack)(?:\s+bed)?|(?:turn|switch)\s+(?:the\s+)?music\s+off|music\s+off"
)
def _music_off(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    ed.set_options(draft, "Music is off.", music=False)


@_rule(
    r"(?:add|use|with|put\s+in|turn\s+on|include|play|give\s+it|want|make\s+the\s+music|"
    r"change\s+the\s+music\s+to|switch\s+the\s+music\s+to)\s+(?:some\s+|a\s+|an\s+|the\s+)?"
    r"(?:(?P<style>[^,;]{1,120}?)\s+)?(?:background\s+)?(?:music|soundtrack|tune)(?:\s+bed)?"
    r"(?:\s+back)?|(?:turn|switch)\s+(?:the\s+)?music\s+(?:back\s+)?on|music\s+on|"
    r"music\s*:\s*(?P<s2>.+)"
)
def _music_on(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    style = (m.group("style") or m.group("s2") or "").strip()
    style = re.sub(r"\b(?:background|music|soundtrack|back|the)\b", " ", style, flags=re.I)
    style = " ".join(ed.unquote(style).split()).strip(" ,.")
    if style:
        prompt = f"{style} background music"[:200]
        ed.set_options(draft, f"Music is on: {prompt}.", music=True, music_prompt=prompt)
    else:
        ed.set_options(draft, "Music is on.", music=True)


_CAPTIONS = r"(?:captions?|subtitles?|subs|on-?screen\s+text|text\s+on\s+screen)"


@_rule(
    rf"(?:no|drop|remove|without|hide|kill|lose|turn\s+off|switch\s+off|disable|skip|"
    rf"get\s+rid\s+of|take\s+out)\s+(?:the\s+|any\s+)?{_CAPTIONS}|{_CAPTIONS}\s+off"
)
def _captions_off(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    ed.set_options(draft, "Captions are off.", captions=False)


@_rule(
    rf"(?:add|with|show|use|turn\s+on|switch\s+on|include|enable|burn\s+in|put\s+(?:back|in))"
    rf"\s+(?:the\s+|some\s+)?{_CAPTIONS}(?:\s+back|\s+on)?|{_CAPTIONS}\s+on"
)
def _captions_on(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    ed.set_options(draft, "Captions are on.", captions=True)


_FORMATS = {
    "square": VideoFormat.square, "1:1": VideoFormat.square, "youtube shorts": VideoFormat.tiktok,
    "youtube": VideoFormat.youtube, "landscape": VideoFormat.youtube,
    "horizontal": VideoFormat.youtube, "widescreen": VideoFormat.youtube,
    "16:9": VideoFormat.youtube, "vertical": VideoFormat.tiktok, "portrait": VideoFormat.tiktok,
    "tiktok": VideoFormat.tiktok, "reels": VideoFormat.tiktok, "reel": VideoFormat.tiktok,
    "instagram reels": VideoFormat.tiktok, "shorts": VideoFormat.tiktok,
    "9:16": VideoFormat.tiktok, "instagram": VideoFormat.square,
}  # fmt: skip
_FORMAT_NAMES = "|".join(
    re.escape(k).replace(r"\ ", r"\s+") for k in sorted(_FORMATS, key=len, reverse=True)
)


@_rule(
    rf"(?:(?:make|turn|render|do)\s+{IT}\s+|(?:switch|change|convert|turn)\s+(?:{IT}\s+)?"
    rf"(?:to|into)\s+|(?:as|in|use)\s+|)(?:for\s+)?(?:an?\s+)?(?P<f>{_FORMAT_NAMES})"
    r"(?:\s+(?:format|video|version|mode|orientation|aspect(?:\s+ratio)?|ratio))?"
)
def _format(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    wanted = _FORMATS[" ".join(m.group("f").lower().split())]
    ed.set_options(draft, f"The format is now {wanted.value}.", format=wanted)
    ed.set_composition(draft)


@_rule(
    rf"(?:(?:make|do|redo|switch|change|translate|set|turn)\s+(?:{IT}\s+|the\s+language\s+)?"
    r"(?:to|into|in)\s+|in\s+|into\s+|speak\s+|(?:use|switch\s+to)\s+|language\s*:?\s*)?"
    rf"(?P<l>{LANGUAGE_NAMES})(?:\s+(?:language|narration|voice-?over|version|audio))?|"
    r"language\s*:?\s*(?P<code>[a-z]{2,3}(?:-[a-z0-9]{2,8})?)"
)
def _language(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    name = " ".join((m.group("l") or "").lower().split())
    code = LANGUAGES.get(name) or m.group("code").lower()
    label = f"{name.title()} ({code})" if name else code
    ed.set_options(
        draft,
        f"The spoken language is now {label}; the words stay as "
        "written, so rewrite them in that language if they are not.",
        language=code,
    )


@_rule(
    r"(?:use|switch\s+to|with|try|in)\s+(?:my\s+(?:own\s+|cloned\s+|custom\s+|real\s+)?"
    r"(?:voice|clone)(?:\s+clone)?|(?:the\s+|a\s+)?(?:cloned|custom)\s+voice|"
    r"(?:the\s+|a\s+)?voice\s+clone)|(?:my|cloned)\s+voice"
)
def _my_voice(draft: Draft, m: re.Match[str], voices: Mapping[str, str]) -> None:
    if len(voices) != 1:
        names = ", ".join(sorted(voices))
        raise InvalidInput(
            "you have no voice of your own yet; upload a voice sample, or pick a built-in voice: "
            + ", ".join(BUILT_IN_VOICES)
            if not voices
            else f"you have {len(voices)} voices ({names}); say which, e.g. 'use the voice "
            f"{sorted(voices)[0]}'"
        )
    ((name, voice_id),) = voices.items()
    ed.set_options(draft, f"The voice is now your voice {name}.", voice=voice_id)


_GENDERS = {"male": "male", "man": "male", "masculine": "male", "men": "male",
            "female": "female", "woman": "female", "feminine": "female", "women": "female",
            "default": "default", "standard": "default", "normal": "default"}  # fmt: skip


@_rule(
    r"(?:(?:use|switch\s+to|with|try|pick|choose)\s+|make\s+it\s+|change\s+(?:it|the\s+voice)"
    r"\s+to\s+)?(?P<other>another\s+|a\s+different\s+)?(?:a\s+|an\s+|the\s+)?(?P<g>male|man|"
    r"masculine|men|female|woman|feminine|women|default|standard|normal)(?:'?s)?"
    r"(?:\s*-?\s*(?P<n>[123]))?\s+(?:voice|narrator|speaker|host\s+voice)(?:\s*-?\s*(?P<n2>[123]))?"
    r"|voice\s*:?\s*(?P<v>default|female(?:-[23])?|male(?:-[23])?)"
)
def _built_in_voice(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    if m.group("v"):
        voice = m.group("v").lower()
    else:
        family = _GENDERS[m.group("g").lower()]
        number = m.group("n") or m.group("n2")
        voice = family if family == "default" or number in (None, "1") else f"{family}-{number}"
        if m.group("other") and family != "default":
            variants = [v for v in BUILT_IN_VOICES if v.startswith(family)]
            current = draft.options.voice
            voice = variants[(variants.index(current) + 1) % 3] if current in variants else voice
    ed.set_options(draft, f"The voice is now {voice}.", voice=voice)


@_rule(
    r"(?:use|switch\s+to|pick|choose)\s+(?:the\s+)?voice\s+(?P<name>.+)|"
    r"(?:use|switch\s+to|pick|choose)\s+(?:the\s+)?(?P<name2>.+?)\s+voice"
)
def _named_voice(draft: Draft, m: re.Match[str], voices: Mapping[str, str]) -> None:
    asked = ed.unquote(m.group("name") or m.group("name2")).lower()
    if asked in BUILT_IN_VOICES:
        ed.set_options(draft, f"The voice is now {asked}.", voice=asked)
        return
    for name, voice_id in sorted(voices.items()):
        if asked in (name.lower(), name.lower().rsplit(".", 1)[0]):
            ed.set_options(draft, f"The voice is now your voice {name}.", voice=voice_id)
            return
    raise InvalidInput(
        f"there is no voice {asked!r}; the voices are "
        + ", ".join([*BUILT_IN_VOICES, *sorted(voices)])
    )


@_rule(
    r"(?:(?:use|make\s+it|render(?:\s+it)?(?:\s+(?:in|at))?|switch\s+to|set\s+(?:the\s+)?"
    r"(?:preset|quality)\s+to|in|at)\s+)?(?:the\s+|a\s+)?(?:(?P<q>high|higher|best|top|max(?:imum)?"
    r"|highest|better|full|great|premium)\s+quality|(?P<f>fast|faster|quick|quicker|draft|"
    r"cheap|cheaper|low(?:er)?\s+quality)|(?P<b>balanced|medium|normal|standard)(?:\s+quality)?"
    r"|(?P<q2>quality))(?:\s+(?:preset|mode|render|setting|version))?"
)
def _preset(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    preset = (
        Preset.quality
        if m.group("q") or m.group("q2")
        else Preset.fast
        if m.group("f")
        else Preset.balanced
    )
    ed.set_options(draft, f"The render preset is now {preset.value}.", preset=preset)


@_rule(
    r"(?:call\s+it|title\s+it|name\s+it|rename\s+it(?:\s+to)?|(?:set|change)\s+the\s+title\s+"
    r"to|title\s*:)\s*(?P<x>.+)"
)
def _title(draft: Draft, m: re.Match[str], _: Mapping[str, str]) -> None:
    title = ed.unquote(m.group("x")).strip()
    if len(title) > 120:
        raise InvalidInput(f"a title is at most 120 characters; that was {len(title)}")
    ed.set_options(draft, f'The title is now "{title}".', title=title)
