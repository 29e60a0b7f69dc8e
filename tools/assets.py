"""Assets a person brings (avatars, voices, videos): checked on the way in, stored by their id."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from core.db import after_commit
from core.errors import Conflict, InvalidInput, NotFound
from core.models import Asset, AssetKind, Job, JobStatus, new_id, utcnow
from core.storage import Storage
from tools.asset_checks import (
    CHECKS,
    LABELS,
    Checked,
    check_file_name,
    check_portrait,
    max_bytes,
)
from tools.context import ToolContext

DEFAULT_AVATAR = Path(__file__).resolve().parent.parent / "core" / "assets" / "default_avatar.png"
_ACTIVE = (JobStatus.queued.value, JobStatus.running.value)


def storage_key(kind: AssetKind, user_id: str, asset_id: str, ext: str) -> str:
    """Under the generated id: a name a person chose never becomes part of a path. An asset's
    bytes never change, so the key still identifies them for a step's content key."""
    return f"{kind.value}s/{user_id}/{asset_id}.{ext}"


def _place(storage: Storage, key: str, source: Path, move: bool) -> Path:
    if move:
        dest = storage.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            # An upload spooled inside the store is renamed in: atomic, and no second copy.
            os.replace(source, dest)
        except OSError:
            return storage.put_file(key, source)  # another filesystem: copy it in
        return dest
    return storage.put_file(key, source)


def _unlink_on_rollback(session: AsyncSession, path: Path) -> None:
    """The file lands before the row commits; if the row is rolled back, the file goes too."""
    sync = session.sync_session
    chain: list[SessionTransaction] = []
    txn = sync.get_nested_transaction() or sync.get_transaction()
    while txn is not None:
        chain.append(txn)
        txn = txn.parent

    def on_rollback(_session: Session, previous: SessionTransaction) -> None:
        if any(previous is t for t in chain):
            path.unlink(missing_ok=True)

    event.listen(sync, "after_soft_rollback", on_rollback)


async def _store(
    ctx: ToolContext, kind: AssetKind, name: str, source: Path, checked: Checked, move: bool
) -> Asset:
    asset_id = new_id("ast")
    key = storage_key(kind, ctx.user_id, asset_id, checked.ext)
    # In this task, not a thread: a cancelled request must not leave a file no one owns.
    dest = _place(ctx.storage, key, source, move)
    try:
        asset = Asset(
            id=asset_id,
            user_id=ctx.user_id,
            kind=kind.value,
            filename=name,
            storage_key=key,
            size=dest.stat().st_size,
            content_type=checked.content_type,
            meta=dict(checked.meta),
        )
        ctx.session.add(asset)
        await ctx.session.flush()
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    _unlink_on_rollback(ctx.session, dest)
    return asset


async def add_asset(
    ctx: ToolContext,
    kind: AssetKind,
    source: Path,
    name: str,
    *,
    consent: bool = False,
    move: bool = False,
) -> Asset:
    """Check `source` for `kind` from its bytes and store it as one of the person's assets.
    `name` is kept only as a label. `move`: `source` is a spooled upload that may be taken."""
    name = check_file_name(name)
    if kind is AssetKind.voice and not consent:
        raise InvalidInput("a voice can be cloned only with the speaker's consent")
    try:
        source.stat()
    except OSError as exc:
        raise InvalidInput(
            f"{LABELS[kind]} {str(source)!r} cannot be opened ({exc.strerror})"
        ) from None
    limit = max_bytes(ctx.settings, kind)
    checked = await asyncio.to_thread(CHECKS[kind], source, name, limit=limit)
    if kind is AssetKind.voice:
        checked.meta.update(consent=True, consent_at=utcnow().isoformat())
    return await _store(ctx, kind, name, source, checked, move)


async def import_avatar(ctx: ToolContext, path: Path) -> Asset:
    """Check an image file and store it as one of the user's avatars."""
    return await add_asset(ctx, AssetKind.avatar, path, path.name)


async def import_voice(ctx: ToolContext, path: Path, *, consent: bool) -> Asset:
    """Check a recording and store it as a voice to clone, with the speaker's consent noted."""
    return await add_asset(ctx, AssetKind.voice, path, path.name, consent=consent)


async def owned_asset(ctx: ToolContext, asset_id: str, kind: AssetKind | None = None) -> Asset:
    """One of the caller's assets; another person's id is answered exactly like a missing one."""
    stmt = select(Asset).where(Asset.id == asset_id, Asset.user_id == ctx.user_id)
    if kind is not None:
        stmt = stmt.where(Asset.kind == kind.value)
    asset = await ctx.session.scalar(stmt)
    if asset is None:
        raise NotFound(f"{kind.value if kind else 'asset'} {asset_id} not found")
    return asset


async def delete_asset(ctx: ToolContext, asset_id: str) -> None:
    """Delete an asset and, once that commits, its file. A job still waiting to use it keeps it."""
    asset = await owned_asset(ctx, asset_id)
    if asset.kind in (AssetKind.avatar.value, AssetKind.voice.value):
        jobs = await ctx.session.scalars(
            select(Job).where(Job.user_id == ctx.user_id, Job.status.in_(_ACTIVE))
        )
        using = [
            job
            for job in jobs
            if asset.id in (job.options.get("avatar_asset_id"), job.options.get("voice"))
        ]
        if using:
            names = ", ".join(f"{job.id} ({job.status})" for job in using)
            raise Conflict(
                f"{asset.kind} {asset.id} is in use by job {names}; delete it once the job "
                "has finished or been cancelled",
                code="asset_in_use",
            )
    path = ctx.storage.path(asset.storage_key)
    await ctx.session.delete(asset)
    await ctx.session.flush()
    after_commit(ctx.session, lambda: path.unlink(missing_ok=True))


async def portrait_for(ctx: ToolContext, avatar_asset_id: str | None) -> str:
    """Storage key of the portrait to animate: the user's own avatar, or the default host."""
    if avatar_asset_id is None:
        data = DEFAULT_AVATAR.read_bytes()
        # The default host is shared by everyone: stored once, under its content hash.
        key = f"avatars/{hashlib.sha256(data).hexdigest()}.png"
        if not ctx.storage.path(key).is_file():
            ctx.storage.put_bytes(key, data)
        return key
    asset = await owned_asset(ctx, avatar_asset_id, AssetKind.avatar)
    stored = ctx.storage.path(asset.storage_key)
    # Re-check: a file damaged at rest must fail here, before any credits are held.
    limit = max_bytes(ctx.settings, AssetKind.avatar)
    check_portrait(stored.read_bytes() if stored.is_file() else b"", asset.filename, limit=limit)
    return asset.storage_key


async def voice_reference(ctx: ToolContext, voice: str) -> str | None:
    """Storage key of the person's own voice sample when `voice` names one; None for built-ins."""
    if not voice.startswith("ast_"):
        return None
    asset = await owned_asset(ctx, voice, AssetKind.voice)
    return asset.storage_key
