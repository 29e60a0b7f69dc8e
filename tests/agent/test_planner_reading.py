"""Reading briefs: lengths, counts, formats, languages, hosts and topics in free phrasing."""

from __future__ import annotations

import pytest

from agent.planner import read_brief
from core.production import VideoFormat


@pytest.mark.parametrize(
    ("phrase", "seconds"),
    [
        ("a 30-second video", 30),
        ("a 30 s video", 30),
        ("45 seconds", 45),
        ("1 minute", 60),
        ("a minute and a half", 90),
        ("one and a half minutes", 90),
        ("a 90s video", 90),
        ("a 2-minute video", 120),
        ("a short video", 20),
        ("thirty seconds", 30),
        ("a forty-five second video", 45),
        ("a 1:30 video", 90),
        ("a 1 min 30 s video", 90),
        ("30-40 seconds", 35),
        ("under a minute", 54),
        ("half a minute", 30),
        ("a video", 30),  # not stated: the default
        ("a second video", 30),  # an ordinal, not one second
        ("a video, 9:16", 30),  # an aspect ratio, not nine minutes
    ],
)
def test_lengths(phrase: str, seconds: float) -> None:
    assert read_brief(f"{phrase} about coffee").duration_s == seconds


def test_decades_are_not_lengths() -> None:
    assert read_brief("a video about the 90s").duration_s == 30
    assert read_brief("a video about 80s music").duration_s == 30
    assert read_brief("a video about 1990s fashion").duration_s == 30


@pytest.mark.parametrize(
    ("text", "items", "noun", "countdown"),
    [
        ("a video about three ways to save energy", 3, "ways", False),
        ("5 tips for better sleep", 5, "tips", False),
        ("top ten beaches in Spain, 45 seconds", 10, "beaches", True),
        ("Top 5 hidden cafes in Lisbon", 5, "", True),
        ("a few easy tips for studying", 3, "tips", False),
        ("a dozen ideas for rainy days, 2 minutes", 12, "ideas", False),
        ("twenty-one facts about owls, 2 minutes", 21, "facts", False),
        ("a 4-step guide to repotting plants", 4, "steps", False),
        ("a video about owls", None, "", False),
    ],
)
def test_counts(text: str, items: int | None, noun: str, countdown: bool) -> None:
    brief = read_brief(text)
    assert (brief.items, brief.countdown) == (items, countdown)
    assert brief.item_noun == noun or not noun


@pytest.mark.parametrize(
    ("text", "video_format"),
    [
        ("a vertical video about owls", VideoFormat.tiktok),
        ("a TikTok about owls", VideoFormat.tiktok),
        ("YouTube Shorts about owls", VideoFormat.tiktok),
        ("an Instagram reel about owls", VideoFormat.tiktok),
        ("a YouTube video about owls", VideoFormat.youtube),
        ("a landscape video about owls", VideoFormat.youtube),
        ("a 16:9 video about owls", VideoFormat.youtube),
        ("a horizontal video about owls", VideoFormat.youtube),
        ("a square video about owls", VideoFormat.square),
        ("an Instagram feed post about owls", VideoFormat.square),
        ("owls, 1:1", VideoFormat.square),
        ("a video about vertical farming", VideoFormat.tiktok),
        ("a video about landscape photography", VideoFormat.tiktok),
    ],
)
def test_formats(text: str, video_format: VideoFormat) -> None:
    assert read_brief(text).format is video_format


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("a video about owls in Spanish", "es"),
        ("a video in French about owls", "fr"),
        ("a German-language video about owls", "de"),
        ("a video about owls, narrated in Portuguese", "pt"),
        ("a video about owls, language: Italian", "it"),
        ("a video about owls in Brazilian Portuguese", "pt-br"),
        ("a video about life in French Polynesia", "en"),
        ("a video about saffron in Spanish cooking", "en"),
        ("Un video sobre los búhos y su vida", "es"),
        ("Une vidéo sur les hiboux et leur vie", "fr"),
        ("フクロウについての動画", "ja"),
    ],
)
def test_languages(text: str, language: str) -> None:
    assert read_brief(text).language == language


@pytest.mark.parametrize(
    ("text", "host", "opens", "closes"),
    [
        ("a video about owls with a host", True, True, True),
        ("a video about owls with a presenter who opens and closes", True, True, True),
        ("a video about owls; the host only opens", True, True, False),
        ("a video about owls, host at the end", True, False, True),
        ("a video about owls with me on camera", True, True, True),
        ("a faceless video about owls", False, False, False),
        ("a video about owls, no host", False, False, False),
        ("a video about owls without a presenter", False, False, False),
        ("just b-roll about owls", False, False, False),
        ("a voice-over only video about owls", False, False, False),
        ("a video on how to host a dinner party", True, True, True),
    ],
)
def test_hosts(text: str, host: bool, opens: bool, closes: bool) -> None:
    brief = read_brief(text)
    assert (brief.host, brief.host_opens, brief.host_closes) == (host, opens, closes)


@pytest.mark.parametrize(
    ("text", "topic", "action"),
    [
        (
            "A 30-second vertical video about three ways to save energy at home, with a host",
            "saving energy at home",
            "save energy at home",
        ),
        ("a video on the history of coffee", "the history of coffee", ""),
        ("explaining black holes, 1 minute", "black holes", ""),
        ("a black holes explainer for YouTube", "black holes", ""),
        ("how to make cold brew, 20 seconds", "making cold brew", "make cold brew"),
        ("Top 10 beaches in Portugal, 45 seconds", "beaches in Portugal", ""),
        ("5 tips for better sleep, vertical, no music", "better sleep", ""),
        ("Explainer: what is inflation? 60s", "inflation", ""),
        ("Create a promo for our new running shoes, 20 seconds", "our new running shoes", ""),
        ("Travel tips for Japan, 2 minutes", "travel tips for Japan", ""),
        (
            "a tiktok about my bakery's croissant, funny, with me on camera",
            "my bakery's croissant",
            "",
        ),
        ("Ein Video mit 3 Tipps zum Energiesparen", "Energiesparen", ""),
    ],
)
def test_topics(text: str, topic: str, action: str) -> None:
    brief = read_brief(text)
    assert (brief.topic, brief.action) == (topic, action)


def test_tone_music_and_captions() -> None:
    brief = read_brief("a calm video about owls with lo-fi music and no captions")
    assert (brief.tone, brief.music, brief.music_style, brief.captions) == (
        "calm",
        True,
        "lo-fi",
        False,
    )
    brief = read_brief("an energetic video about owls, no music")
    assert (brief.tone, brief.music) == ("energetic", False)
    assert read_brief("a video about owls").tone == "friendly"
