"""The GPU host this process's workers share: the in-process server, a fixed GPU server, or
RunPod pods that start when GPU steps wait and stop when no job in flight needs them.

GPU steps ask `gpu_host(settings)` for a ready server before they run (which may start a pod);
the sweeper calls `stop_idle_gpu` every few seconds with the database's count of GPU steps
still to come, so a pod never stops under a job that will need it again. The GPU badge reads
`on_demand_state` and `health_clients`, neither of which starts anything.
"""

from __future__ import annotations

import asyncio
import threading

from pydantic import SecretStr
from sqlalchemy import func, select

from core.db import get_database
from core.models import Job, JobStatus, JobStep, StepStatus
from core.settings import Settings
from gpu.client import GpuClient
from gpu.pods import (
    EMBEDDED_URL,
    GpuHost,
    HostState,
    InProcessHost,
    PodSettings,
    RunPodHost,
    StaticHost,
    make_host,
)

_hosts: dict[str, GpuHost] = {}
_lock = threading.Lock()

# Steps of jobs still in flight that will need the GPU: waiting on their inputs, or queued.
_TO_COME = (StepStatus.pending.value, StepStatus.queued.value)
_FINISHED = tuple(s.value for s in JobStatus if s.finished)


def gpu_host(settings: Settings) -> GpuHost:
    """One host per configuration, shared by the whole process (its lock and its measured cold
    starts are what keeps two workers from starting two pods)."""
    pods = PodSettings(gpu_url=settings.gpu_url, gpu_api_key=SecretStr(settings.gpu_api_key))
    key = repr(
        sorted(
            (name, value.get_secret_value() if isinstance(value, SecretStr) else str(value))
            for name, value in pods
        )
    )
    with _lock:
        host = _hosts.get(key)
        if host is None:
            host = _hosts[key] = make_host(pods)
        return host


async def gpu_work(settings: Settings) -> tuple[int, int]:
    """(GPU steps still to come in jobs in flight, GPU steps running now)."""
    async with get_database().session() as s:
        rows = await s.execute(
            select(JobStep.status, func.count())
            .join(Job, Job.id == JobStep.job_id)
            .where(JobStep.queue == "gpu", Job.status.not_in(_FINISHED))
            .group_by(JobStep.status)
        )
        counts: dict[str, int] = {status: n for status, n in rows.all()}
    pending = sum(counts.get(status, 0) for status in _TO_COME)
    return pending, counts.get(StepStatus.running.value, 0)


async def stop_idle_gpu(settings: Settings) -> bool:
    """Stop the GPU host's idle pods when no job in flight needs them; True if one stopped."""
    host = gpu_host(settings)
    pending, running = await gpu_work(settings)
    return await host.maybe_stop(pending, running)


async def on_demand_state(settings: Settings) -> HostState | None:
    """The GPU host's state as every worker sees it when it starts on demand (RunPod pods: read
    from Redis in a thread), without starting anything; None for a host that is always on (a
    fixed server, the in-process one), which only its /health can describe."""
    host = gpu_host(settings)
    if isinstance(host, StaticHost | InProcessHost):
        return None
    return await asyncio.to_thread(host.state)


def health_clients(settings: Settings) -> list[GpuClient]:
    """Clients for the GPU servers whose /health may be asked, in the host's order; asking one
    starts nothing. A fixed host: its server. RunPod: every pod of the pool, to be asked only
    while `on_demand_state` is ready (a stopped pod's proxy answers 404). The caller closes them.
    """
    host = gpu_host(settings)
    if isinstance(host, RunPodHost):
        urls = list(host.urls.values())
    elif isinstance(host, StaticHost):
        urls = [host.url]
    elif isinstance(host, InProcessHost):
        urls = [EMBEDDED_URL]
    else:
        urls = []  # an on-demand host that names no URL until it is asked to start
    return [host.client(url) for url in urls]
