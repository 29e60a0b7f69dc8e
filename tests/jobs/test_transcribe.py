"""transcribe(): a voice note through the app's GPU host, and every failure as a clear app error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from core.errors import NotFound, Unavailable
from core.settings import EMBEDDED, Settings
from gpu.pods import InProcessHost
from gpu.server import GpuServerSettings, create_app
from jobs import transcribe as transcribe_module
from jobs.transcribe import TranscriptionFailed, transcribe
from tests.gpu.engines.test_lite_asr import BRIEF, CONTENT_WORDS, _silence, _voice_note


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", gpu_url=EMBEDDED)


@pytest.fixture(scope="module")
def note(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _voice_note(tmp_path_factory.mktemp("note"), BRIEF)


async def test_a_voice_note_becomes_the_brief_text(settings: Settings, note: Path) -> None:
    text = await transcribe(settings, note, language="en")
    assert text == " ".join(text.split()) and text == text.strip()
    # The in-process lite server hears "we cut short review about saving energy at home".
    assert len(CONTENT_WORDS & set(text.split())) >= 3, text


async def test_silence_is_no_text(settings: Settings, tmp_path: Path) -> None:
    assert await transcribe(settings, _silence(tmp_path, 2.0)) == ""


async def test_a_language_the_engine_lacks_is_a_clear_failure(
    settings: Settings, note: Path
) -> None:
    with pytest.raises(TranscriptionFailed) as caught:
        await transcribe(settings, note, language="fr")
    message = caught.value.message
    assert message.startswith("could not transcribe the recording: ")
    assert "English only, not 'fr'" in message and "Whisper on a GPU host" in message
    assert "task t_" not in message and caught.value.status_code == 422


async def test_a_missing_recording_is_not_found(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no recording to transcribe"):
        await transcribe(settings, tmp_path / "gone.ogg")


async def test_an_unreachable_gpu_server_is_unavailable(tmp_path: Path, note: Path) -> None:
    settings = Settings(home=tmp_path / "home", gpu_url="http://127.0.0.1:9")  # nothing listens
    with pytest.raises(Unavailable, match=r"speech-to-text is unavailable: .*not answering"):
        await transcribe(settings, note)


@pytest.fixture
def no_caption_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FastAPI]:
    """A GPU server with only the real engine set and no Whisper weights, as the app's host."""
    key = "k-no-stt"
    app = create_app(
        GpuServerSettings(
            api_key=SecretStr(key),
            workdir=tmp_path / "gpu",
            engines="gpu",
            models_dir=tmp_path / "models",
            device="cpu",
        )
    )
    host = InProcessHost(key, transport=httpx.ASGITransport(app=app))
    monkeypatch.setattr(transcribe_module, "gpu_host", lambda _settings: host)
    yield app
    app.state.gpu.tasks.shutdown()


async def test_a_server_without_speech_to_text_is_unavailable(
    settings: Settings, note: Path, no_caption_engine: FastAPI
) -> None:
    with pytest.raises(Unavailable, match=r"caption is unavailable: .*Whisper"):
        await transcribe(settings, note)


async def test_a_slow_transcription_times_out_clearly(settings: Settings, note: Path) -> None:
    with pytest.raises(Unavailable, match=r"did not finish within 0\.001 s"):
        await transcribe(settings, note, timeout_s=0.001)
