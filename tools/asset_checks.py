"""What an uploaded file really is: sniffed from its bytes, never from its name or headers."""

from __future__ import annotations

import io
import struct
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from core.errors import InvalidInput
from core.models import AssetKind
from core.settings import Settings
from media.ffmpeg import MediaError, MediaInfo, probe, run_ffmpeg

MetaValue = str | int | float | bool | None

MAX_NAME_CHARS = 255
MIN_AVATAR_SIDE = 128
MAX_AVATAR_SIDE = 8192
AVATAR_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
VOICE_SECONDS = (3.0, 120.0)
LABELS = {
    AssetKind.avatar: "avatar image",
    AssetKind.voice: "voice sample",
    AssetKind.video: "video",
}
# Bidirectional overrides make "gpj.exe" display as "exe.jpg": a label must read as it is.
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
_MP4_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"}
_VOICE_CONTAINERS = {
    "wav": ("wav", "audio/wav"),
    "mp3": ("mp3", "audio/mpeg"),
    "ogg": ("ogg", "audio/ogg"),
    "flac": ("flac", "audio/flac"),
    "aac": ("aac", "audio/aac"),
    "mov": ("m4a", "audio/mp4"),
    "matroska": ("webm", "audio/webm"),
}
_WEBM_CODECS = {"vp8", "vp9", "av1", "opus", "vorbis", None}
_TAIL_DECODE_TIMEOUT_S = 120.0


class UnrecognisedMedia(InvalidInput):
    """The bytes are not the kind of file asked for (an executable named .png, say)."""

    status_code = 415
    code = "unsupported_media_type"


@dataclass(frozen=True)
class Checked:
    """A file that passed its checks: the extension and type to store it under, and its facts."""

    ext: str
    content_type: str
    meta: dict[str, MetaValue] = field(default_factory=dict)


def max_bytes(settings: Settings, kind: AssetKind) -> int:
    mb = {
        AssetKind.avatar: settings.max_avatar_mb,
        AssetKind.voice: settings.max_voice_mb,
        AssetKind.video: settings.max_video_mb,
    }[kind]
    return mb * 2**20


def check_file_name(name: str) -> str:
    """A file name is only a display label; one that looks like a path is refused outright."""
    if not name:
        return "upload"
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"file name is {len(name)} characters; at most {MAX_NAME_CHARS}")
    if "/" in name or "\\" in name or ".." in name:
        raise InvalidInput(f"file name {name!r} looks like a path; send a plain name like 'me.png'")
    if any(unicodedata.category(c) == "Cc" or c in _BIDI_CONTROLS for c in name):
        raise InvalidInput(f"file name {name!r} contains control characters")
    return name


def _check_size(size: int, name: str, kind: AssetKind, limit: int) -> None:
    if size == 0:
        raise InvalidInput(f"{LABELS[kind]} {name!r} is empty (0 bytes)")
    if size > limit:
        raise InvalidInput(f"{LABELS[kind]} {name!r} is larger than {limit // 2**20} MB")


def _media_reason(exc: MediaError, path: Path, name: str) -> str:
    """ffmpeg's complaint without the server's temp path in it."""
    text = exc.message.splitlines()[0] if exc.message else "unreadable"
    return text.replace(str(path.resolve()), name).replace(str(path), name)


def _portrait(data: bytes, name: str) -> tuple[str, int, int]:
    try:
        with Image.open(io.BytesIO(data)) as probe_image:
            if max(probe_image.size) > MAX_AVATAR_SIDE:
                w, h = probe_image.size
                raise InvalidInput(
                    f"avatar image {name!r} is {w}x{h}; at most {MAX_AVATAR_SIDE}px a side"
                )
            probe_image.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            fmt, size = image.format, image.size
    except (UnidentifiedImageError, Image.DecompressionBombError, SyntaxError) as exc:
        raise UnrecognisedMedia(
            f"avatar image {name!r} cannot be read as an image ({exc})"
        ) from None
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"avatar image {name!r} cannot be read as an image ({exc})") from None
    if fmt not in AVATAR_FORMATS:
        raise UnrecognisedMedia(f"avatar image {name!r} is {fmt}; use PNG, JPEG or WebP")
    if min(size) < MIN_AVATAR_SIDE:
        raise InvalidInput(
            f"avatar image {name!r} is {size[0]}x{size[1]}; at least {MIN_AVATAR_SIDE}px a side"
        )
    return AVATAR_FORMATS[fmt], size[0], size[1]


def check_portrait(data: bytes, name: str, *, limit: int) -> str:
    """Return the file extension of a usable portrait, or raise naming what is wrong with it."""
    _check_size(len(data), name, AssetKind.avatar, limit)
    return _portrait(data, name)[0]


def check_avatar(path: Path, name: str, *, limit: int) -> Checked:
    _check_size(path.stat().st_size, name, AssetKind.avatar, limit)
    ext, width, height = _portrait(path.read_bytes(), name)
    content_type = f"image/{'jpeg' if ext == 'jpg' else ext}"
    return Checked(ext, content_type, {"width": width, "height": height})


def _head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(16)


def _is_mp4(head: bytes) -> bool:
    return head[4:8] in _MP4_BOXES


def _is_matroska(head: bytes) -> bool:
    return head.startswith(b"\x1a\x45\xdf\xa3")


