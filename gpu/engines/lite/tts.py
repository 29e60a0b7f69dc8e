"""Lite text-to-speech: eSpeak NG speech with word timings, reference voices matched by pitch."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from gpu.engines.base import EngineError, EngineOutput, ProgressFn, no_progress
from gpu.engines.lite import espeak
from gpu.engines.lite.pitch import frame_rms, median_f0
from gpu.engines.media import decode_audio, write_wav
from gpu.schemas import TTSRequest, WordTiming

ENGINE = "lite.espeak-ng"

# Named voices of the lite engine: an eSpeak variant each (None = the language's own voice).
VOICES: dict[str, str | None] = {
    "default": None,
    "female": "f3",
    "female-2": "f4",
    "female-3": "f2",
    "male": "m3",
    "male-2": "m7",
    "male-3": "m1",
}
# A reference voice above this median pitch is voiced with the female variant, below it male.
_FEMALE_ABOVE_HZ = 155.0
_CALIBRATION_TEXT = "The quick brown fox jumps over the lazy dog near the river bank."
_CALIBRATION_PITCHES = (0, 25, 50, 75, 100)
_calibrations: dict[tuple[str, str | None], list[float]] = {}
_calibration_lock = threading.Lock()
# How far before a word's first character an event may point and still belong to it.
_EVENT_SLIP_CHARS = 3
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")


def synthesize(
    request: TTSRequest,
    out_dir: Path,
    *,
    reference: Path | None = None,
    progress: ProgressFn = no_progress,
) -> EngineOutput:
    """Write `speech.wav` for the request and return it with per-word timings."""
    language = request.language.strip().lower().replace("_", "-")
    if not _LANGUAGE.match(language):
        raise EngineError(
            f"language '{request.language}' is not a language code like 'en' or 'en-us'"
        )
    if request.voice not in VOICES:
        known = ", ".join(sorted(VOICES))
        raise EngineError(
            f"unknown voice '{request.voice}' for the lite TTS engine; known: {known}"
        )
    variant = VOICES[request.voice]
    pitch: int | None = None
    engine = ENGINE
    if reference is not None:
        target_hz = _reference_f0(reference)
        if request.voice == "default":
            variant = VOICES["female"] if target_hz >= _FEMALE_ABOVE_HZ else VOICES["male"]
        pitch = _pitch_for(language, variant, target_hz)
        engine = (
            f"{ENGINE} (lite approximation: reference voice matched by pitch only, "
            f"{target_hz:.0f} Hz)"
        )
    progress(0.1)
    speech = espeak.synthesize(
        request.text, language=language, variant=variant, rate_wpm=request.speed_wpm, pitch=pitch
    )
    if speech.samples.size == 0 or not speech.words:
        raise EngineError("the text has nothing speakable (no words found)")
    progress(0.8)
    audio = speech.samples.astype(np.float32) / 32768.0
    words = word_timings(request.text, speech, audio)
    path = out_dir / "speech.wav"
    write_wav(path, audio, speech.rate)
    progress(1.0)
    return EngineOutput(
        files={"audio": path}, engine=engine, duration_s=audio.size / speech.rate, words=words
    )


def run(
    request: BaseModel, inputs: Mapping[str, Path], out_dir: Path, progress: ProgressFn
) -> EngineOutput:
    """Engine entry point for `tts`."""
    assert isinstance(request, TTSRequest)
    return synthesize(
        request, out_dir, reference=inputs.get("reference_file_id"), progress=progress
    )


def word_timings(text: str, speech: espeak.Speech, audio: np.ndarray) -> list[WordTiming]:
    """One timing per whitespace-separated word of `text` that eSpeak spoke.

    Several events can fall in one written word ("I'm", "30"): the word starts at the first.
    A word ends where the next one starts, pulled back over trailing silence.
    """
    tokens = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    starts: dict[int, int] = {}
    token_index = 0
    for event in sorted(speech.words, key=lambda e: e.char_start):
        while token_index < len(tokens) and tokens[token_index][1] <= event.char_start:
            token_index += 1
        if token_index == len(tokens):
            break
        if tokens[token_index][0] <= event.char_start and token_index not in starts:
            starts[token_index] = event.sample
        elif (
            token_index in starts
            and token_index + 1 < len(tokens)
            and token_index + 1 not in starts
            and tokens[token_index + 1][0] - event.char_start <= _EVENT_SLIP_CHARS
        ):
            # eSpeak reports some positions a few characters early after it expands a
            # word ("LEDs" -> "L E D s"): the event belongs to the next word.
            starts[token_index + 1] = event.sample
    _interpolate_missing(starts, tokens, audio.size)
    order = sorted(starts)
    hop = max(1, speech.rate // 100)
    rms = frame_rms(audio, hop, hop)
    voiced = rms > max(float(rms.max()) * 0.02, 1e-4)
    total = audio.size
    timings: list[WordTiming] = []
    for n, index in enumerate(order):
        start = starts[index]
        next_start = starts[order[n + 1]] if n + 1 < len(order) else total
        next_start = max(next_start, start)
        end = _trim_silence(voiced, hop, start, next_start)
        start_s, end_s = start / speech.rate, end / speech.rate
        if timings and start_s < timings[-1].end:
            start_s = timings[-1].end
        token_start, token_end = tokens[index]
        timings.append(
            WordTiming(word=text[token_start:token_end], start=start_s, end=max(end_s, start_s))
        )
    return timings


def _interpolate_missing(starts: dict[int, int], tokens: list[tuple[int, int]], total: int) -> None:
    """Give every word a start, so captions never lose one: a word eSpeak reported no event
    for is placed between its neighbours in proportion to its length in characters."""
    known = sorted(starts)
    if not known:
        return
    for index in range(len(tokens)):
        if index in starts:
            continue
        before = max((k for k in known if k < index), default=None)
        after = min((k for k in known if k > index), default=None)
        if before is None:
            continue  # nothing was spoken before it: leave it out rather than invent time
        span_end = starts[after] if after is not None else total
        first_char = tokens[before][0]
        last_char = tokens[after][0] if after is not None else tokens[-1][1]
        share = (tokens[index][0] - first_char) / max(1, last_char - first_char)
        starts[index] = round(starts[before] + share * (span_end - starts[before]))


def _trim_silence(voiced: np.ndarray, hop: int, start: int, end: int) -> int:
    first, last = start // hop, min(end // hop, voiced.size)
    loud = np.flatnonzero(voiced[first:last])
    if loud.size == 0:
        return end
    # Keep 20 ms after the last loud frame so the word's release is not clipped.
    return min(end, (first + int(loud[-1]) + 1) * hop + 2 * hop)


def _reference_f0(reference: Path) -> float:
    rate = 16_000
    samples = decode_audio(reference, rate, what="reference voice sample")
    f0 = median_f0(samples, rate)
    if f0 is None:
        raise EngineError("reference voice sample has no voiced speech to match")
    return f0


def _pitch_for(language: str, variant: str | None, target_hz: float) -> int:
    """The espeakPITCH value whose median F0 for this voice is closest to `target_hz`."""
    key = (language, variant)
    with _calibration_lock:
        measured = _calibrations.get(key)
    if measured is None:
        measured = []
        for pitch in _CALIBRATION_PITCHES:
            speech = espeak.synthesize(
                _CALIBRATION_TEXT, language=language, variant=variant, rate_wpm=165, pitch=pitch
            )
            f0 = median_f0(speech.samples.astype(np.float64) / 32768.0, speech.rate)
            measured.append(f0 if f0 is not None else float("nan"))
        if any(np.isnan(measured)) or np.any(np.diff(measured) <= 0):
            raise EngineError(f"could not calibrate the pitch of voice '{language}+{variant}'")
        with _calibration_lock:
            _calibrations[key] = measured
    value = np.interp(np.log(target_hz), np.log(measured), _CALIBRATION_PITCHES)
    return round(float(value))
