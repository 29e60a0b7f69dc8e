"""Starting and stopping the GPU host: on-demand RunPod pods, a fixed server, or in-process.

The app builds one host per process with `make_host(PodSettings())` and, for every GPU step::

    url = await host.ensure_ready(first_step=...)  # starts a pod if needed; GpuHostUnavailable
    async with host.client(url) as gpu:            # a gpu.client.GpuClient bound to that server
        await host.note_activity(url=url)
        result = await gpu.infer(...)
    await host.note_activity(url=url, seconds=took)  # teaches the host a typical task's length

`first_step=True` marks a job's first GPU step: when the pods up are busy for longer than a
cold start, a RunPod pool starts another pod for it. A periodic task calls
`await host.maybe_stop(pending, running)` with the GPU steps of jobs in flight still to come and
those running, so idle pods stop billing.
"""

from gpu.pods.base import (
    GpuHost,
    GpuHostStarting,
    GpuHostUnavailable,
    HostState,
    HostStatus,
    probe_health,
)
from gpu.pods.runpod import DEFAULT_PROXY_URL_TEMPLATE, RunPodHost
from gpu.pods.settings import PodSettings, make_host
from gpu.pods.static import EMBEDDED_URL, InProcessHost, StaticHost

__all__ = [
    "DEFAULT_PROXY_URL_TEMPLATE",
    "EMBEDDED_URL",
    "GpuHost",
    "GpuHostStarting",
    "GpuHostUnavailable",
    "HostState",
    "HostStatus",
    "InProcessHost",
    "PodSettings",
    "RunPodHost",
    "StaticHost",
    "make_host",
    "probe_health",
]
