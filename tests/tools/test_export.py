"""export_video: a finished video cut into platform formats by one free job."""

from __future__ import annotations

from core.db import get_database
from core.models import JobStatus
from core.production import ProductionOptions
from core.storage import get_storage
from jobs.worker import JobWorker
from media.ffmpeg import probe
from tests.conftest import Stack
from tests.jobs.helpers import context, ledger_of, make_user, submit, wait_for
from tools.registry import call_tool


async def test_export_to_three_formats(sqlite_stack: Stack) -> None:
    settings = sqlite_stack.settings
    user = await make_user(settings, 100)
    with JobWorker(settings):
        made = await submit(settings, user, options=ProductionOptions(music=False))
        assert (await wait_for(settings, made.job_id)).status == JobStatus.succeeded.value
        before = (await ledger_of(settings, user))[0]
        async with get_database().session() as s:
            outcome = await call_tool(
                context(settings, s, user),
                "export_video",
                {"job_id": made.job_id, "formats": ["youtube", "square", "tiktok"]},
            )
        assert not outcome.is_error, outcome.error
        export = await wait_for(settings, outcome.output.job_id)
    assert export.status == JobStatus.succeeded.value, export.error
    storage = get_storage(settings.storage_dir)
    sizes = {
        name: (info.width, info.height)
        for name, file in export.output["files"].items()
        for info in [probe(storage.artifact_file(export.output["export_key"], file))]
    }
    assert sizes == {"youtube": (1920, 1080), "square": (1080, 1080), "tiktok": (1080, 1920)}
    assert storage.artifact_file(export.output["export_key"], "thumbnail.jpg").stat().st_size > 0
    assert (await ledger_of(settings, user))[0] == before  # exports are free


async def test_export_refuses_unfinished_or_foreign_jobs(sqlite_stack: Stack) -> None:
    settings = sqlite_stack.settings
    owner, other = await make_user(settings), await make_user(settings)
    made = await submit(settings, owner)  # no worker: not finished
    async with get_database().session() as s:
        early = await call_tool(
            context(settings, s, owner), "export_video", {"job_id": made.job_id, "formats": ["x"]}
        )
        foreign = await call_tool(
            context(settings, s, other), "export_video", {"job_id": made.job_id, "formats": ["x"]}
        )
        unknown = await call_tool(
            context(settings, s, owner), "export_video", {"job_id": made.job_id, "formats": ["vhs"]}
        )
    assert early.is_error and "no finished video" in early.error
    assert foreign.is_error and "not found" in foreign.error
    assert unknown.is_error and "formats" in unknown.error
