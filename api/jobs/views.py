"""Jobs as the API shows them: the caller's own only, with progress, links and their files."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.jobs.schemas import JobOut
from core.errors import NotFound
from core.models import Job, JobStatus
from core.storage import Storage, get_storage
from jobs.progress import snapshots
from jobs.webhooks import job_links
from media.export import thumbnail


async def owned(session: AsyncSession, user_id: str, job_id: str) -> Job:
    job = await session.get(Job, job_id)
    if job is None or job.user_id != user_id or job.deleted_at is not None:
        # Someone else's job answers exactly like a job that does not exist.
        raise NotFound(f"job {job_id} not found")
    return job


async def _exports_of(
    session: AsyncSession, user_id: str, jobs: Sequence[Job], base_url: str
) -> dict[str, dict[str, str]]:
    """For each finished video among `jobs`: format -> download URL of its newest export."""
    sources = [j.id for j in jobs if "render_key" in j.output]
    found: dict[str, dict[str, str]] = {job_id: {} for job_id in sources}
    if not sources:
        return found
    rows = await session.scalars(
        select(Job)
        .where(
            Job.user_id == user_id,
            Job.workflow == "export",
            Job.status == JobStatus.succeeded.value,
            Job.options["source_job_id"].as_string().in_(sources),
        )
        .order_by(Job.created_at, Job.id)
    )
    for export in rows:
        found[export.options["source_job_id"]].update(job_links(export, base_url).exports)
    return found


async def jobs_out(
    session: AsyncSession, user_id: str, jobs: Sequence[Job], base_url: str
) -> list[JobOut]:
    """The API body of each job, in a fixed number of queries whatever the page size."""
    events = await snapshots(session, jobs)
    exports = await _exports_of(session, user_id, jobs, base_url)
    out = []
    for job in jobs:
        event, links = events[job.id], job_links(job, base_url)
        if job.id in exports:
            links.exports = exports[job.id]
        out.append(
            JobOut(
                id=job.id,
                status=JobStatus(job.status),
                workflow=job.workflow,
                phase=event.phase,
                fraction=event.fraction,
                eta_s=event.eta_s,
                queue_position=event.queue_position,
                phases=event.phases,
                credits=job.credits,
                error=job.error,
                retry_of=job.retry_of,
                source_job_id=job.options.get("source_job_id"),
                script=job.script_text,
                options=job.options,
                duration_s=_duration(job),
                created_at=job.created_at,
                started_at=job.started_at,
                finished_at=job.finished_at,
                links=links,
            )
        )
    return out


def _duration(job: Job) -> float | None:
    key = job.output.get("render_key")
    if key is None:
        return None
    try:
        return round(float(get_storage().artifact_meta(key)["duration_s"]), 2)
    except (OSError, KeyError, ValueError, TypeError):
        return None  # the artifact's record is gone or damaged: the job still lists


async def job_out(session: AsyncSession, job: Job, base_url: str) -> JobOut:
    return (await jobs_out(session, job.user_id, [job], base_url))[0]


def _stored(storage: Storage, job: Job, key: str, name: str) -> Path:
    try:
        return storage.artifact_file(key, name)
    except (FileNotFoundError, ValueError):
        raise NotFound(f"the file {name} of job {job.id} is no longer stored") from None


def _render_key(job: Job) -> str:
    if job.status != JobStatus.succeeded.value:
        raise NotFound(f"job {job.id} has no finished video: it is {job.status}")
    if "render_key" not in job.output:
        raise NotFound(
            f"job {job.id} is an export job: download its files from "
            f"/v1/jobs/{job.id}/exports/{{format}}"
        )
    return str(job.output["render_key"])


def video_file(storage: Storage, job: Job) -> Path:
    return _stored(storage, job, _render_key(job), str(job.output.get("video", "video.mp4")))


def captions_file(storage: Storage, job: Job) -> Path:
    name = str(job.output.get("captions", "captions.srt"))
    return _stored(storage, job, _render_key(job), name)


def srt_to_vtt(srt: str) -> str:
    """WebVTT from SRT: a header, and '.' for the decimal comma in cue timings."""
    lines = ["WEBVTT", ""]
    for line in srt.replace("\r\n", "\n").split("\n"):
        lines.append(line.replace(",", ".") if "-->" in line else line)
    return "\n".join(lines).rstrip("\n") + "\n"


async def thumbnail_file(storage: Storage, job: Job) -> Path:
    """A JPEG of the video: the export step's, or one made from the render once and kept."""
    if job.status == JobStatus.succeeded.value and "export_key" in job.output:
        return _stored(storage, job, job.output["export_key"], "thumbnail.jpg")
    key = _render_key(job)
    cached = storage.path(f"thumbnails/{key[:2]}/{key}.jpg")
    if cached.is_file():
        return cached
    master = video_file(storage, job)
    scratch = storage.scratch()
    try:
        made = await asyncio.to_thread(thumbnail, master, scratch / "thumbnail.jpg")
        # Atomic: two requests racing both make one and the last rename wins, never half a file.
        return storage.put_file(str(cached.relative_to(storage.root)), made)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def preview_file(storage: Storage, job: Job) -> Path:
    """The export job's animated preview (WebP, or GIF where ffmpeg has no WebP encoder)."""
    if job.workflow != "export" or job.status != JobStatus.succeeded.value:
        raise NotFound(
            f"job {job.id} has no animated preview: export it with POST /v1/jobs/{job.id}/exports"
        )
    key = job.output["export_key"]
    try:
        name = str(storage.artifact_meta(key)["preview"])
    except (FileNotFoundError, KeyError):
        raise NotFound(f"export job {job.id} made no animated preview") from None
    return _stored(storage, job, key, name)


def export_file(storage: Storage, job: Job, fmt: str) -> Path:
    if job.workflow != "export":
        raise NotFound(
            f"job {job.id} is not an export job: export it with POST /v1/jobs/{job.id}/exports"
        )
    if job.status != JobStatus.succeeded.value:
        raise NotFound(f"export job {job.id} has no files yet: it is {job.status}")
    files: dict[str, str] = job.output.get("files", {})
    if fmt not in files:
        raise NotFound(f"export job {job.id} has no {fmt!r} file; it made {', '.join(files)}")
    return _stored(storage, job, job.output["export_key"], files[fmt])
