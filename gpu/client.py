"""The app's client for the GPU server: submit, poll, upload and download, with retries."""

from __future__ import annotations

import asyncio
import mimetypes
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from pydantic import BaseModel

from gpu.schemas import REQUEST_TYPES, FileInfo, Health, InferKind, TaskInfo, TaskResult, TaskState

# Kept in step with gpu.server.app, which this module must not import at load time.
_ENGINE_UNAVAILABLE_HEADER = "X-Skyie-Engine-Unavailable"
_PRIORITY_HEADER = "X-Skyie-Priority"  # comma-separated tokens: "first", "paid"
_RETRY_STATUS = frozenset({500, 502, 503, 504})
# How long a task of each kind may take once submitted (queue included): a Wan 2.2 clip at the
# quality preset runs for many minutes, a line of speech for seconds.
TASK_TIMEOUTS_S: dict[InferKind, float] = {
    InferKind.tts: 600,
    InferKind.image: 600,
    InferKind.caption: 900,
    InferKind.music: 1800,
    InferKind.lipsync: 1800,
    InferKind.s2v: 1800,
    InferKind.t2v: 3600,
    InferKind.i2v: 3600,
    InferKind.ti2v: 3600,
    InferKind.animate: 3600,
}


class GpuError(Exception):
    """Base of the GPU client's errors."""


class GpuUnavailable(GpuError):
    """The GPU server cannot be reached, keeps failing, or has no engine for the request."""


class GpuTimeout(GpuError):
    """A task ran past its time limit; another attempt may finish."""


class GpuTaskFailed(GpuError):
    """A task ran and failed (or never finished in time); the message says why."""


