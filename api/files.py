"""File downloads that honour HTTP Range and answer a bad Range in the API's error shape."""

from __future__ import annotations

import os

from starlette.datastructures import Headers
from starlette.responses import FileResponse, MalformedRangeHeader, RangeNotSatisfiable
from starlette.types import Receive, Scope, Send

from api.errors import error_response


class RangeFileResponse(FileResponse):
    """Starlette's FileResponse (206 for a Range, multi-range, If-Range), except that a
    malformed or unsatisfiable Range gets the JSON error every other route gives."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        http_range = Headers(scope=scope).get("range")
        if http_range is not None and scope.get("method", "GET").upper() in ("GET", "HEAD"):
            size = os.stat(self.path).st_size
            try:
                self._parse_range_header(http_range, size)
            except MalformedRangeHeader as exc:
                message = f"the Range header {http_range!r} is malformed ({exc.content})"
                await error_response(400, "bad_range", message)(scope, receive, send)
                return
            except RangeNotSatisfiable:
                response = error_response(
                    416,
                    "range_not_satisfiable",
                    f"the Range {http_range!r} lies outside the file's {size} bytes",
                    headers={"Content-Range": f"bytes */{size}"},
                )
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
