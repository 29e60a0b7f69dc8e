"""Assets a person brings: avatar portraits, checked on the way in and stored by content hash."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select

from core.errors import InvalidInput, NotFound
from core.models import Asset, AssetKind
from tools.context import ToolContext

DEFAULT_AVATAR = Path(__file__).resolve().parent.parent / "core" / "assets" / "default_avatar.png"
MAX_AVATAR_BYTES = 20 * 1024 * 1024
MIN_AVATAR_SIDE = 128
MAX_AVATAR_SIDE = 8192
AVATAR_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}


def check_portrait(data: bytes, name: str) -> str:
    """Return the file extension of a usable portrait, or raise naming what is wrong with it."""
    if not data:
        raise InvalidInput(f"avatar image {name!r} is empty (0 bytes)")
    if len(data) > MAX_AVATAR_BYTES:
        raise InvalidInput(f"avatar image {name!r} is larger than {MAX_AVATAR_BYTES // 2**20} MB")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if max(probe.size) > MAX_AVATAR_SIDE:
                w, h = probe.size
                raise InvalidInput(
                    f"avatar image {name!r} is {w}x{h}; at most {MAX_AVATAR_SIDE}px a side"
                )
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            fmt, size = image.format, image.size
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        OSError,
        SyntaxError,
        ValueError,
    ) as exc:
        raise InvalidInput(f"avatar image {name!r} cannot be read as an image ({exc})") from None
    if fmt not in AVATAR_FORMATS:
        raise InvalidInput(f"avatar image {name!r} is {fmt}; use PNG, JPEG or WebP")
    if min(size) < MIN_AVATAR_SIDE:
        raise InvalidInput(
            f"avatar image {name!r} is {size[0]}x{size[1]}; at least {MIN_AVATAR_SIDE}px a side"
        )
    return AVATAR_FORMATS[fmt]


def _portrait_key(data: bytes, ext: str) -> str:
    return f"avatars/{hashlib.sha256(data).hexdigest()}.{ext}"


async def import_avatar(ctx: ToolContext, path: Path) -> Asset:
    """Check an image file and store it as one of the user's avatars."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(
            f"avatar image {str(path)!r} cannot be opened ({exc.strerror})"
        ) from None
    ext = check_portrait(data, path.name)
    key = _portrait_key(data, ext)
    ctx.storage.put_bytes(key, data)
    asset = Asset(
        user_id=ctx.user_id,
        kind=AssetKind.avatar.value,
        filename=path.name[:255],
        storage_key=key,
        size=len(data),
        content_type=f"image/{'jpeg' if ext == 'jpg' else ext}",
    )
    ctx.session.add(asset)
    await ctx.session.flush()
    return asset


async def portrait_for(ctx: ToolContext, avatar_asset_id: str | None) -> str:
    """Storage key of the portrait to animate: the user's own avatar, or the default host."""
    if avatar_asset_id is None:
        data = DEFAULT_AVATAR.read_bytes()
        key = _portrait_key(data, "png")
        if not ctx.storage.path(key).is_file():
            ctx.storage.put_bytes(key, data)
        return key
    asset = await ctx.session.scalar(
        select(Asset).where(
            Asset.id == avatar_asset_id,
            Asset.user_id == ctx.user_id,
            Asset.kind == AssetKind.avatar.value,
        )
    )
    if asset is None:
        raise NotFound(f"avatar {avatar_asset_id} not found")
    stored = ctx.storage.path(asset.storage_key)
    # Re-check: a file damaged at rest must fail here, before any credits are held.
    check_portrait(stored.read_bytes() if stored.is_file() else b"", asset.filename)
    return asset.storage_key
