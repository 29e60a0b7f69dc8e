"""The GPU server's HTTP API: infer, tasks, files and health, all behind one bearer key."""

from __future__ import annotations

import contextlib
import hmac
import re
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import BaseModel, ValidationError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from gpu.engines.base import EngineConfig
from gpu.engines.cache import ModelCache
from gpu.engines.registry import EngineRegistry, EngineUnavailable, UnknownVariant
from gpu.schemas import REQUEST_TYPES, FileInfo, Health, InferKind, TaskCreated, TaskInfo
from gpu.server.files import FileNotFound, FileStore, StoredFile, UnsupportedFile, sniff_type
from gpu.server.settings import GpuServerSettings
from gpu.server.tasks import QueueFull, TaskManager, TaskNotFound

# Set on 503s that mean "this server has no such engine" rather than "try again later".
ENGINE_UNAVAILABLE_HEADER = "X-Skyie-Engine-Unavailable"
# Sent with /infer: the same key returns the same task while it is queued, running or done.
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Comma-separated tokens: "first" on a job's first GPU step (it runs before queued work of jobs
# already under way), "paid" on work of a plan with priority. Unknown tokens are ignored, so
# clients and servers of different versions still understand each other.
PRIORITY_HEADER = "X-Skyie-Priority"
_MULTIPART_SLACK = 1 << 20  # form boundaries and headers on top of the file itself


@dataclass
class ServerState:
    settings: GpuServerSettings
    registry: EngineRegistry
    files: FileStore
    tasks: TaskManager
    cache: ModelCache


class UploadTooLarge(Exception):
    pass


