"""Thread-safe store of the server's files (uploads and task outputs) with ids and expiry."""

from __future__ import annotations

import mimetypes
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from gpu.schemas import FileInfo


class FileNotFound(KeyError):
    """No file with this id (never stored, deleted, downloaded or expired)."""


@dataclass
class StoredFile:
    id: str
    path: Path
    size: int
    content_type: str
    created: float
    pins: int = 0  # queued or running tasks that read it
    doomed: bool = False  # delete once the last pin is released

    def info(self) -> FileInfo:
        return FileInfo(file_id=self.id, size=self.size, content_type=self.content_type)


class FileStore:
    """Files under `root`, indexed in memory; a plain lock makes it safe from any thread."""

    def __init__(self, root: Path, ttl_s: float) -> None:
        self.root = root
        # Files of a previous process are unreachable (their ids were in memory): clear them.
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)
        self.ttl_s = ttl_s
        self._files: dict[str, StoredFile] = {}
        self._lock = threading.Lock()

    def new_path(self, suffix: str = "") -> tuple[str, Path]:
        """A fresh id and the path its content should be written to."""
        file_id = f"f_{uuid.uuid4().hex}"
        return file_id, self.root / f"{file_id}{suffix}"

    def add(self, file_id: str, path: Path, content_type: str | None = None) -> StoredFile:
        """Register a file already written at `path` (inside the store's root)."""
        guessed = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        stored = StoredFile(file_id, path, path.stat().st_size, guessed, time.monotonic())
        with self._lock:
            self._files[file_id] = stored
        self.prune()
        return stored

    def adopt(self, source: Path) -> StoredFile:
        """Move an engine's output into the store under a new id."""
        file_id, path = self.new_path(source.suffix)
        shutil.move(source, path)
        return self.add(file_id, path)

    def get(self, file_id: str) -> StoredFile:
        with self._lock:
            stored = self._files.get(file_id)
        if stored is None or stored.doomed:
            raise FileNotFound(file_id)
        return stored

    def exists(self, file_id: str) -> bool:
        with self._lock:
            stored = self._files.get(file_id)
        return stored is not None and not stored.doomed

    def pin(self, file_ids: list[str]) -> list[StoredFile]:
        """Keep these files while a task needs them; all must exist."""
        with self._lock:
            found = [self._files.get(i) for i in file_ids]
            missing = [i for i, f in zip(file_ids, found, strict=True) if f is None or f.doomed]
            if missing:
                raise FileNotFound(missing[0])
            pinned = [f for f in found if f is not None]
            for stored in pinned:
                stored.pins += 1
        return pinned

    def unpin(self, files: list[StoredFile]) -> None:
        doomed = []
        with self._lock:
            for stored in files:
                stored.pins -= 1
                if stored.doomed and stored.pins == 0:
                    self._files.pop(stored.id, None)
                    doomed.append(stored)
        for stored in doomed:
            stored.path.unlink(missing_ok=True)

    def delete(self, file_id: str) -> None:
        """Forget a file and remove it from disk (later, if a running task still reads it)."""
        with self._lock:
            stored = self._files.get(file_id)
            if stored is None or stored.doomed:
                raise FileNotFound(file_id)
            if stored.pins:
                stored.doomed = True
                return
            del self._files[file_id]
        stored.path.unlink(missing_ok=True)

    def prune(self) -> None:
        """Delete unpinned files older than the TTL."""
        cutoff = time.monotonic() - self.ttl_s
        with self._lock:
            old = [f for f in self._files.values() if f.created < cutoff and not f.pins]
            for stored in old:
                del self._files[stored.id]
        for stored in old:
            stored.path.unlink(missing_ok=True)


class UnsupportedFile(ValueError):
    """An upload that is not a picture, a sound or a video the engines can read."""


# Leading bytes of the media the engines accept: (offset, signature, content type).
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"fLaC", "audio/flac"),
    (0, b"OggS", "audio/ogg"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),  # Matroska / WebM
)
_RIFF = {b"WAVE": "audio/wav", b"WEBP": "image/webp", b"AVI ": "video/x-msvideo"}
# ISO base media (MP4, MOV, M4A): "ftyp" at offset 4, then the brand.
_AUDIO_BRANDS = (b"M4A ", b"M4B ")


def sniff_type(path: Path) -> str:
    """The content type of a media file judged by its leading bytes (never by its name), or
    UnsupportedFile saying what was expected."""
    with path.open("rb") as source:
        head = source.read(16)
    if not head:
        raise UnsupportedFile("the upload is empty")
    for offset, signature, content_type in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return content_type
    # BMP: "BM", then the file's size (little-endian) and four reserved zero bytes.
    bmp_size = int.from_bytes(head[2:6], "little")
    if head[:2] == b"BM" and head[6:10] == b"\0\0\0\0" and bmp_size == path.stat().st_size:
        return "image/bmp"
    if head[:4] == b"RIFF" and head[8:12] in _RIFF:
        return _RIFF[head[8:12]]
    if head[4:8] == b"ftyp":
        if head[8:12] in _AUDIO_BRANDS:
            return "audio/mp4"
        return "video/quicktime" if head[8:12] == b"qt  " else "video/mp4"
    # MPEG audio frames without an ID3 tag start with an 11-bit sync word.
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "audio/mpeg"
    raise UnsupportedFile(
        "the upload is not a supported picture, sound or video (PNG, JPEG, WebP, GIF, BMP, "
        "WAV, MP3, FLAC, Ogg, M4A, MP4, MOV, WebM or AVI)"
    )
