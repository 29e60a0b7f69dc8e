"""Job routes: list, get, cancel, retry, download the video, captions and thumbnail, export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from api.deps import (
    AppSettings,
    AppStorage,
    CurrentUser,
    DownloadUser,
    Session,
    StreamUser,
    tool_context,
)
from api.errors import ERRORS, ErrorResponse
from api.files import RangeFileResponse
from api.jobs import streams, views
from api.jobs.schemas import CaptionFormat, ExportIn, JobOut
from api.pagination import Cursor, Limit, Page, paginate
from core.errors import Conflict
from core.models import Job, JobStatus, utcnow
from jobs.service import lock_job
from tools.exports import ExportFormat, ExportInput, start_export
from tools.status import JobInput, cancel_job, retry_job

router = APIRouter(tags=["jobs"], responses=ERRORS)
router.include_router(streams.router)

JobId = Annotated[str, Path(max_length=40, description="A job id.")]
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": ErrorResponse}}
FILE = {"description": "The file; send a Range header for part of it (206)."}


def _base(request: Request) -> str:
    return str(request.base_url)


@router.get("/jobs")
async def list_jobs(
    request: Request,
    session: Session,
    user: CurrentUser,
    limit: Limit = 20,
    cursor: Cursor = None,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this state.")] = None,
) -> Page[JobOut]:
    """The caller's jobs, newest first."""
    stmt = select(Job).where(Job.user_id == user.user_id, Job.deleted_at.is_(None))
    if status is not None:
        stmt = stmt.where(Job.status == status.value)
    rows, next_cursor = await paginate(session, stmt, Job, limit, cursor)
    items = await views.jobs_out(session, user.user_id, rows, _base(request))
    return Page[JobOut](items=items, next_cursor=next_cursor)


@router.get("/jobs/{job_id}")
async def get_job(request: Request, job_id: JobId, session: Session, user: CurrentUser) -> JobOut:
    """State, progress (phase, fraction, ETA, queue position), price and, once done, links."""
    job = await views.owned(session, user.user_id, job_id)
    return await views.job_out(session, job, _base(request))


@router.delete("/jobs/{job_id}", status_code=204, responses=CONFLICT)
async def delete_job(job_id: JobId, session: Session, user: CurrentUser) -> Response:
    """Remove a finished job from the library. A queued or running one must be cancelled
    first (409). Its record of credits and usage stays."""
    job = await lock_job(session, (await views.owned(session, user.user_id, job_id)).id)
    if not JobStatus(job.status).finished:
        raise Conflict(f"job {job_id} is {job.status}; cancel it before deleting it")
    job.deleted_at = utcnow()
    return Response(status_code=204)


@router.post("/jobs/{job_id}/cancel", responses=CONFLICT)
async def cancel(
    request: Request,
    job_id: JobId,
    session: Session,
    user: CurrentUser,
    settings: AppSettings,
    storage: AppStorage,
) -> JobOut:
    """Stop a queued or running job; its held credits are released. Cancelling a cancelled job
    again is harmless; a job that already succeeded or failed answers 409."""
    job = await views.owned(session, user.user_id, job_id)
    if job.status in (JobStatus.succeeded.value, JobStatus.failed.value):
        raise Conflict(f"job {job_id} already {job.status}; there is nothing to cancel")
    ctx = tool_context(session, user, settings, storage)
    await cancel_job(ctx, JobInput(job_id=job_id))
    # Checked again under the job's lock: it may have finished while we looked.
    await session.refresh(job)
    if job.status in (JobStatus.succeeded.value, JobStatus.failed.value):
        raise Conflict(f"job {job_id} already {job.status}; there is nothing to cancel")
    return await views.job_out(session, job, _base(request))


@router.post(
    "/jobs/{job_id}/retry",
    status_code=201,
    responses={**CONFLICT, 402: {"model": ErrorResponse}},
)
async def retry(
    request: Request,
    job_id: JobId,
    session: Session,
    user: CurrentUser,
    settings: AppSettings,
    storage: AppStorage,
) -> JobOut:
    """Run a failed or cancelled job again as a new job (`retry_of` names the original). It is
    priced afresh: work the first run finished is reused and not charged again."""
    ctx = tool_context(session, user, settings, storage)
    job = await retry_job(ctx, job_id)
    return await views.job_out(session, job, _base(request))


