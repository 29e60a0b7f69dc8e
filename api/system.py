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
from gpu.client import GpuClient
from gpu.pods import HostStatus
from gpu.schemas import Health as GpuHealth
from jobs.gpu_host import health_clients, on_demand_state

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
    standby = "standby"


class GpuStatus(BaseModel):
    state: GpuState = Field(
        description="online: GPU steps run now; starting: the GPU is on its way up "
        "(ready_eta_s); standby: an on-demand GPU that is stopped and starts when a video needs "
        "it; offline: the GPU server cannot be reached (videos wait until it is back)."
    )
    gpu: str | None = Field(default=None, description="The GPU's name; None on a CPU host.")
    engines: list[str] = Field(default_factory=list, description="Engines that can run now.")
    voice_engines: list[str] = Field(
        default_factory=list, description="Speech engines a request may pick (voice_engine)."
    )
    queued: int = 0
    running: int = 0
    ready_eta_s: float | None = Field(
        default=None,
        description="Expected seconds until the GPU is ready: while starting, the rest of the "
        "start; on standby, how long a start takes. None when online or unknown.",
    )
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
    """An on-demand GPU (RunPod) from its shared state, which starts nothing; a fixed one (a GPU
    server's URL, the in-process lite server) by asking its /health."""
    try:
        state = await asyncio.wait_for(on_demand_state(settings), GPU_CHECK_TIMEOUT_S)
    except TimeoutError:
        log.warning("gpu.status_state_timeout")
        return GpuStatus(state=GpuState.offline, message="the GPU's state cannot be read now")
    except ValueError as exc:  # the GPU host settings (SKYIE_GPU_HOST, SKYIE_RUNPOD_*) are wrong
        log.error("gpu.status_misconfigured", error=str(exc))
        return GpuStatus(state=GpuState.offline, message="the GPU host is not configured")
    if state is None:
        return await _probe_fixed(health_clients(settings)[0])
    if state.status is HostStatus.ready:
        return await _ready_pods(health_clients(settings))
    eta = state.ready_eta_s
    if state.status is HostStatus.starting:
        return GpuStatus(
            state=GpuState.starting,
            ready_eta_s=eta,
            message=f"the GPU is starting: ready in about {_about(eta)}"
            if eta is not None
            else "the GPU is starting",
        )
    if eta is None:
        # No estimate means the pods' shared state could not be read (Redis is down).
        log.warning("gpu.status_state_unknown", detail=state.detail)
        return GpuStatus(state=GpuState.offline, message="the GPU's state cannot be read now")
    return GpuStatus(
        state=GpuState.standby,
        ready_eta_s=eta,
        message=f"the GPU is on standby: it starts when a video needs it, "
        f"which takes about {_about(eta)}",
    )


async def _health(client: GpuClient) -> GpuHealth:
    client.retries = 0
    try:
        return await asyncio.wait_for(client.health(), GPU_CHECK_TIMEOUT_S)
    finally:
        await client.aclose()


async def _probe_fixed(client: GpuClient) -> GpuStatus:
    try:
        health = await _health(client)
    except Exception as exc:
        log.info("gpu.status_offline", error=str(exc))
        return GpuStatus(state=GpuState.offline, message="the GPU server is not answering")
    tts = health.engines.get("tts")
    return GpuStatus(
        voice_engines=tts.variants if tts else [],
        state=GpuState.online if health.ok else GpuState.offline,
        gpu=health.gpu,
        engines=sorted(name for name, e in health.engines.items() if e.available),
        queued=health.queued,
        running=health.running,
        message="" if health.ok else "no engine can run on the GPU server",
    )


async def _ready_pods(clients: list[GpuClient]) -> GpuStatus:
    """Online, as the shared state says; the pods that answer /health (asking a stopped pod's
    proxy starts nothing) name the GPU and its engines and report their queues."""
    answers = await asyncio.gather(*(_health(c) for c in clients), return_exceptions=True)
    healthy = [a for a in answers if isinstance(a, GpuHealth) and a.ok]
    if not healthy:
        errors = [str(a) for a in answers if isinstance(a, BaseException)]
        log.info("gpu.status_pod_not_answering", errors=errors)
        return GpuStatus(
            state=GpuState.online, message="the GPU is up but did not answer a check just now"
        )
    first = healthy[0]
    tts = first.engines.get("tts")
    return GpuStatus(
        state=GpuState.online,
        gpu=first.gpu,
        engines=sorted(name for name, e in first.engines.items() if e.available),
        voice_engines=tts.variants if tts else [],
        queued=sum(h.queued for h in healthy),
        running=sum(h.running for h in healthy),
    )


def _about(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{round(seconds / 60)} min"


@router.get("/v1/gpu/status", responses=ERRORS)
async def gpu_status(request: Request, settings: AppSettings, principal: CurrentUser) -> GpuStatus:
    """For the GPU badge: online, starting, standby or offline. Checked at most every 10 s."""
    cache: _GpuCache = request.app.state.gpu_cache
    async with cache.lock:
        if cache.value is None or time.monotonic() - cache.at > GPU_STATUS_TTL_S:
            cache.value = await _probe_gpu(settings)
            cache.at = time.monotonic()
        return cache.value


def gpu_cache() -> _GpuCache:
    return _GpuCache()
