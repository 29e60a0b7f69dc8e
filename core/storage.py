"""Local file storage: step artifacts by content key and user assets, every write atomic."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

META = "meta.json"


class Storage:
    """A directory tree; an artifact is a folder that appears whole (renamed in) or not at all."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.tmp = self.root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    # -- artifacts ---------------------------------------------------------------------------
    def artifact_dir(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError(f"bad content key {key!r}")
        return self.root / "artifacts" / key[:2] / key

    def has_artifact(self, key: str) -> bool:
        return (self.artifact_dir(key) / META).is_file()

    def scratch(self) -> Path:
        """A fresh private folder to build an artifact in, on the same filesystem as the store."""
        return Path(tempfile.mkdtemp(dir=self.tmp))

    def commit_artifact(self, key: str, scratch: Path, meta: dict[str, Any]) -> Path:
        """Move a scratch folder into place as artifact `key`. If another worker got there first,
        theirs wins and ours is discarded: both were made from the same inputs."""
        (scratch / META).write_text(json.dumps(meta, sort_keys=True))
        # Durable before visible: after a power cut an artifact is whole or absent, never a
        # valid meta.json beside a truncated video that would be reused forever.
        for path in scratch.iterdir():
            if path.is_file():
                _fsync(path)
        _fsync(scratch)
        final = self.artifact_dir(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(scratch, final)
        except OSError:
            if not self.has_artifact(key):
                # A half-written folder from a crash cannot exist (rename is atomic), but an
                # unrelated empty dir could: replace it.
                shutil.rmtree(final, ignore_errors=True)
                os.rename(scratch, final)
            else:
                shutil.rmtree(scratch, ignore_errors=True)
        return final

    def artifact_meta(self, key: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.artifact_dir(key) / META).read_text())
        return data

    def artifact_file(self, key: str, name: str) -> Path:
        path = self.artifact_dir(key) / name
        if not path.is_file():
            raise FileNotFoundError(f"artifact {key} has no file {name!r}")
        return path

    # -- plain files -------------------------------------------------------------------------
    def path(self, storage_key: str) -> Path:
        path = (self.root / storage_key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"storage key {storage_key!r} escapes the store")
        return path

    def put_file(self, storage_key: str, source: Path) -> Path:
        """Copy `source` to `storage_key` atomically (temp file + rename)."""
        dest = self.path(storage_key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.tmp / f"{uuid.uuid4().hex}.part"
        shutil.copyfile(source, tmp)
        os.replace(tmp, dest)
        return dest

    def put_bytes(self, storage_key: str, data: bytes) -> Path:
        dest = self.path(storage_key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.tmp / f"{uuid.uuid4().hex}.part"
        tmp.write_bytes(data)
        os.replace(tmp, dest)
        return dest


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_stores: dict[Path, Storage] = {}


def get_storage(root: Path | None = None) -> Storage:
    from core.settings import get_settings

    root = (root or get_settings().storage_dir).resolve()
    if root not in _stores:
        _stores[root] = Storage(root)
    return _stores[root]
