"""'Use my cloned voice': a consented sample becomes the voice of the video, end to end."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agent.loop import JobEvent, ScriptEvent, start_conversation
from core.db import get_database
from core.errors import InvalidInput
from core.models import JobStatus
from core.storage import get_storage
from jobs.worker import JobWorker
from media.ffmpeg import ffmpeg_exe
from tests.agent.test_loop import deps, say
from tests.conftest import Stack
from tests.jobs.helpers import context, make_user, steps_of, wait_for
from tools.assets import import_voice


def tone(path: Path, seconds: float) -> Path:
    subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=220:duration={seconds}",
            str(path),
        ],
        check=True,
    )
    return path


async def test_use_my_cloned_voice(sqlite_stack: Stack, tmp_path: Path) -> None:
    settings = sqlite_stack.settings
    user = await make_user(settings, 100)
    async with get_database().session() as s:
        await import_voice(
            context(settings, s, user), tone(tmp_path / "my voice.wav", 4), consent=True
        )
    conversation = await start_conversation(user, "test")
    await say(conversation, "a 10-second video about green tea, no host", deps(sqlite_stack), user)
    revised = await say(conversation, "use my cloned voice", deps(sqlite_stack), user)
    assert any(isinstance(e, ScriptEvent) for e in revised)
    with JobWorker(settings):
        job = next(
            e
            for e in await say(conversation, "yes", deps(sqlite_stack), user)
            if isinstance(e, JobEvent)
        )
        assert (await wait_for(settings, job.job_id)).status == JobStatus.succeeded.value
    tts = [s for s in await steps_of(settings, job.job_id) if s.kind == "tts"]
    assert tts and all(s.params.get("reference", "").startswith("voices/") for s in tts)
    engine = get_storage(settings.storage_dir).artifact_meta(tts[0].content_key)["engine"]
    assert "matched by pitch" in engine


async def test_a_voice_needs_consent_and_a_real_recording(
    sqlite_stack: Stack, tmp_path: Path
) -> None:
    settings = sqlite_stack.settings
    user = await make_user(settings, 100)
    async with get_database().session() as s:
        ctx = context(settings, s, user)
        with pytest.raises(InvalidInput, match="consent"):
            await import_voice(ctx, tone(tmp_path / "a.wav", 4), consent=False)
        with pytest.raises(InvalidInput, match="must be 3-120 s"):
            await import_voice(ctx, tone(tmp_path / "b.wav", 1), consent=True)
        fake = tmp_path / "c.wav"
        fake.write_text("not audio at all")
        with pytest.raises(InvalidInput, match="not a recording"):
            await import_voice(ctx, fake, consent=True)
