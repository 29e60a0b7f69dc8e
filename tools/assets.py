"""Assets a person brings: avatar portraits, checked on the way in and stored by content hash."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select

from core.errors import InvalidInput, NotFound
from core.models import Asset, AssetKind
from media.ffmpeg import MediaError, probe
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


def _hash_key(kind: AssetKind, data: bytes, ext: str) -> str:
    """Assets live under their content hash, so a step's content key can name them."""
    return f"{kind.value}s/{hashlib.sha256(data).hexdigest()}.{ext}"


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{what} {str(path)!r} cannot be opened ({exc.strerror})") from None


async def _store(
    ctx: ToolContext,
    kind: AssetKind,
    name: str,
    data: bytes,
    ext: str,
    content_type: str,
    meta: dict[str, object] | None = None,
) -> Asset:
    key = _hash_key(kind, data, ext)
    ctx.storage.put_bytes(key, data)
    asset = Asset(
        user_id=ctx.user_id,
        kind=kind.value,
        filename=name[:255],
        storage_key=key,
        size=len(data),
        content_type=content_type,
        meta=meta or {},
    )
    ctx.session.add(asset)
    await ctx.session.flush()
    return asset


async def import_avatar(ctx: ToolContext, path: Path) -> Asset:
    """Check an image file and store it as one of the user's avatars."""
    data = _read(path, "avatar image")
    ext = check_portrait(data, path.name)
    content_type = f"image/{'jpeg' if ext == 'jpg' else ext}"
    return await _store(ctx, AssetKind.avatar, path.name, data, ext, content_type)


async def portrait_for(ctx: ToolContext, avatar_asset_id: str | None) -> str:
    """Storage key of the portrait to animate: the user's own avatar, or the default host."""
    if avatar_asset_id is None:
        data = DEFAULT_AVATAR.read_bytes()
        key = _hash_key(AssetKind.avatar, data, "png")
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


MAX_VOICE_BYTES = 20 * 1024 * 1024
VOICE_SECONDS = (3.0, 120.0)


async def import_voice(ctx: ToolContext, path: Path, *, consent: bool) -> Asset:
    """Check a recording and store it as a voice to clone, with the speaker's consent noted."""
    if not consent:
        raise InvalidInput("a voice can be cloned only with the speaker's consent")
    data = _read(path, "voice sample")
    if not data or len(data) > MAX_VOICE_BYTES:
        raise InvalidInput(f"voice sample {path.name!r} must be 1 byte to 20 MB")
    try:
        info = probe(path)
    except MediaError as exc:
        raise InvalidInput(f"voice sample {path.name!r} is not a recording ({exc})") from None
    low, high = VOICE_SECONDS
    if not info.has_audio or not low <= info.duration_s <= high:
        raise InvalidInput(
            f"voice sample {path.name!r} must be {low:.0f}-{high:.0f} s of audio "
            f"(it is {info.duration_s:.1f} s{'' if info.has_audio else ', with no sound'})"
        )
    # The extension says what the file is (probed), never what its name claims.
    container = (info.format_name or "audio").split(",")[0]
    return await _store(
        ctx,
        AssetKind.voice,
        path.name,
        data,
        container if container.isalnum() else "audio",
        f"audio/{info.audio_codec or 'unknown'}",
        {"consent": True, "duration_s": round(info.duration_s, 2)},
    )


async def voice_reference(ctx: ToolContext, voice: str) -> str | None:
    """Storage key of the person's own voice sample when `voice` names one; None for built-ins."""
    if not voice.startswith("ast_"):
        return None
    asset = await ctx.session.scalar(
        select(Asset).where(
            Asset.id == voice, Asset.user_id == ctx.user_id, Asset.kind == AssetKind.voice.value
        )
    )
    if asset is None:
        raise NotFound(f"voice {voice} not found")
    return asset.storage_key
