"""Speech-to-text for the app: a recording (a Telegram voice note) transcribed by the GPU server."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

from core.errors import NotFound, PayloadTooLarge, SkyieError, Unavailable
from core.logging import get_logger
from core.settings import Settings
from gpu.client import GpuClient, GpuRequestError, GpuTaskFailed, GpuTimeout, GpuUnavailable
from gpu.schemas import CaptionRequest, InferKind, TaskResult
from jobs.gpu_host import gpu_host

log = get_logger("jobs.transcribe")


class TranscriptionFailed(SkyieError):
    """The GPU server could not transcribe the recording (a language it does not know, audio
    it cannot read…); sending the same recording again fails the same way."""

    status_code = 422
    code = "transcription_failed"


async def transcribe(
    settings: Settings, path: Path, *, language: str | None = None, timeout_s: float = 120
) -> str:
    """The words spoken in the audio file at `path`, as one line of text ('' for no speech).

    Runs on the GPU host the job steps use (the in-process lite server in embedded mode, where
    only English is understood; Whisper on a GPU server). `language` is a code like 'en' or
    'en-US', None to let the engine decide. Raises NotFound for a missing file, Unavailable
    when no GPU server with speech-to-text can be reached in time, PayloadTooLarge and
    TranscriptionFailed when the server refuses or cannot read the recording.
    """
    if not path.is_file():
        raise NotFound(f"no recording to transcribe at {path}")
    began = time.monotonic()
    try:
        async with asyncio.timeout(timeout_s):
            text = await _run(settings, path, language, timeout_s)
    except TimeoutError:
        raise Unavailable(
            f"speech-to-text did not finish within {timeout_s:g} s; the GPU server may be "
            "busy or the recording too long"
        ) from None
    except GpuTaskFailed as exc:
        # The client words it "caption task t_… failed: <reason>"; the reason is what matters.
        reason = str(exc).partition(" failed: ")[2] or str(exc)
        raise TranscriptionFailed(f"could not transcribe the recording: {reason}") from exc
    except GpuTimeout as exc:
        raise Unavailable(f"speech-to-text did not finish: {exc}") from exc
    except GpuUnavailable as exc:  # unreachable, starting, or no caption engine
        raise Unavailable(f"speech-to-text is unavailable: {exc}") from exc
    except GpuRequestError as exc:
        if exc.status_code == 413:
            raise PayloadTooLarge(f"the recording is too large to transcribe: {exc}") from exc
        if exc.status_code == 401:  # a setting to fix, not something the person sent
            raise Unavailable(f"speech-to-text is unavailable: {exc}") from exc
        raise TranscriptionFailed(f"could not transcribe the recording: {exc}") from exc
    log.info(
        "transcribe.done",
        file=path.name,
        chars=len(text),
        seconds=round(time.monotonic() - began, 2),
    )
    return text


async def _run(settings: Settings, path: Path, language: str | None, timeout_s: float) -> str:
    host = gpu_host(settings)
    url = await host.ensure_ready(wait_s=timeout_s)
    await host.note_activity(url=url)
    began = time.monotonic()
    async with host.client(url) as gpu:
        audio_id = await gpu.upload(path)
        request = CaptionRequest(audio_file_id=audio_id, language=language)
        result = await gpu.infer(InferKind.caption, request)
        text = await _text_of(gpu, result)
    await host.note_activity(url=url, seconds=time.monotonic() - began)
    return text


async def _text_of(gpu: GpuClient, result: TaskResult) -> str:
    """The transcript's text (every caption engine writes Whisper's transcript.json), else the
    timed words joined; whitespace made single spaces either way."""
    file_id = result.files.get("transcript")
    if file_id is None:
        return " ".join(" ".join(w.word for w in result.words).split())
    with tempfile.TemporaryDirectory(prefix="skyie-transcript-") as folder:
        # Downloading also removes the file from the GPU server, which keeps outputs until read.
        path = await gpu.download(file_id, Path(folder) / "transcript.json")
        try:
            text = json.loads(path.read_text(encoding="utf-8"))["text"]
        except (ValueError, KeyError, TypeError) as exc:
            raise TranscriptionFailed(
                f"the GPU server's transcript ({result.engine}) was not readable: {exc}"
            ) from exc
    if not isinstance(text, str):
        raise TranscriptionFailed(f"the GPU server's transcript ({result.engine}) has no text")
    return " ".join(text.split())