def create_app(settings: GpuServerSettings | None = None) -> FastAPI:
    """The GPU server app. Everything it needs is built here, so it works without lifespan."""
    settings = settings or GpuServerSettings()
    workdir = settings.workdir or Path(tempfile.mkdtemp(prefix="skyie-gpu-"))
    files = FileStore(workdir / "files", settings.file_ttl_s)
    cache = ModelCache(settings.vram_gb, settings.idle_unload_s)
    config = None
    if "gpu" in {name.strip() for name in settings.engines.split(",")}:
        device = settings.resolved_device()
        config = EngineConfig(
            models_dir=settings.models_dir,
            cache=cache,
            device=device,
            dtype="bfloat16" if device == "cuda" else "float32",
            hf_token=settings.hf_token.get_secret_value() if settings.hf_token else None,
            fish_speech_python=settings.fish_speech_python,
            liveportrait_dir=settings.liveportrait_dir,
        )
    state = ServerState(
        settings=settings,
        registry=EngineRegistry(settings.engines, config),
        files=files,
        tasks=TaskManager(
            files,
            workdir / "tasks",
            settings.effective_concurrency(),
            settings.task_ttl_s,
            max_queued=settings.max_queued,
            max_group_wait_s=settings.max_group_wait_s,
            is_loaded=cache.is_loaded,
            on_out_of_memory=cache.unload_all,
            housekeeping=cache.sweep,
        ),
        cache=cache,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        state.tasks.shutdown(wait=False)

    app = FastAPI(
        title="Skyie GPU server",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        dependencies=[Depends(_bearer_auth(settings.api_key.get_secret_value()))],
    )
    app.state.gpu = state
    app.include_router(_routes(state))
    return app


def _bearer_auth(key: str) -> Callable[..., Awaitable[None]]:
    expected = key.encode()

    async def require_key(authorization: str | None = Header(default=None)) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
            raise HTTPException(
                status_code=401,
                detail="missing or wrong API key (send 'Authorization: Bearer <key>')",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return require_key


def _routes(state: ServerState) -> APIRouter:
    router = APIRouter()

    @router.post("/infer/{kind}", status_code=202, response_model=TaskCreated)
    async def infer(kind: str, request: Request) -> TaskCreated:
        try:
            infer_kind = InferKind(kind)
        except ValueError:
            known = ", ".join(k.value for k in InferKind)
            raise HTTPException(404, f"unknown inference kind '{kind}'; known: {known}") from None
        try:
            engine = state.registry.get(infer_kind)
        except EngineUnavailable as exc:
            raise HTTPException(503, str(exc), headers={ENGINE_UNAVAILABLE_HEADER: kind}) from None
        try:
            body = REQUEST_TYPES[infer_kind].model_validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from None
        try:
            state.registry.check_variant(infer_kind, getattr(body, "engine", "auto"))
        except UnknownVariant as exc:
            raise HTTPException(422, str(exc)) from None
        inputs = _pin_inputs(state, body)
        key = request.headers.get(IDEMPOTENCY_HEADER)
        priority = {t.strip() for t in request.headers.get(PRIORITY_HEADER, "").lower().split(",")}
        try:
            task = state.tasks.submit(
                infer_kind,
                body,
                engine,
                inputs,
                state.registry.model(infer_kind),
                key=key,
                first="first" in priority,
                paid="paid" in priority,
            )
        except QueueFull as exc:
            state.files.unpin(list(inputs.values()))
            raise HTTPException(
                503, str(exc), headers={"Retry-After": str(exc.retry_after_s)}
            ) from None
        except BaseException:
            state.files.unpin(list(inputs.values()))
            raise
        if task.inputs is not inputs:  # an earlier submit with this key: its task holds its own
            state.files.unpin(list(inputs.values()))
        return TaskCreated(task_id=task.id)

    @router.get("/tasks/{task_id}", response_model=TaskInfo)
    async def task_info(task_id: str) -> TaskInfo:
        try:
            return state.tasks.info(task_id)
        except TaskNotFound:
            raise HTTPException(404, f"task '{task_id}' not found") from None

    @router.post("/files", status_code=201, response_model=FileInfo)
    async def upload(request: Request) -> FileInfo:
        limit = state.settings.max_upload_mb * 1024 * 1024
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit + _MULTIPART_SLACK:
            raise _too_large(state)
        async with request.form(max_files=1, max_fields=0) as form:
            item = form.get("file")
            if not isinstance(item, UploadFile):
                raise HTTPException(422, "multipart field 'file' with the file content is required")
            file_id, path = state.files.new_path(_safe_suffix(item.filename))
            try:
                await run_in_threadpool(_copy_limited, item.file, path, limit)
                # Engines read media only: the content must be a picture, a sound or a video
                # whatever the upload claims, so nothing else ever reaches a decoder.
                content_type = sniff_type(path)
            except UploadTooLarge:
                path.unlink(missing_ok=True)
                raise _too_large(state) from None
            except UnsupportedFile as exc:
                path.unlink(missing_ok=True)
                raise HTTPException(415, str(exc)) from None
            except BaseException:
                path.unlink(missing_ok=True)  # never a file on disk the store does not know
                raise
        return state.files.add(file_id, path, content_type).info()

    @router.get("/files/{file_id}")
    async def download(file_id: str) -> FileResponse:
        stored = _file(state, file_id)
        # Outputs are fetched once: the file goes away after the response was fully sent.
        return FileResponse(
            stored.path,
            media_type=stored.content_type,
            filename=f"{stored.id}{stored.path.suffix}",
            background=BackgroundTask(_delete_quietly, state.files, file_id),
        )

    @router.delete("/files/{file_id}", status_code=204)
    async def delete(file_id: str) -> Response:
        try:
            state.files.delete(file_id)
        except FileNotFound:
            raise HTTPException(404, f"file '{file_id}' not found") from None
        return Response(status_code=204)

    @router.get("/health", response_model=Health)
    async def health() -> Health:
        queued, running = state.tasks.counts()
        engines = state.registry.health()
        gpu, vram = _gpu()
        return Health(
            ok=any(e.available for e in engines.values()), gpu=gpu, vram_free_gb=vram,
            loaded_models=state.registry.models(), engines=engines, queued=queued, running=running,
            first_step_wait_s=state.tasks.first_step_wait_s(),
        )  # fmt: skip

    return router


def _pin_inputs(state: ServerState, body: BaseModel) -> dict[str, StoredFile]:
    """The request's input files (its `*_file_id` fields), kept until its task ends."""
    refs = {
        name: str(getattr(body, name))
        for name in type(body).model_fields
        if name.endswith("_file_id") and getattr(body, name) is not None
    }
    try:
        pinned = state.files.pin(list(refs.values()))
    except FileNotFound as exc:
        missing = exc.args[0]
        field = next(name for name, file_id in refs.items() if file_id == missing)
        raise HTTPException(
            422, f"input file '{missing}' ({field}) does not exist; upload it first"
        ) from None
    return dict(zip(refs, pinned, strict=True))


def _file(state: ServerState, file_id: str) -> StoredFile:
    try:
        return state.files.get(file_id)
    except FileNotFound:
        raise HTTPException(404, f"file '{file_id}' not found") from None


def _delete_quietly(files: FileStore, file_id: str) -> None:
    # It may be gone already: a DELETE or a second download got there first.
    with contextlib.suppress(FileNotFound):
        files.delete(file_id)


def _too_large(state: ServerState) -> HTTPException:
    return HTTPException(413, f"upload exceeds the {state.settings.max_upload_mb} MB limit")


def _copy_limited(source: IO[bytes], path: Path, limit: int) -> int:
    size = 0
    with path.open("wb") as out:
        while chunk := source.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise UploadTooLarge
            out.write(chunk)
    return size


def _safe_suffix(filename: str | None) -> str:
    """The upload's extension (engines and ffmpeg use it to recognise formats), if it is sane."""
    suffix = Path(filename or "").suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""


def _gpu() -> tuple[str | None, float | None]:
    """The CUDA device and its free memory, when an engine has imported torch; else nothing."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None, None
    free, _total = torch.cuda.mem_get_info()
    return str(torch.cuda.get_device_name(0)), round(free / 1024**3, 2)
