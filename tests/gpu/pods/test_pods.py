"""The fixed and in-process hosts, and choosing a host from SKYIE_ settings."""

from __future__ import annotations

import socket

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from gpu.pods import (
    EMBEDDED_URL,
    GpuHost,
    GpuHostUnavailable,
    HostStatus,
    InProcessHost,
    PodSettings,
    RunPodHost,
    StaticHost,
    make_host,
)
from gpu.schemas import Health
from tests.gpu.conftest import API_KEY


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_static_host_probes_the_real_server(gpu_app: FastAPI) -> None:
    host = StaticHost("http://gpu/", API_KEY, transport=httpx.ASGITransport(app=gpu_app))
    assert isinstance(host, GpuHost)
    url = await host.ensure_ready()
    assert url == "http://gpu"
    assert host.state().status is HostStatus.ready
    assert host.state().ready_eta_s == 0.0
    async with host.client(url) as gpu:
        assert (await gpu.health()).ok
    assert not await host.maybe_stop(0, 0)  # nobody stops a fixed server


async def test_static_host_down_is_unavailable_with_the_reason() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    host = StaticHost(url, API_KEY, probe_timeout_s=1)
    with pytest.raises(GpuHostUnavailable) as caught:
        await host.ensure_ready()
    assert caught.value.code == "unreachable"
    assert f"{url}/health" in caught.value.reason
    state = host.state()
    assert state.status is HostStatus.stopped
    assert state.ready_eta_s is None  # nobody here can start it, so no estimate
    assert url in state.detail


async def test_static_host_with_the_wrong_key(gpu_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=gpu_app)
    host = StaticHost("http://gpu", "not-the-key", transport=transport)
    with pytest.raises(GpuHostUnavailable) as caught:
        await host.ensure_ready()
    assert caught.value.code == "auth"
    assert "SKYIE_GPU_API_KEY" in caught.value.reason


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, Health(ok=False, gpu=None).model_dump_json(), "no engine available"),
        (502, "<html>Bad Gateway</html>", "answered 502"),
        (200, '{"hello": "world"}', "something other than a GPU server"),
    ],
)
async def test_static_host_not_serving(status: int, body: str, expected: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/health"
        assert request.headers["Authorization"] == f"Bearer {API_KEY}"
        return httpx.Response(status, text=body)

    host = StaticHost("http://gpu", API_KEY, transport=httpx.MockTransport(answer))
    with pytest.raises(GpuHostUnavailable) as caught:
        await host.ensure_ready()
    assert expected in caught.value.reason


async def test_in_process_host_is_always_ready(gpu_app: FastAPI) -> None:
    host = InProcessHost(API_KEY, transport=httpx.ASGITransport(app=gpu_app))
    assert isinstance(host, GpuHost)
    url = await host.ensure_ready()
    assert url == EMBEDDED_URL
    assert host.state().status is HostStatus.ready
    async with host.client(url) as gpu:
        health = await gpu.health()
    assert health.ok
    await host.note_activity()
    assert not await host.maybe_stop(0, 0)


async def test_in_process_host_defaults_to_the_embedded_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Both sides read SKYIE_GPU_API_KEY, so the key matches whatever the environment sets.
    monkeypatch.delenv("SKYIE_GPU_HOST", raising=False)
    monkeypatch.delenv("SKYIE_GPU_URL", raising=False)
    host = make_host(PodSettings(_env_file=None))
    assert isinstance(host, InProcessHost)
    async with host.client(await host.ensure_ready()) as gpu:
        assert (await gpu.health()).ok


def test_settings_pick_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SKYIE_GPU_HOST", "SKYIE_GPU_URL", "SKYIE_RUNPOD_API_KEY", "SKYIE_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(make_host(PodSettings(_env_file=None)), InProcessHost)

    monkeypatch.setenv("SKYIE_GPU_URL", "http://gpu-box:8100/")
    static = make_host(PodSettings(_env_file=None))
    assert isinstance(static, StaticHost)
    assert static.url == "http://gpu-box:8100"

    monkeypatch.setenv("SKYIE_GPU_HOST", "runpod")
    with pytest.raises(ValidationError) as missing:
        PodSettings(_env_file=None)
    text = str(missing.value)
    assert "SKYIE_RUNPOD_API_KEY" in text and "SKYIE_RUNPOD_POD_ID" in text
    assert "SKYIE_REDIS_URL" in text

    monkeypatch.setenv("SKYIE_RUNPOD_API_KEY", "rp-key")
    monkeypatch.setenv("SKYIE_RUNPOD_POD_ID", "abc123")
    monkeypatch.setenv("SKYIE_REDIS_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setenv("SKYIE_GPU_IDLE_STOP_S", "120")
    monkeypatch.setenv("SKYIE_REDIS_NAMESPACE", "test-pods-settings")
    settings = PodSettings(_env_file=None)
    assert "rp-key" not in repr(settings)  # keys stay out of logs
    pod = make_host(settings)
    assert isinstance(pod, RunPodHost)
    assert isinstance(pod, GpuHost)
    assert pod.url == "https://abc123-8100.proxy.runpod.net"
    assert pod.idle_stop_s == 120
    assert pod.state().status is HostStatus.stopped  # nothing recorded for this pod yet


def test_static_needs_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYIE_GPU_HOST", "static")
    monkeypatch.setenv("SKYIE_GPU_URL", "embedded")
    with pytest.raises(ValidationError, match="SKYIE_GPU_URL"):
        PodSettings(_env_file=None)


def test_settings_name_a_pool_of_pods(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SKYIE_RUNPOD_POD_ID", "SKYIE_GPU_IDLE_STOP_S", "SKYIE_GPU_TYPICAL_TASK_S"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SKYIE_GPU_HOST", "runpod")
    monkeypatch.setenv("SKYIE_RUNPOD_API_KEY", "rp-key")
    monkeypatch.setenv("SKYIE_REDIS_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setenv("SKYIE_REDIS_NAMESPACE", "test-pods-settings")
    monkeypatch.setenv("SKYIE_RUNPOD_POD_IDS", " a1, b2 ,,c3")
    settings = PodSettings(_env_file=None)
    assert settings.runpod_pool == ["a1", "b2", "c3"]
    assert settings.gpu_idle_stop_s == 5  # stop at once when no work is known to be coming
    pool = make_host(settings)
    assert isinstance(pool, RunPodHost)
    assert pool.pod_ids == ("a1", "b2", "c3")
    assert pool.urls["b2"] == "https://b2-8100.proxy.runpod.net"
    assert pool.typical_task_default_s == 60
    assert pool.state().detail == "0 of 3 GPU pods up; not started yet"

    monkeypatch.setenv("SKYIE_RUNPOD_POD_ID", "b2")  # the single-pod setting joins, once
    assert PodSettings(_env_file=None).runpod_pool == ["b2", "a1", "c3"]
    monkeypatch.setenv("SKYIE_RUNPOD_POD_IDS", "")
    assert PodSettings(_env_file=None).runpod_pool == ["b2"]
