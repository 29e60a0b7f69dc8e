"""A job end to end on both stacks: steps, artifacts, reuse, credits, failure and cancel."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from core.db import get_database
from core.models import EntryKind, JobStatus, StepStatus, utcnow
from core.production import ProductionOptions
from core.storage import get_storage
from jobs.service import cancel_job
from jobs.worker import JobWorker
from media.ffmpeg import probe
from tests.conftest import Stack
from tests.jobs.helpers import SHORT_SCRIPT, ledger_of, make_user, steps_of, submit, wait_for


async def test_a_job_produces_the_video_and_captures_its_credits(stack: Stack) -> None:
    settings = stack.settings
    user = await make_user(settings, 200)
    with JobWorker(settings):
        started = await submit(settings, user)
        job = await wait_for(settings, started.job_id)
    assert job.status == JobStatus.succeeded.value, job.error
    storage = get_storage(settings.storage_dir)
    video = storage.artifact_file(job.output["render_key"], "video.mp4")
    info = probe(video)
    assert (info.width, info.height) == (1080, 1920)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    steps = await steps_of(settings, job.id)
    captions = next(s for s in steps if s.kind == "captions")
    planned = storage.artifact_meta(captions.content_key)["duration_s"]
    assert abs(info.duration_s - planned) < 0.15
    srt = storage.artifact_file(job.output["render_key"], "captions.srt").read_text()
    assert "Hello there." in srt and "Tea time." in srt
    assert all(s.status == StepStatus.done.value and s.runs == 1 for s in steps)
    balance, entries = await ledger_of(settings, user)
    assert balance == 200 - started.credits
    captures = [e for e in entries if e.kind == EntryKind.capture.value]
    assert len(captures) == 1 and captures[0].settles == job.hold_id


async def test_an_edit_recomputes_only_the_changed_segment(sqlite_stack: Stack) -> None:
    settings = sqlite_stack.settings
    user = await make_user(settings, 500)
    options = ProductionOptions(music=False)
    edited = SHORT_SCRIPT.replace("Tea time.", "Coffee time.")
    with JobWorker(settings):
        first = await submit(settings, user, options=options)
        assert (await wait_for(settings, first.job_id)).status == JobStatus.succeeded.value
        again = await submit(settings, user, options=options)
        assert (await wait_for(settings, again.job_id)).status == JobStatus.succeeded.value
        changed = await submit(settings, user, edited, options=options)
        assert (await wait_for(settings, changed.job_id)).status == JobStatus.succeeded.value
    assert all(s.reused and s.runs == 0 for s in await steps_of(settings, again.job_id))
    ran = sorted(s.name for s in await steps_of(settings, changed.job_id) if not s.reused)
    # The narration of segment 1 changed: its voice, its clip (timed to the voice), then the
    # captions and render. The host's segment and the other clip are reused.
    assert ran == ["captions", "clip/1", "render", "tts/1"]


async def test_a_failing_step_fails_the_job_and_releases_the_hold(sqlite_stack: Stack) -> None:
    settings = sqlite_stack.settings
    user = await make_user(settings, 100)
    started = await submit(settings, user)
    storage = get_storage(settings.storage_dir)
    async with get_database().session() as s:
        from sqlalchemy import select

        from core.models import JobStep

        lipsync = await s.scalar(
            select(JobStep).where(JobStep.job_id == started.job_id, JobStep.kind == "lipsync")
        )
        assert lipsync is not None
        portrait = storage.path(lipsync.params["portrait"])
    original = portrait.read_bytes()
    portrait.write_bytes(b"this is not an image")  # damaged at rest after the job was queued
    try:
        with JobWorker(settings):
            job = await wait_for(settings, started.job_id)
    finally:
        portrait.write_bytes(original)
    assert job.status == JobStatus.failed.value
    assert job.error and "lipsync/0" in job.error
    balance, entries = await ledger_of(settings, user)
    assert balance == 100
    assert [e.kind for e in entries if e.job_id == job.id] == ["hold", "release"]


async def test_cancel_mid_job_releases_the_hold_and_starts_nothing_new(stack: Stack) -> None:
    settings = stack.settings
    user = await make_user(settings, 100)
    with JobWorker(settings):
        started = await submit(settings, user)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            steps = await steps_of(settings, started.job_id)
            if any(s.status == StepStatus.running.value for s in steps):
                break
            await asyncio.sleep(0.02)
        async with get_database().session() as s:
            job = await cancel_job(s, started.job_id, user_id=user)
            assert job.status == JobStatus.cancelled.value
        cancelled_at = utcnow()
        await asyncio.sleep(2.0)  # anything still queued arrives now and must be ignored
    steps = await steps_of(settings, started.job_id)
    assert {s.status for s in steps} <= {StepStatus.done.value, StepStatus.cancelled.value}
    assert any(s.status == StepStatus.cancelled.value for s in steps)
    late = [s.name for s in steps if s.started_at and s.started_at > cancelled_at]
    assert late == [], f"steps started after the cancel: {late}"
    assert not any(s.kind == "render" and s.runs for s in steps)
    balance, entries = await ledger_of(settings, user)
    assert balance == 100
    assert [e.kind for e in entries if e.job_id == started.job_id] == ["hold", "release"]


async def test_another_users_job_cannot_be_cancelled(sqlite_stack: Stack) -> None:
    from core.errors import NotFound

    settings = sqlite_stack.settings
    owner, stranger = await make_user(settings), await make_user(settings)
    started = await submit(settings, owner)
    async with get_database().session() as s:
        with pytest.raises(NotFound):
            await cancel_job(s, started.job_id, user_id=stranger)


async def test_a_free_account_gets_a_marked_720p_video(sqlite_stack: Stack) -> None:
    """The free plan's limits reach the picture: 720p at most, and the studio's mark."""
    settings = sqlite_stack.settings
    free = await make_user(settings, plan="free")
    paid = await make_user(settings, plan="starter")
    frames, marks, corners = {}, {}, {}
    for user in (free, paid):
        started = await submit(settings, user, "[TALKING] Hello there.")
        with JobWorker(settings):
            job = await wait_for(settings, started.job_id)
        assert job.status == "succeeded", job.error
        storage = get_storage(settings.storage_dir)
        video = storage.artifact_file(job.output["render_key"], "video.mp4")
        info = probe(video)
        frames[user] = (info.width, info.height)
        render = next(s for s in await steps_of(settings, started.job_id) if s.kind == "render")
        marks[user] = render.params.get("watermark")
        corners[user] = _top_corners(video)
    assert frames == {free: (720, 1280), paid: (1080, 1920)}
    assert marks == {free: "Skyie Studio", paid: None}
    # The mark is in the picture: the free video's top-left corner (where it is drawn) differs
    # from the paid one's, while the top-right corner, unmarked in both, matches.
    (free_left, free_right), (paid_left, paid_right) = corners[free], corners[paid]
    assert np.abs(free_left - paid_left).mean() > 4 * np.abs(free_right - paid_right).mean()


def _top_corners(video: Path) -> tuple[np.ndarray, np.ndarray]:
    """The top-left and top-right corners of the first second's middle frame, at 360x640."""
    reader = imageio_ffmpeg.read_frames(str(video), output_params=["-vf", "scale=360:640"])
    next(reader)
    frame = None
    for n, raw in enumerate(reader):
        if n == 12:
            frame = np.frombuffer(raw, np.uint8).reshape(640, 360, 3).astype(np.int16)
            break
    reader.close()
    assert frame is not None
    return frame[10:60, 10:170], frame[10:60, 190:350]
