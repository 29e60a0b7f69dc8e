"""Assets routes: upload avatars, voices and videos; list, describe, download (Range), delete."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from api.assets.schemas import AssetOut, upload_body
from api.assets.uploads import receive_upload
from api.deps import AppSettings, AppStorage, CurrentUser, Session, StreamUser, Tools, tool_context
from api.errors import ERRORS, ErrorResponse
from api.files import RangeFileResponse
from api.pagination import Cursor, Limit, Page, paginate
from core.errors import InvalidInput, NotFound
from core.models import Asset, AssetKind
from tools.asset_checks import LABELS, max_bytes
from tools.assets import add_asset, delete_asset, owned_asset
from tools.context import ToolContext

router = APIRouter(tags=["assets"], responses=ERRORS)

_UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (413, 415)
}
_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no", ""}


def asset_out(request: Request, asset: Asset) -> AssetOut:
    return AssetOut(
        id=asset.id,
        kind=AssetKind(asset.kind),
        name=asset.filename,
        size=asset.size,
        content_type=asset.content_type,
        meta=asset.meta,
        created_at=asset.created_at,
        content_url=request.app.url_path_for("download_asset", asset_id=asset.id),
    )


def _consent(value: str | None) -> bool:
    if value is None:
        raise InvalidInput("form field 'consent' is required: the speaker must agree (true)")
    answer = value.strip().lower()
    if answer not in _TRUE | _FALSE:
        raise InvalidInput(f"form field 'consent' must be true or false, not {value[:20]!r}")
    return answer in _TRUE


async def _upload(request: Request, ctx: ToolContext, kind: AssetKind) -> AssetOut:
    fields = ("consent",) if kind is AssetKind.voice else ()
    # The body is read here, before any database work (the session connects on its first
    # query), so no connection waits on a slow upload.
    async with receive_upload(
        request,
        what=LABELS[kind],
        limit=max_bytes(ctx.settings, kind),
        spool_dir=ctx.storage.tmp,
        fields=fields,
    ) as upload:
        consent = _consent(upload.fields.get("consent")) if kind is AssetKind.voice else False
        asset = await add_asset(ctx, kind, upload.path, upload.name, consent=consent, move=True)
    return asset_out(request, asset)


@router.post(
    "/assets/avatars",
    status_code=201,
    responses=_UPLOAD_ERRORS,
    openapi_extra=upload_body("portrait: PNG, JPEG or WebP, at least 128 px a side"),
)
async def upload_avatar(request: Request, ctx: Tools) -> AssetOut:
    """Upload a portrait to animate. Its type is read from its content, not its name."""
    return await _upload(request, ctx, AssetKind.avatar)


@router.post(
    "/assets/voices",
    status_code=201,
    responses=_UPLOAD_ERRORS,
    openapi_extra=upload_body(
        "recording of 3-120 s: WAV, MP3, OGG, FLAC, M4A or WebM", consent=True
    ),
)
async def upload_voice(request: Request, ctx: Tools) -> AssetOut:
    """Upload a voice to clone; `consent` must be true and is recorded with its time."""
    return await _upload(request, ctx, AssetKind.voice)


@router.post(
    "/assets/videos",
    status_code=201,
    responses=_UPLOAD_ERRORS,
    openapi_extra=upload_body("video: MP4, MOV or WebM"),
)
async def upload_video(request: Request, ctx: Tools) -> AssetOut:
    """Upload a video. It must have a moving picture and decode to its very end."""
    return await _upload(request, ctx, AssetKind.video)


@router.get("/assets")
async def list_assets(
    request: Request,
    session: Session,
    user: CurrentUser,
    limit: Limit = 20,
    cursor: Cursor = None,
    kind: Annotated[AssetKind | None, Query(description="Only this kind.")] = None,
) -> Page[AssetOut]:
    """The caller's assets, newest first."""
    stmt = select(Asset).where(Asset.user_id == user.user_id)
    if kind is not None:
        stmt = stmt.where(Asset.kind == kind.value)
    rows, next_cursor = await paginate(session, stmt, Asset, limit, cursor)
    return Page(items=[asset_out(request, a) for a in rows], next_cursor=next_cursor)


@router.get("/assets/{asset_id}")
async def get_asset(
    asset_id: str,
    request: Request,
    session: Session,
    user: CurrentUser,
    settings: AppSettings,
    storage: AppStorage,
) -> AssetOut:
    """One asset's description."""
    asset = await owned_asset(tool_context(session, user, settings, storage), asset_id)
    return asset_out(request, asset)


@router.get(
    "/assets/{asset_id}/content",
    response_class=RangeFileResponse,
    responses={
        200: {"description": "The file.", "content": {"application/octet-stream": {}}},
        206: {"description": "The byte range asked for with a Range header."},
        416: {"description": "The Range asked for lies outside the file."},
    },
)
async def download_asset(
    asset_id: str, session: Session, user: StreamUser, settings: AppSettings, storage: AppStorage
) -> RangeFileResponse:
    """The file itself. Send `Range: bytes=…` for part of it (a video player seeking)."""
    asset = await owned_asset(tool_context(session, user, settings, storage), asset_id)
    path = storage.path(asset.storage_key)
    if not path.is_file():
        raise NotFound(f"the file of asset {asset.id} is missing from storage")
    # The label's extension may lie; the download is named by what the file really is.
    download_name = f"{PurePath(asset.filename).stem or asset.kind}{path.suffix}"
    return RangeFileResponse(
        path,
        media_type=asset.content_type,
        filename=download_name,
        content_disposition_type="inline",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private"},
    )


@router.delete("/assets/{asset_id}", status_code=204, responses={409: {"model": ErrorResponse}})
async def remove_asset(
    asset_id: str, session: Session, user: CurrentUser, settings: AppSettings, storage: AppStorage
) -> Response:
    """Delete an asset and its file. Refused (409) while a queued or running job uses it."""
    await delete_asset(tool_context(session, user, settings, storage), asset_id)
    return Response(status_code=204)
