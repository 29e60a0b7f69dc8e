"""Multipart uploads read as a stream: the file part is spooled to disk and cut off at its limit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from fastapi import Request
from python_multipart.exceptions import ParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from core.errors import InvalidInput, PayloadTooLarge, UnsupportedMedia
from tools.asset_checks import check_file_name

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FILE_FIELD = "file"
MAX_PARTS = 16
MAX_FIELD_BYTES = 1024
# Room for boundaries, part headers and small fields around the file: a Content-Length beyond
# limit + this cannot be a file within the limit, so it is refused before a byte is read.
ENVELOPE_BYTES = 1024 * 1024


@dataclass
class Upload:
    """A received file: where it is spooled, the sender's name for it, and the small fields."""

    path: Path
    name: str
    size: int
    fields: dict[str, str] = field(default_factory=dict)


class _Parts:
    """python_multipart callbacks: the file part goes to disk, the wanted fields to memory."""

    def __init__(self, spool: BinaryIO, *, what: str, limit: int, fields: Collection[str]) -> None:
        self.spool = spool
        self.what = what
        self.limit = limit
        self.wanted = set(fields)
        self.parts = 0
        self.size = 0
        self.name: str | None = None
        self.fields: dict[str, str] = {}
        self.finished = False
        self._headers: dict[bytes, bytes] = {}
        self._header = b""
        self._value = b""
        self._target: str | None = None
        self._buffer = bytearray()

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_end": self.end,
        }

    def part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise InvalidInput(f"the form has more than {MAX_PARTS} parts")
        self._headers, self._target, self._buffer = {}, None, bytearray()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def header_end(self) -> None:
        self._headers[self._header.strip().lower()] = self._value.strip()
        self._header = self._value = b""

    def headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get(b"content-disposition"))
        if disposition != b"form-data" or b"name" not in options:
            raise InvalidInput(
                "every part of the form needs 'Content-Disposition: form-data; name=…'"
            )
        name = _text(options[b"name"], "a form field name")
        if name == FILE_FIELD:
            if self.name is not None:
                raise InvalidInput(f"send one {self.what} per upload")
            # The name is checked as soon as it arrives, before any of the file is written.
            self.name = check_file_name(_text(options.get(b"filename", b""), "the file name"))
        self._target = name

    def part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._target == FILE_FIELD:
            self.size += len(chunk)
            if self.size > self.limit:
                raise PayloadTooLarge(
                    f"{self.what} is larger than the {self.limit // 2**20} MB limit"
                )
            self.spool.write(chunk)
        elif self._target in self.wanted:
            self._buffer += chunk
            if len(self._buffer) > MAX_FIELD_BYTES:
                raise InvalidInput(f"form field {self._target!r} is too long")
        # Any other field is read past and dropped.

    def part_end(self) -> None:
        if self._target in self.wanted:
            self.fields[self._target] = _text(bytes(self._buffer), f"field {self._target!r}")

    def end(self) -> None:
        self.finished = True


def _text(raw: bytes, what: str) -> str:
    # Header parameters arrive as latin-1 bytes; browsers and curl send UTF-8 in them.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{what} is not valid UTF-8") from None


def _boundary(request: Request) -> bytes:
    content_type, options = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data":
        raise UnsupportedMedia(
            "send the file as multipart/form-data, in a part named 'file'"
            f" (the request is {content_type.decode('latin-1') or 'untyped'})"
        )
    boundary = options.get(b"boundary", b"")
    if not 1 <= len(boundary) <= 200:
        raise InvalidInput("the multipart/form-data content type needs a boundary (1-200 chars)")
    return boundary


@asynccontextmanager
async def receive_upload(
    request: Request, *, what: str, limit: int, spool_dir: Path, fields: Collection[str] = ()
) -> AsyncIterator[Upload]:
    """Read the request body as it arrives; the spooled file is removed on the way out, whatever
    happens (a caller that keeps it moves it away first)."""
    boundary = _boundary(request)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + ENVELOPE_BYTES:
        raise PayloadTooLarge(f"{what} is larger than the {limit // 2**20} MB limit")
    spool_dir.mkdir(parents=True, exist_ok=True)
    path = spool_dir / f"upload-{uuid.uuid4().hex}.part"
    try:
        with path.open("wb") as spool:
            parts = _Parts(spool, what=what, limit=limit, fields=fields)
            parser = MultipartParser(boundary, parts.callbacks())
            received = 0
            try:
                async for chunk in request.stream():
                    # The whole body counts, not only the file part: other parts must not
                    # keep a connection busy for ever (chunked uploads declare no length).
                    received += len(chunk)
                    if received > limit + ENVELOPE_BYTES:
                        raise PayloadTooLarge(
                            f"{what} is larger than the {limit // 2**20} MB limit"
                        )
                    parser.write(chunk)
                parser.finalize()
            except ParseError as exc:
                raise InvalidInput(f"the multipart/form-data body is malformed ({exc})") from None
            except ClientDisconnect:
                raise InvalidInput("the upload was interrupted before it finished") from None
        if not parts.finished:
            raise InvalidInput("the multipart/form-data body ended before its closing boundary")
        if parts.name is None:
            raise InvalidInput(f"no file sent: put the {what} in a form part named 'file'")
        yield Upload(path=path, name=parts.name, size=parts.size, fields=parts.fields)
    finally:
        path.unlink(missing_ok=True)
