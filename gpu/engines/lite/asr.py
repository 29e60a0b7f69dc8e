"""Lite speech-to-text: PocketSphinx (English) word timings, in the Whisper engine's layout."""

from __future__ import annotations

import io
import json
import re
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from gpu.engines.base import (
    EngineError,
    EngineOutput,
    ProgressFn,
    no_progress,
    require_input,
)
from gpu.engines.media import ffmpeg_exe
from gpu.schemas import CaptionRequest, WordTiming

ENGINE = "lite.pocketsphinx"
RATE = 16_000  # the en-us acoustic model hears 16 kHz mono
MAX_SECONDS = 600.0
_FRAMES_PER_S = 100  # PocketSphinx's default frame rate (-frate)
# Speech without a pause longer than this is cut at its quietest moment in the last stretch
# before it: one utterance's search grows with its length, and Whisper's segments are as long.
_MAX_REGION_S = 30.0
_CUT_SEARCH_S = 10.0
_CUT_FRAME = int(0.02 * RATE)  # search step; _CUT_SEARCH_S is a whole number of them
# Silence around each speech region: the decoder needs a little before the first word and
# after the last, or it clips them (the VAD cuts close to the speech).
_PAD = np.zeros(int(0.3 * RATE), dtype=np.float64)
# A faint noise floor (about -66 dBFS). Digital silence, as in synthesised or gated audio, gives
# frames of zero energy that the acoustic model never saw: on 12 eSpeak sentences this floor
# took the content words recognised from 6 to 36 of 76 (WAV) and from 39 to 55 (Opus), and it
# is far below any real recording's own. A fixed seed keeps a file's transcript the same.
_NOISE_LSB = 16.0
_LANGUAGE = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]{2,8})*$")
_ALTERNATE = re.compile(r"\(\d+\)$")  # "read(2)": the dictionary's second pronunciation

_decoder: Any = None  # pocketsphinx.Decoder; it keeps per-utterance state, so one user at a time
_lock = threading.Lock()


def is_loaded() -> bool:
    """Whether this process has loaded the PocketSphinx model."""
    return _decoder is not None


def transcribe(
    request: CaptionRequest, audio: Path, out_dir: Path, progress: ProgressFn = no_progress
) -> EngineOutput:
    """Write `transcript.json` (Whisper's layout) for the audio file and return word timings."""
    language = _english(request.language)
    samples = _decode(audio, what=f"audio file '{request.audio_file_id}'")
    duration = samples.size / RATE
    progress(0.05)
    segments: list[dict[str, Any]] = []
    regions = _speech_regions(samples)
    noise = np.random.default_rng(0)
    with _lock:
        decoder = _load()
        for start_s, pcm in regions:
            heard = _recognise(decoder, pcm, start_s, duration, noise)
            if heard:
                segments.append(
                    {
                        "start": heard[0]["start"],
                        "end": heard[-1]["end"],
                        "text": " ".join(w["word"] for w in heard),
                        "words": heard,
                    }
                )
            progress(0.05 + 0.9 * min(1.0, (start_s + pcm.size / RATE) / max(duration, 1e-9)))
    transcript = {
        "engine": ENGINE,
        "language": language,
        # Given, not detected: faster-whisper reports 1 for a language it was told, too.
        "language_probability": 1.0,
        "duration_s": duration,
        "text": " ".join(s["text"] for s in segments),
        "segments": segments,
    }
    out = out_dir / "transcript.json"
    out.write_text(json.dumps(transcript, ensure_ascii=False, indent=1), encoding="utf-8")
    progress(1.0)
    words = [WordTiming(**w) for s in segments for w in s["words"]]
    return EngineOutput(files={"transcript": out}, engine=ENGINE, duration_s=duration, words=words)


def run(
    request: BaseModel, inputs: Mapping[str, Path], out_dir: Path, progress: ProgressFn
) -> EngineOutput:
    """Engine entry point for `caption`."""
    assert isinstance(request, CaptionRequest)
    return transcribe(request, require_input(inputs, "audio_file_id"), out_dir, progress)


def _english(language: str | None) -> str:
    """'en' for any English code (or none given); a clear error for every other language."""
    if language is None or not language.strip() or language.strip().lower() == "auto":
        return "en"
    match = _LANGUAGE.match(language.strip().lower())
    if match is None:
        raise EngineError(f"language '{language}' is not a language code like 'en' or 'en-US'")
    if match.group(1) != "en":
        raise EngineError(
            f"the lite speech-to-text engine (PocketSphinx) understands English only, not "
            f"'{language}'; Whisper on a GPU host transcribes that language"
        )
    return "en"