def _is_audio(head: bytes) -> bool:
    return (
        (head.startswith((b"RIFF", b"RF64")) and head[8:12] == b"WAVE")
        or head.startswith((b"ID3", b"OggS", b"fLaC"))
        or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)  # MPEG/ADTS sync
        or _is_mp4(head)
        or _is_matroska(head)
    )


def _probe(path: Path, name: str, kind: AssetKind) -> MediaInfo:
    try:
        return probe(path)
    except MediaError as exc:
        reason = _media_reason(exc, path, name)
        what = "a recording" if kind is AssetKind.voice else "a readable video"
        raise InvalidInput(f"{LABELS[kind]} {name!r} is not {what} ({reason})") from None


def check_voice(path: Path, name: str, *, limit: int) -> Checked:
    _check_size(path.stat().st_size, name, AssetKind.voice, limit)
    # Only known audio containers reach ffmpeg: a playlist or a text file never does.
    if not _is_audio(_head(path)):
        raise UnrecognisedMedia(
            f"voice sample {name!r} is not a recording: send WAV, MP3, OGG, FLAC, M4A or WebM"
        )
    info = _probe(path, name, AssetKind.voice)
    low, high = VOICE_SECONDS
    if not info.has_audio or not low <= info.duration_s <= high:
        # Two decimals: 2.96 s shown as "3.0 s" would read as inside the range it is refused by.
        raise InvalidInput(
            f"voice sample {name!r} must be {low:.0f}-{high:.0f} s of audio "
            f"(it is {info.duration_s:.2f} s{'' if info.has_audio else ', with no sound'})"
        )
    container = info.format_name.split(",")[0]
    if container not in _VOICE_CONTAINERS:
        raise UnrecognisedMedia(f"voice sample {name!r} is {container} audio; use WAV or MP3")
    ext, content_type = _VOICE_CONTAINERS[container]
    meta: dict[str, MetaValue] = {
        "duration_s": round(info.duration_s, 2),
        "audio_codec": info.audio_codec,
        "sample_rate": info.sample_rate,
        "channels": info.channels,
    }
    return Checked(ext, content_type, meta)


def mp4_shortfall(path: Path) -> tuple[str, int] | None:
    """The top-level box that runs past the end of the file and how many bytes it lacks."""
    size = path.stat().st_size
    offset = 0
    with path.open("rb") as f:
        while offset < size:
            f.seek(offset)
            header = f.read(16)
            if len(header) < 8:
                return "header", 8 - len(header)
            box_size, box_type = struct.unpack(">I4s", header[:8])
            if box_size == 1:
                if len(header) < 16:
                    return box_type.decode("latin-1"), 16 - len(header)
                box_size = struct.unpack(">Q", header[8:16])[0]
            elif box_size == 0:  # "to the end of the file"
                return None
            if box_size < 8:
                return box_type.decode("latin-1"), 8
            if offset + box_size > size:
                return box_type.decode("latin-1"), offset + box_size - size
            offset += box_size
    return None


def _video_type(info: MediaInfo, head: bytes) -> tuple[str, str]:
    if _is_mp4(head):
        if head[8:12] == b"qt  ":
            return "mov", "video/quicktime"
        return "mp4", "video/mp4"
    if info.video_codec in _WEBM_CODECS and info.audio_codec in _WEBM_CODECS:
        return "webm", "video/webm"
    return "mkv", "video/x-matroska"


def check_video(path: Path, name: str, *, limit: int) -> Checked:
    _check_size(path.stat().st_size, name, AssetKind.video, limit)
    head = _head(path)
    if not (_is_mp4(head) or _is_matroska(head)):
        raise UnrecognisedMedia(f"video {name!r} is not an MP4, MOV or WebM video")
    if _is_mp4(head) and (short := mp4_shortfall(path)) is not None:
        box, missing = short
        raise InvalidInput(
            f"video {name!r} is truncated: its {box!r} box runs {missing} bytes past the end "
            "of the file (the upload or the export was cut short)"
        )
    info = _probe(path, name, AssetKind.video)
    if not info.has_video or info.is_still_image:
        raise UnrecognisedMedia(f"video {name!r} has no moving picture in it")
    if info.duration_s <= 0:
        raise InvalidInput(f"video {name!r} has no duration")
    # A file cut short can still have a whole header: decoding its last second finds the gap.
    try:
        decoded = run_ffmpeg(
            ["-xerror", "-sseof", "-1", "-i", str(path.resolve()), "-f", "null", "-"],
            timeout_s=_TAIL_DECODE_TIMEOUT_S,
            what="decoding the end",
        )
    except MediaError:
        decoded = 0.0
    if decoded <= 0:
        raise InvalidInput(
            f"video {name!r} is truncated or damaged: its last second does not decode"
        )
    ext, content_type = _video_type(info, head)
    meta: dict[str, MetaValue] = {
        "duration_s": round(info.duration_s, 2),
        "width": info.width,
        "height": info.height,
        "fps": round(info.fps, 3),
        "video_codec": info.video_codec,
        "audio_codec": info.audio_codec,
    }
    return Checked(ext, content_type, meta)


CHECKS = {
    AssetKind.avatar: check_avatar,
    AssetKind.voice: check_voice,
    AssetKind.video: check_video,
}
