"""Hosts nobody starts or stops: a fixed GPU server URL, and the in-process lite server."""

from __future__ import annotations

import time

import httpx

from gpu.client import GpuClient, embedded_transport
from gpu.pods.base import GpuHostUnavailable, HostState, HostStatus, ProbeFailed, probe_health

EMBEDDED_URL = "http://gpu.embedded"
"""The base URL `InProcessHost` hands out; only its own client (an ASGI transport) can reach it."""


class StaticHost:
    """An always-on GPU server at a fixed URL: readiness is one /health probe, nothing more.

    A good probe is trusted for `recheck_s`, so a burst of steps does not probe once each; a
    server that dies in between shows up as the client's own GpuUnavailable on the step.
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        probe_timeout_s: float = 5.0,
        recheck_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._api_key = api_key
        self._probe_timeout_s = probe_timeout_s
        self._recheck_s = recheck_s
        self._transport = transport
        self._last_ok: float | None = None
        self._last_error: str | None = None

    async def ensure_ready(self, wait_s: float | None = None, *, first_step: bool = False) -> str:
        if self._last_ok is not None and time.monotonic() - self._last_ok < self._recheck_s:
            return self.url
        try:
            await probe_health(
                self.url, self._api_key, timeout_s=self._probe_timeout_s, transport=self._transport
            )
        except ProbeFailed as exc:
            self._last_ok, self._last_error = None, exc.reason
            raise GpuHostUnavailable(
                f"the GPU server is not answering: {exc.reason}",
                code="auth" if exc.auth else "unreachable",
            ) from None
        self._last_ok, self._last_error = time.monotonic(), None
        return self.url

    def state(self) -> HostState:
        if self._last_error is not None:
            # Nobody here can start it, so there is no honest estimate of when it returns.
            return HostState(HostStatus.stopped, None, self._last_error)
        return HostState(HostStatus.ready, 0.0, f"GPU server at {self.url}")

    async def note_activity(self, *, url: str | None = None, seconds: float | None = None) -> None:
        return None

    async def maybe_stop(self, pending: int, running: int) -> bool:
        return False

    def client(self, base_url: str) -> GpuClient:
        return GpuClient(base_url, self._api_key, transport=self._transport)


class InProcessHost:
    """The lite GPU server inside this process (embedded mode): always ready, never stopped."""

    def __init__(self, api_key: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._api_key = api_key
        self._transport = transport

    async def ensure_ready(self, wait_s: float | None = None, *, first_step: bool = False) -> str:
        return EMBEDDED_URL

    def state(self) -> HostState:
        return HostState(HostStatus.ready, 0.0, "in-process lite GPU server")

    async def note_activity(self, *, url: str | None = None, seconds: float | None = None) -> None:
        return None

    async def maybe_stop(self, pending: int, running: int) -> bool:
        return False

    def client(self, base_url: str) -> GpuClient:
        # The app is built on first use, so a process that never runs a GPU step never pays.
        transport = self._transport if self._transport is not None else embedded_transport()
        return GpuClient(base_url, self._api_key, transport=transport)
