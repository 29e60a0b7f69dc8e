"""The contract every GPU host keeps, its states and errors, and the shared /health probe."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

import httpx
from pydantic import ValidationError

from gpu.client import GpuClient, GpuUnavailable
from gpu.schemas import Health


class HostStatus(StrEnum):
    stopped = "stopped"
    starting = "starting"
    ready = "ready"
    stopping = "stopping"


@dataclass(frozen=True)
class HostState:
    """What a host is doing, for people waiting on it.

    `ready_eta_s` is the expected wait until GPU steps can run: 0 when ready, an estimate from
    measured cold starts while stopped or starting, None when nobody can tell (a fixed host that
    is down). `detail` is a short human line ("resuming pod abc123", "no GPU free on RunPod").
    """

    status: HostStatus
    ready_eta_s: float | None
    detail: str = ""


class GpuHostUnavailable(GpuUnavailable):
    """The GPU host cannot serve now; `reason` says why in words a person can act on.

    It is a `gpu.client.GpuUnavailable`, so code that already waits for the GPU when the server
    is unreachable (the job runner) treats a host that cannot start the same way: the step waits,
    nothing is charged. `code` sorts the causes: "auth" (a key was rejected), "no_gpu" (the
    provider has no GPU free), "config" (settings point at nothing usable), "timeout" (it started
    but never answered /health), "unreachable" (network, provider API or Redis down).
    """

    def __init__(self, reason: str, *, code: str = "unreachable") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class GpuHostStarting(GpuHostUnavailable):
    """The host is starting and will not be ready within the caller's wait; retry later."""

    def __init__(self, reason: str, *, eta_s: float) -> None:
        super().__init__(reason, code="starting")
        self.eta_s = eta_s


@runtime_checkable
class GpuHost(Protocol):
    """Where GPU steps run, and the switch that starts and stops it.

    A worker calls `ensure_ready()` before a GPU step and talks to the URL it returns through
    `client(url)`; it calls `note_activity()` when a step starts and ends, and a periodic task
    calls `maybe_stop(pending, running)` with the counts of GPU steps to come and running.
    """

    async def ensure_ready(self, wait_s: float | None = None, *, first_step: bool = False) -> str:
        """The base URL of a GPU server that answers /health; starts the host if needed.

        Waits at most `wait_s` (default: the host's start timeout) for a start; raises
        `GpuHostStarting` when a start is still under way after that, and `GpuHostUnavailable`
        with the reason as soon as the host cannot be started. `first_step`: the step is its
        job's first GPU step, the one a person waits on to see work begin; a host with several
        servers may start another one for it when the ones up are busy for too long.
        """
        ...

    def state(self) -> HostState:
        """The host's state as every worker sees it; cheap enough to call for progress lines."""
        ...

    async def note_activity(self, *, url: str | None = None, seconds: float | None = None) -> None:
        """A GPU step ran or is waiting: restart the idle clock.

        `url`: the server the step runs on (what `ensure_ready` returned), so a host with
        several servers restarts the right one's clock; `seconds`: when a step has just
        ended, how long it ran, which teaches the host how long a typical task takes.
        """
        ...

    async def maybe_stop(self, pending: int, running: int) -> bool:
        """Stop what is idle and not needed; True when something was stopped.

        `pending`: GPU steps of jobs in flight that have not started yet (queued, or waiting on
        their inputs); `running`: GPU steps running now.
        """
        ...

    def client(self, base_url: str) -> GpuClient:
        """A GPU client for the URL `ensure_ready` returned (the caller closes it)."""
        ...


class ProbeFailed(Exception):
    """One /health probe did not find a working GPU server; `auth` when the key was refused."""

    def __init__(self, reason: str, *, auth: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.auth = auth


async def probe_health(
    base_url: str,
    api_key: str,
    *,
    timeout_s: float = 5.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Health:
    """One GET /health with a short timeout and no retries (the caller's loop is the retry).

    `GpuClient.health` retries with backoff for up to a minute, which is right for a step and
    wrong for a readiness poll that must notice a booting or missing server quickly.
    """
    url = base_url.rstrip("/")
    headers = {"Authorization": f"Bearer {api_key}"}
    try:
        async with httpx.AsyncClient(
            base_url=url, headers=headers, transport=transport, timeout=timeout_s
        ) as http:
            response = await http.get("/health")
    except httpx.TimeoutException:
        raise ProbeFailed(f"GET {url}/health timed out after {timeout_s:g} s") from None
    except httpx.TransportError as exc:
        raise ProbeFailed(f"GET {url}/health failed: {exc or type(exc).__name__}") from None
    if response.status_code in (401, 403):
        raise ProbeFailed(
            f"the GPU server at {url} rejected the GPU API key (SKYIE_GPU_API_KEY)", auth=True
        )
    if response.status_code != 200:
        raise ProbeFailed(f"GET {url}/health answered {response.status_code}")
    try:
        health = Health.model_validate_json(response.content)
    except ValidationError:
        raise ProbeFailed(f"GET {url}/health answered something other than a GPU server") from None
    if not health.ok:
        raise ProbeFailed(f"the GPU server at {url} is up but has no engine available")
    return health
