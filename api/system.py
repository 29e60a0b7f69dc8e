"""Operational routes: liveness, readiness, the GPU badge."""

from __future__ import annotations

import asyncio
import time
from enum import StrEnum
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from api.deps import AppSettings, CurrentUser
from api.errors import ERRORS
from core.db import get_database
from core.logging import get_logger
from core.settings import EMBEDDED, Settings
from jobs.steps import make_gpu_client

log = get_logger("api.system")
router = APIRouter(tags=["system"])
GPU_CHECK_TIMEOUT_S = 3.0
GPU_STATUS_TTL_S = 10.0


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, str] = Field(description="Each dependency: 'ok' or what is wrong.")


class GpuState(StrEnum):
    online = "online"
    offline = "offline"
    starting = "starting"


class GpuStatus(BaseModel):
    state: GpuState
    gpu: str | None = Field(default=None, description="The GPU's name; None on a CPU host.")
    engines: list[str] = Field(default_factory=list, description="Engines that can run now.")
    voice_engines: list[str] = Field(
        default_factory=list, description="Speech engines a request may pick (voice_engine)."
    )
    queued: int = 0
    running: int = 0
    message: str = ""


@router.get("/healthz")
async def healthz() -> Health:
    """The process is up (liveness)."""
    return Health()


async def _check_database() -> str:
    async with get_database().session() as session:
        await session.execute(text("SELECT 1"))
    return "ok"


def _check_redis(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def _check_storage(settings: Settings, request: Request) -> str:
    root = request.app.state.storage.root
    probe = root / ".ready"
    probe.write_bytes(b"ok")
    probe.unlink()
    return "ok"


@router.get("/readyz", responses={503: {"model": Readiness}})
async def readyz(request: Request, settings: AppSettings) -> JSONResponse:
    """Every dependency answers: the database, the broker, the event bus, file storage."""
    checks: dict[str, str] = {}

    async def run(name: str, probe: object) -> None:
        try:
            if asyncio.iscoroutine(probe):
                checks[name] = await asyncio.wait_for(probe, 5)
            else:
                checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"failed: {type(exc).__name__}: {exc}"[:300]

    await run("database", _check_database())
    for name, url in (("broker", settings.broker), ("events", settings.events)):
        if url != EMBEDDED:
            await run(name, asyncio.to_thread(_check_redis, url))
    await run("storage", asyncio.to_thread(_check_storage, settings, request))
    ready = all(v == "ok" for v in checks.values())
    body = Readiness(ready=ready, checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


class _GpuCache:
    def __init__(self) -> None:
        self.value: GpuStatus | None = None
        self.at = 0.0
        self.lock = asyncio.Lock()


async def _probe_gpu(settings: Settings) -> GpuStatus:
    client = make_gpu_client(settings)
    client.retries = 0
    try:
        health = await asyncio.wait_for(client.health(), GPU_CHECK_TIMEOUT_S)
    except Exception as exc:
        log.info("gpu.status_offline", error=str(exc))
        return GpuStatus(state=GpuState.offline, message="the GPU server is not answering")
    finally:
        await client.aclose()
    engines = sorted(name for name, e in health.engines.items() if e.available)
    tts = health.engines.get("tts")
    return GpuStatus(
        voice_engines=tts.variants if tts else [],
        state=GpuState.online if health.ok else GpuState.offline,
        gpu=health.gpu,
        engines=engines,
        queued=health.queued,
        running=health.running,
        message="" if health.ok else "no engine can run on the GPU server",
    )


@router.get("/v1/gpu/status", responses=ERRORS)
async def gpu_status(request: Request, settings: AppSettings, principal: CurrentUser) -> GpuStatus:
    """For the GPU badge: online, offline or starting. Checked at most every 10 s."""
    cache: _GpuCache = request.app.state.gpu_cache
    async with cache.lock:
        if cache.value is None or time.monotonic() - cache.at > GPU_STATUS_TTL_S:
            cache.value = await _probe_gpu(settings)
            cache.at = time.monotonic()
        return cache.value


def gpu_cache() -> _GpuCache:
    return _GpuCache()