def _decode(path: Path, *, what: str) -> np.ndarray:
    """The file as 16 kHz mono int16 samples, read no further than just past the length cap."""
    cmd = [ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-vn", "-ac", "1"]
    cmd += ["-ar", str(RATE), "-t", f"{MAX_SECONDS + 1:.0f}", "-f", "s16le", "-"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()[-6:]
        detail = " | ".join(line.strip() for line in lines)
        raise EngineError(f"{what} is not readable audio: {detail or 'ffmpeg failed'}")
    samples = np.frombuffer(proc.stdout, dtype="<i2")
    if samples.size == 0:
        raise EngineError(f"{what} contains no audio samples")
    if samples.size > MAX_SECONDS * RATE:
        raise EngineError(
            f"{what} is longer than {_span(MAX_SECONDS)}, the most the lite "
            "speech-to-text engine transcribes; send a shorter recording or use Whisper "
            "on a GPU host"
        )
    return samples


def _span(seconds: float) -> str:
    """'10 minutes' or '90 seconds'."""
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} seconds"


def _speech_regions(samples: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """(start in seconds, int16 samples) of each stretch of speech, by PocketSphinx's VAD.

    Decoding stretch by stretch keeps each utterance short (a long one makes the decoder's
    search slow and its memory large) and skips silence and pauses altogether.
    """
    from pocketsphinx import Segmenter

    segmenter = Segmenter(sample_rate=RATE)
    regions: list[tuple[float, np.ndarray]] = []
    for region in segmenter.segment(io.BytesIO(samples.tobytes())):
        regions += _split(float(region.start_time), np.frombuffer(region.pcm, dtype="<i2"))
    return regions


def _split(start_s: float, pcm: np.ndarray) -> list[tuple[float, np.ndarray]]:
    """A region cut into pieces of at most `_MAX_REGION_S`, each cut where it is quietest."""
    limit, search = int(_MAX_REGION_S * RATE), int(_CUT_SEARCH_S * RATE)
    pieces: list[tuple[float, np.ndarray]] = []
    while pcm.size > limit:
        window = pcm[limit - search : limit].astype(np.float64).reshape(-1, _CUT_FRAME)
        quietest = int(np.argmin((window**2).mean(axis=1)))
        cut = limit - search + quietest * _CUT_FRAME + _CUT_FRAME // 2
        pieces.append((start_s, pcm[:cut]))
        start_s, pcm = start_s + cut / RATE, pcm[cut:]
    pieces.append((start_s, pcm))
    return pieces


def _recognise(
    decoder: Any, pcm: np.ndarray, start_s: float, duration: float, noise: np.random.Generator
) -> list[dict[str, Any]]:
    """Words of one speech region, timed in the whole file (Whisper's word dicts)."""
    padded = np.concatenate([_PAD, pcm.astype(np.float64), _PAD])
    padded += noise.normal(0.0, _NOISE_LSB, padded.size)
    raw = np.clip(np.round(padded), -32768, 32767).astype("<i2").tobytes()
    # The feature front end keeps state from the last utterance (noise statistics among it):
    # without a fresh one, a transcript would depend on what the process decoded before.
    decoder.reinit_feat()
    decoder.start_utt()
    decoder.process_raw(raw, False, True)
    decoder.end_utt()
    offset = start_s - _PAD.size / RATE
    words: list[dict[str, Any]] = []
    for segment in decoder.seg():
        word = _ALTERNATE.sub("", segment.word)
        if not word or word[0] in "<[+":  # silence, noise and filler tokens: not words
            continue
        start = offset + segment.start_frame / _FRAMES_PER_S
        end = offset + (segment.end_frame + 1) / _FRAMES_PER_S  # end_frame is inclusive
        start = min(max(start, 0.0), duration)
        end = min(max(end, start), duration)
        words.append({"word": word, "start": round(start, 3), "end": round(end, 3)})
    return words


def _load() -> Any:
    """The decoder with its bundled US English model, loaded once (caller holds `_lock`)."""
    global _decoder
    if _decoder is None:
        from pocketsphinx import Decoder

        try:
            decoder = Decoder(loglevel="FATAL")
        except (RuntimeError, ValueError, OSError) as exc:
            raise EngineError(f"PocketSphinx could not load its English model: {exc}") from exc
        _decoder = decoder
    return _decoder
