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
