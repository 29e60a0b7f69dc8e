"""The lite speech-to-text engine: a spoken brief in a Telegram-style voice note comes back as
words, timed in the file and laid out as Whisper's engine lays them out."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gpu.engines.base import EngineError, no_progress
from gpu.engines.lite import asr, tts
from gpu.engines.media import ffmpeg_exe
from gpu.engines.registry import lite_engines
from gpu.schemas import CaptionRequest, InferKind, TTSRequest

BRIEF = "make a short video about saving energy at home"
CONTENT_WORDS = {"short", "video", "saving", "energy", "home"}
LEAD_S = 1.0  # silence before the speech, so word times must be offset into the file


def _voice_note(folder: Path, text: str, voice: str = "default") -> Path:
    """eSpeak speech after `LEAD_S` of silence, as Telegram sends it: mono 48 kHz OGG/Opus."""
    folder.mkdir(parents=True, exist_ok=True)
    wav = tts.synthesize(TTSRequest(text=text, voice=voice, language="en-us"), folder)
    note = folder / "note.ogg"
    delay = f"adelay={LEAD_S * 1000:.0f}:all=1"
    cmd = [ffmpeg_exe(), "-y", "-v", "error", "-i", str(wav.files["audio"]), "-af", delay]
    cmd += ["-ac", "1", "-ar", "48000", "-c:a", "libopus", "-b:a", "24k", str(note)]
    subprocess.run(cmd, check=True)
    return note


def _silence(folder: Path, seconds: float) -> Path:
    path = folder / "silence.ogg"
    source = f"anullsrc=r=48000:cl=mono:d={seconds}"
    cmd = [ffmpeg_exe(), "-y", "-v", "error", "-f", "lavfi", "-i", source, "-c:a", "libopus"]
    subprocess.run([*cmd, str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def note(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _voice_note(tmp_path_factory.mktemp("note"), BRIEF)


def _transcribe(audio: Path, out: Path, language: str | None = None) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    request = CaptionRequest(audio_file_id="f_note", language=language)
    result = asr.run(request, {"audio_file_id": audio}, out, no_progress)
    return [w.word for w in result.words]


def test_spoken_brief_is_transcribed_with_timings(note: Path, tmp_path: Path) -> None:
    slot = lite_engines()[InferKind.caption]
    assert slot.engine is not None and "PocketSphinx" in slot.note
    progress: list[float] = []
    request = CaptionRequest(audio_file_id="f_note", language="en-US")
    result = slot.engine(request, {"audio_file_id": note}, tmp_path, progress.append)
    words = [w.word for w in result.words]
    # PocketSphinx hears this note as "we cut short review about saving energy at home"; on 27
    # eSpeak US voice, speed and bitrate mixes it kept 3 to 5 of the 5 content words.
    assert len(CONTENT_WORDS & set(words)) >= 3, words
    assert result.engine == asr.ENGINE and slot.is_loaded is not None and slot.is_loaded()
    assert result.duration_s is not None and result.duration_s == pytest.approx(3.8, abs=0.3)
    assert result.words[0].start >= LEAD_S - 0.15
    for before, after in zip(result.words, result.words[1:], strict=False):
        assert before.start <= before.end <= after.start
    assert result.words[-1].end <= result.duration_s
    assert progress[-1] == 1.0 and progress == sorted(progress)
    # The transcript file is laid out as the Whisper engine's, so a client cannot tell them apart.
    transcript = json.loads(result.files["transcript"].read_text(encoding="utf-8"))
    assert set(transcript) == {
        "engine", "language", "language_probability", "duration_s", "text", "segments"
    }  # fmt: skip
    assert transcript["language"] == "en" and transcript["text"] == " ".join(words)
    (segment,) = transcript["segments"]
    assert set(segment) == {"start", "end", "text", "words"}
    assert [w["word"] for w in segment["words"]] == words


def test_a_transcript_does_not_depend_on_what_was_decoded_before(
    note: Path, tmp_path: Path
) -> None:
    first = _transcribe(note, tmp_path / "first")
    other = _voice_note(tmp_path / "other", "the quick brown fox jumps over the lazy dog", "male")
    assert _transcribe(other, tmp_path / "other-out")
    assert _transcribe(note, tmp_path / "again") == first


def test_silence_is_an_empty_transcript(tmp_path: Path) -> None:
    assert _transcribe(_silence(tmp_path, 3.0), tmp_path / "out") == []
    transcript = json.loads((tmp_path / "out" / "transcript.json").read_text(encoding="utf-8"))
    assert transcript["text"] == "" and transcript["segments"] == []


@pytest.mark.parametrize("language", [None, "", "auto", "en", "EN", "en-US", "en_gb"])
def test_every_english_code_is_accepted(tmp_path: Path, language: str | None) -> None:
    assert _transcribe(_silence(tmp_path, 0.5), tmp_path / "out", language) == []


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fr", r"English only, not 'fr'; Whisper on a GPU host"),
        ("pt-BR", r"English only, not 'pt-BR'"),
        ("english!", r"'english!' is not a language code"),
    ],
)
def test_other_languages_are_refused_clearly(
    note: Path, tmp_path: Path, language: str, message: str
) -> None:
    with pytest.raises(EngineError, match=message):
        _transcribe(note, tmp_path, language)


def test_too_long_and_unreadable_audio_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(asr, "MAX_SECONDS", 2.0)
    with pytest.raises(EngineError, match="'f_note' is longer than 2 seconds"):
        _transcribe(_silence(tmp_path, 4.0), tmp_path)
    junk = tmp_path / "junk.ogg"
    junk.write_bytes(b"not audio at all")
    with pytest.raises(EngineError, match="'f_note' is not readable audio"):
        _transcribe(junk, tmp_path)
    with pytest.raises(EngineError, match="missing input file for 'audio_file_id'"):
        asr.run(CaptionRequest(audio_file_id="f_none"), {}, tmp_path, no_progress)
