"""ctypes binding to the eSpeak NG C library shipped by espeakng-loader, serialised by one lock."""

from __future__ import annotations

import _ctypes
import atexit
import ctypes
import shutil
import tempfile
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from gpu.engines.base import EngineError

# Values from espeak-ng's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_PARAM_RATE = 1
_PARAM_PITCH = 3
_PARAM_WORDGAP = 7
_EE_OK = 0

RATE_MIN_WPM = 80
RATE_MAX_WPM = 450


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


@dataclass(frozen=True)
class WordEvent:
    """Where eSpeak started speaking a word: character span in the text and sample offset."""

    char_start: int
    char_length: int
    sample: int


@dataclass(frozen=True)
class Speech:
    samples: np.ndarray  # int16 mono
    rate: int
    words: list[WordEvent]


class _Collector:
    """What the synthesis callback receives during one utterance."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.words: list[WordEvent] = []

    def on_audio(self, wav: ctypes.c_void_p, count: int, events: ctypes.Array[_Event]) -> int:
        if count > 0 and wav:
            self.chunks.append(ctypes.string_at(wav, count * 2))
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_WORD:
                # text_position counts characters from 1; sample is the offset in the output.
                self.words.append(WordEvent(event.text_position - 1, event.length, event.sample))
            i += 1
        return 0


_CALLBACK_TYPE = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(_Event)
)
_collector = _Collector()
# Kept alive at module level: the library calls it for as long as it is loaded.
_callback = _CALLBACK_TYPE(lambda wav, n, ev: _collector.on_audio(wav, n, ev))
_lock = threading.Lock()  # the C library keeps global state: one synthesis at a time per process
_private_copy: Path | None = None


def _library_path() -> Path:
    """A private copy of the library, loaded afresh for every utterance.

    eSpeak keeps static state between utterances (pitch flutter phase, wave phase, gain), so
    the same text would come out slightly differently depending on what was spoken before.
    dlclose + dlopen of our own copy resets it (a copy, so that nobody else in the process
    holds the same handle open), which makes every synthesis deterministic.
    """
    global _private_copy
    if _private_copy is None:
        import espeakng_loader

        folder = Path(tempfile.mkdtemp(prefix="skyie-espeak-"))
        atexit.register(shutil.rmtree, folder, True)
        _private_copy = folder / "libespeak-ng-skyie.so"
        shutil.copyfile(espeakng_loader.get_library_path(), _private_copy)
    return _private_copy


@cache
def _data_path() -> Path:
    import espeakng_loader

    return Path(espeakng_loader.get_data_path())


@cache
def variants() -> frozenset[str]:
    """Voice variants installed with the library (e.g. 'f3', 'm3')."""
    folder = _data_path() / "voices" / "!v"
    return frozenset(p.name for p in folder.iterdir() if p.is_file())


def is_loaded() -> bool:
    """Whether this process has prepared the library (it is loaded per utterance)."""
    return _private_copy is not None


def synthesize(
    text: str, *, language: str, variant: str | None, rate_wpm: int, pitch: int | None = None
) -> Speech:
    """Speak `text` and return int16 samples plus one event per spoken word."""
    if variant is not None and variant not in variants():
        raise EngineError(f"eSpeak NG has no voice variant '{variant}'")
    voice = language if variant is None else f"{language}+{variant}"
    # Rates below the library minimum are reached by lengthening the gap between words.
    rate = min(max(rate_wpm, RATE_MIN_WPM), RATE_MAX_WPM)
    gap_10ms = 0
    if rate_wpm < RATE_MIN_WPM:
        gap_10ms = round((60_000 / rate_wpm - 60_000 / RATE_MIN_WPM) / 10)
    encoded = text.encode("utf-8")
    with _lock:
        lib = ctypes.CDLL(str(_library_path()))
        initialised = False
        try:
            lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
            lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
            lib.espeak_Synth.argtypes = [
                ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
            ]  # fmt: skip
            sample_rate = lib.espeak_Initialize(
                _AUDIO_OUTPUT_SYNCHRONOUS, 0, str(_data_path()).encode(), 0
            )
            if sample_rate <= 0:
                raise EngineError(f"eSpeak NG failed to initialise (data at {_data_path()})")
            initialised = True
            lib.espeak_SetSynthCallback(_callback)
            if lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
                raise EngineError(f"eSpeak NG has no voice for language '{language}'")
            lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
            lib.espeak_SetParameter(_PARAM_PITCH, 50 if pitch is None else pitch, 0)
            lib.espeak_SetParameter(_PARAM_WORDGAP, gap_10ms, 0)
            _collector.chunks, _collector.words = [], []
            status = lib.espeak_Synth(
                encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            lib.espeak_Synchronize()
            chunks, words = _collector.chunks, _collector.words
            _collector.chunks, _collector.words = [], []
        finally:
            if initialised:
                lib.espeak_Terminate()
            handle = lib._handle
            del lib
            _ctypes.dlclose(handle)
    if status != _EE_OK:
        raise EngineError(f"eSpeak NG failed to synthesise the text (status {status})")
    samples = np.frombuffer(b"".join(chunks), dtype="<i2").copy()
    return Speech(samples=samples, rate=sample_rate, words=words)