class GpuRequestError(GpuError):
    """The server refused the request as invalid (4xx); retrying the same request will not help."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class GpuClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        poll_interval_s: float = 0.1,
        task_timeout_s: float | None = None,
        retries: int = 3,
        backoff_s: float = 0.2,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.backoff_s = backoff_s
        self.poll_interval_s = poll_interval_s
        self.task_timeout_s = task_timeout_s  # None: per kind, from TASK_TIMEOUTS_S
        self.retries = retries
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            transport=transport,
            timeout=httpx.Timeout(60.0, connect=10.0),
        )

    async def health(self) -> Health:
        response = await self._request("GET", "/health")
        return Health.model_validate_json(response.content)

    async def upload(self, path: Path) -> str:
        """Upload a local file; returns its file id on the server."""
        if not path.is_file():
            raise FileNotFoundError(f"cannot upload {path}: no such file")
        response = await self._request("POST", "/files", upload=path)
        return FileInfo.model_validate_json(response.content).file_id

    async def submit(
        self,
        kind: InferKind,
        request: BaseModel,
        key: str | None = None,
        first: bool = False,
        paid: bool = False,
    ) -> str:
        """Queue an inference task; returns its task id. With a `key` (say, the step's content
        key), submitting again after a restart returns the task already under way. `first`
        marks a job's first GPU step, which the server runs ahead of work already under way;
        `paid` marks work of a plan with priority, which runs ahead of other plans' work."""
        kind = InferKind(kind)
        expected = REQUEST_TYPES[kind]
        if not isinstance(request, expected):
            raise TypeError(f"{kind} needs a {expected.__name__}, got {type(request).__name__}")
        priority = ", ".join(token for token, on in (("first", first), ("paid", paid)) if on)
        response = await self._request(
            "POST",
            f"/infer/{kind.value}",
            json=request.model_dump(mode="json"),
            headers={
                **({"Idempotency-Key": key} if key else {}),
                **({_PRIORITY_HEADER: priority} if priority else {}),
            },
        )
        task_id = response.json().get("task_id")
        if not isinstance(task_id, str):
            raise GpuError(f"GPU server answered {kind} without a task id: {response.text[:200]}")
        return task_id

    async def wait(
        self, task_id: str, on_progress: Callable[[float], None] | None = None
    ) -> TaskInfo:
        """Poll until the task ends; raises GpuTaskFailed when it failed, GpuTimeout when it ran
        past its kind's time limit (or the client's `task_timeout_s`, when set)."""
        started = time.monotonic()
        last = -1.0
        while True:
            try:
                response = await self._request("GET", f"/tasks/{task_id}")
            except GpuRequestError as exc:
                if exc.status_code == 404:
                    # A restarted or pre-empted server forgets its tasks: the work is lost,
                    # not wrong, so the caller waits for the GPU and submits it again.
                    raise GpuUnavailable(
                        f"task {task_id} is unknown to the GPU server (it may have restarted)"
                    ) from exc
                raise
            info = TaskInfo.model_validate_json(response.content)
            if on_progress is not None and info.progress != last:
                last = info.progress
                on_progress(info.progress)
            if info.state is TaskState.succeeded:
                return info
            if info.state is TaskState.failed:
                raise GpuTaskFailed(
                    f"{info.kind} task {task_id} failed: {info.error or 'no reason given'}"
                )
            limit = self.task_timeout_s or TASK_TIMEOUTS_S.get(info.kind, 900.0)
            if time.monotonic() - started > limit:
                raise GpuTimeout(
                    f"{info.kind} task {task_id} did not finish within {limit:.0f} s "
                    f"(state {info.state}, progress {info.progress:.0%})"
                )
            await asyncio.sleep(self.poll_interval_s)

    async def infer(
        self,
        kind: InferKind,
        request: BaseModel,
        on_progress: Callable[[float], None] | None = None,
        key: str | None = None,
        first: bool = False,
        paid: bool = False,
    ) -> TaskResult:
        """Submit a task and wait for its result (`key`, `first`, `paid`: see `submit`)."""
        info = await self.wait(await self.submit(kind, request, key, first, paid), on_progress)
        if info.result is None:
            raise GpuTaskFailed(f"{info.kind} task {info.id} succeeded without a result")
        return info.result

    async def download(self, file_id: str, dest: Path) -> Path:
        """Stream a file to `dest`, written atomically (a partial file never appears there)."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(self.retries + 1):
            tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
            try:
                async with self._http.stream("GET", f"/files/{file_id}") as response:
                    failed = response.status_code >= 400
                    if failed:
                        await response.aread()
                        if response.status_code == 404:
                            # Outputs are deleted once fetched: a download cut off after the
                            # last byte finds it gone. The work is lost, not wrong, so the
                            # caller waits and runs the step again, as for a restarted server.
                            raise GpuUnavailable(
                                f"output file {file_id} is no longer on the GPU server "
                                "(fetched already, or expired)"
                            )
                        self._raise_for(response, attempt)  # raises unless worth a retry
                    else:
                        with tmp.open("wb") as out:
                            # Local disk writes are short; they need no thread of their own.
                            async for chunk in response.aiter_bytes(1 << 20):
                                out.write(chunk)
                if not failed:
                    os.replace(tmp, dest)
                    return dest
                await self._backoff(attempt)
            except httpx.TransportError as exc:
                self._give_up_or_wait(exc, attempt, f"download of {file_id}")
                await self._backoff(attempt)
            finally:
                tmp.unlink(missing_ok=True)
        raise GpuUnavailable(f"download of {file_id} failed after {self.retries + 1} attempts")

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> GpuClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        upload: Path | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One call with retries (backoff) on connection errors and 5xx answers."""
        for attempt in range(self.retries + 1):
            try:
                if upload is not None:
                    with upload.open("rb") as handle:
                        kind = mimetypes.guess_type(upload.name)[0] or "application/octet-stream"
                        files = {"file": (upload.name, handle, kind)}
                        response = await self._http.request(method, url, files=files)
                else:
                    response = await self._http.request(method, url, json=json, headers=headers)
            except httpx.TransportError as exc:
                self._give_up_or_wait(exc, attempt, f"{method} {url}")
                await self._backoff(attempt)
                continue
            if response.status_code < 400:
                return response
            self._raise_for(response, attempt)
            await self._backoff(attempt, _retry_after(response))
        raise GpuUnavailable(f"{method} {url} failed after {self.retries + 1} attempts")

    def _raise_for(self, response: httpx.Response, attempt: int) -> None:
        """Raise for an error answer unless it is worth another attempt."""
        detail = _detail(response)
        where = f"{response.request.method} {response.request.url.path}"
        if response.headers.get(_ENGINE_UNAVAILABLE_HEADER):
            raise GpuUnavailable(f"GPU server: {detail}")
        if response.status_code in _RETRY_STATUS:
            if attempt >= self.retries:
                raise GpuUnavailable(
                    f"GPU server error {response.status_code} on {where}: {detail}"
                )
            return
        if response.status_code == 401:
            raise GpuRequestError(f"GPU server rejected the API key: {detail}", 401)
        raise GpuRequestError(
            f"GPU server refused {where} ({response.status_code}): {detail}", response.status_code
        )

    def _give_up_or_wait(self, exc: httpx.TransportError, attempt: int, what: str) -> None:
        if attempt >= self.retries:
            raise GpuUnavailable(
                f"GPU server at {self.base_url} unreachable ({what}): {exc!r}"
            ) from exc

    async def _backoff(self, attempt: int, retry_after_s: float = 0.0) -> None:
        # A server that says when to come back (a full queue) is believed, within reason.
        await asyncio.sleep(max(min(self.backoff_s * 2**attempt, 5.0), min(retry_after_s, 30.0)))


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else 0.0


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    detail = body.get("detail", body) if isinstance(body, dict) else body
    return detail if isinstance(detail, str) else str(detail)[:500]


_embedded: httpx.AsyncBaseTransport | None = None
_embedded_lock = threading.Lock()


def embedded_transport() -> httpx.AsyncBaseTransport:
    """The in-process GPU server (lite engines, settings from SKYIE_GPU_* variables) as an
    httpx transport; one app per process, safe to use from several event loops at once."""
    global _embedded
    with _embedded_lock:
        if _embedded is None:
            from gpu.server import create_app

            app = create_app()
            # Build the middleware stack now so concurrent first requests do not race to do it.
            app.middleware_stack = app.build_middleware_stack()
            # App errors become 500 answers (which the client retries) rather than exceptions.
            _embedded = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        return _embedded