@router.get(
    "/jobs/{job_id}/video",
    response_class=RangeFileResponse,
    responses={200: {"content": {"video/mp4": {}}, **FILE}, 206: FILE},
)
async def video(
    job_id: JobId, session: Session, user: DownloadUser, storage: AppStorage
) -> Response:
    """The rendered MP4 (also through a signed `?link=`)."""
    job = await views.owned(session, user.user_id, job_id)
    path = views.video_file(storage, job)
    return RangeFileResponse(
        path, media_type="video/mp4", filename=f"{job.id}.mp4", content_disposition_type="inline"
    )


@router.get(
    "/jobs/{job_id}/captions",
    response_class=Response,
    responses={200: {"content": {"application/x-subrip": {}, "text/vtt": {}}}},
)
async def captions(
    job_id: JobId,
    session: Session,
    user: StreamUser,
    storage: AppStorage,
    format: Annotated[CaptionFormat, Query(description="srt or vtt (WebVTT).")] = (
        CaptionFormat.srt
    ),
) -> Response:
    """The video's captions, timed to the spoken words."""
    job = await views.owned(session, user.user_id, job_id)
    path = views.captions_file(storage, job)
    if format is CaptionFormat.srt:
        return RangeFileResponse(path, media_type="application/x-subrip", filename=f"{job.id}.srt")
    return Response(
        views.srt_to_vtt(path.read_text(encoding="utf-8")),
        media_type="text/vtt; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{job.id}.vtt"'},
    )


@router.get(
    "/jobs/{job_id}/thumbnail",
    response_class=RangeFileResponse,
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def thumbnail(
    job_id: JobId, session: Session, user: StreamUser, storage: AppStorage
) -> Response:
    """A JPEG still from a third of the way into the video."""
    job = await views.owned(session, user.user_id, job_id)
    path = await views.thumbnail_file(storage, job)
    return RangeFileResponse(
        path, media_type="image/jpeg", filename=f"{job.id}.jpg", content_disposition_type="inline"
    )


@router.get(
    "/jobs/{job_id}/preview",
    response_class=RangeFileResponse,
    responses={200: {"content": {"image/webp": {}, "image/gif": {}}}},
)
async def preview(
    job_id: JobId, session: Session, user: StreamUser, storage: AppStorage
) -> Response:
    """A few looping seconds of an exported video, small enough for a chat or a list."""
    job = await views.owned(session, user.user_id, job_id)
    path = views.preview_file(storage, job)
    media_type = "image/gif" if path.suffix == ".gif" else "image/webp"
    return RangeFileResponse(
        path,
        media_type=media_type,
        filename=f"{job.id}{path.suffix}",
        content_disposition_type="inline",
    )


@router.post("/jobs/{job_id}/exports", status_code=202, responses=CONFLICT)
async def create_export(
    request: Request,
    job_id: JobId,
    body: ExportIn,
    session: Session,
    user: CurrentUser,
    settings: AppSettings,
    storage: AppStorage,
) -> JobOut:
    """Cut a finished video into platform formats in one free export job; follow that job,
    then download each file from its `links.exports`."""
    ctx = tool_context(session, user, settings, storage)
    started = await start_export(ctx, ExportInput(job_id=job_id, formats=body.formats))
    job = await views.owned(session, user.user_id, started.job_id)
    return await views.job_out(session, job, _base(request))


@router.get(
    "/jobs/{job_id}/exports/{format}",
    response_class=RangeFileResponse,
    responses={200: {"content": {"video/mp4": {}}, **FILE}, 206: FILE},
)
async def export_download(
    job_id: JobId,
    format: ExportFormat,
    session: Session,
    user: DownloadUser,
    storage: AppStorage,
) -> Response:
    """One file of a finished export job (also through a signed `?link=`)."""
    job = await views.owned(session, user.user_id, job_id)
    path = views.export_file(storage, job, format.value)
    return RangeFileResponse(path, media_type="video/mp4", filename=f"{job.id}-{format.value}.mp4")
