"""The GPU badge (`GET /v1/gpu/status`) when the GPU is an on-demand RunPod pod: it reads the
pods' shared state in Redis, never starts a pod, and never asks the in-process lite server.

RunPod is the local fake of its GraphQL API and pod proxy (tests/gpu/pods/fake_runpod.py); the
"worker" that starts and stops the pod is a second `RunPodHost` with its own Redis client, as a
worker process would have, sharing the pool's state with the API only through Redis.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from pydantic import SecretStr

from api.app import create_app
from api.system import gpu_cache
from gpu.pods import GpuHost, GpuHostStarting, PodSettings, make_host
from tests.api.conftest import Api, Caller, _serve_asgi
from tests.conftest import REDIS_NAMESPACE, REDIS_URL, Stack
from tests.gpu.pods.fake_runpod import FakeRunPod

POD = "pod-badge-1"


@dataclass
class RunPodSetup:
    fake: FakeRunPod
    env: dict[str, str]
    gpu_api_key: str

    def worker(self) -> GpuHost:
        """The GPU host a worker process builds from the same environment."""
        return make_host(PodSettings(gpu_api_key=SecretStr(self.gpu_api_key)))


def _need_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"needs Redis at {REDIS_URL}: {exc}")
    finally:
        client.close()


def _runpod_env(fake: FakeRunPod, **extra: str) -> dict[str, str]:
    return {
        "RUNPOD_API_BASE_URL": fake.api_base_url,
        "SKYIE_GPU_HOST": "runpod",
        "SKYIE_RUNPOD_API_KEY": fake.api_key,
        "SKYIE_RUNPOD_POD_IDS": POD,
        "SKYIE_RUNPOD_PROXY_URL_TEMPLATE": fake.proxy_url_template,
        "SKYIE_REDIS_URL": REDIS_URL,
        # Under the session's namespace (removed at the end), and a pool of this test's own.
        "SKYIE_REDIS_NAMESPACE": f"{REDIS_NAMESPACE}-badge-{uuid.uuid4().hex[:8]}",
        "SKYIE_GPU_HEALTH_POLL_S": "0.05",
        **extra,
    }


@pytest.fixture
def runpod(sqlite_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunPodSetup]:
    """SKYIE_GPU_HOST=runpod with one stopped pod, the app's own SKYIE_GPU_URL left embedded."""
    _need_redis()
    key = sqlite_stack.settings.gpu_api_key
    fake = FakeRunPod(gpu_api_key=key, boot_delay_s=3600)  # booting until a test says otherwise
    fake.add_pod(POD)
    env = _runpod_env(fake)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert sqlite_stack.settings.gpu_url == "embedded"
    try:
        yield RunPodSetup(fake, env, key)
    finally:
        fake.close()


async def _status(api: Api, caller: Caller, *, fresh: bool = False) -> dict[str, Any]:
    if fresh:  # the badge is cached for 10 s; a test that changes the pod asks anew
        api.app.state.gpu_cache = gpu_cache()
    r = await api.client.get("/v1/gpu/status", headers=caller.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_a_stopped_pod_is_on_standby_and_nothing_starts_it(
    runpod: RunPodSetup, api: Api
) -> None:
    caller = await api.register()
    body = await _status(api, caller)
    assert body["state"] == "standby", body  # not "online" from the in-process lite server
    assert "starts when a video needs it" in body["message"]
    assert "about 3 min" in body["message"]  # the configured cold-start guess (180 s)
    assert body["ready_eta_s"] == 180.0
    assert body["gpu"] is None and body["engines"] == [] and body["voice_engines"] == []
    # Asked again, still nothing: no pod looked up or resumed, no pod's /health asked.
    assert (await _status(api, caller, fresh=True))["state"] == "standby"
    assert runpod.fake.calls == []
    assert runpod.fake.pods[POD].desired_status == "EXITED"


async def test_a_pod_another_worker_is_starting_shows_starting_with_its_eta(
    runpod: RunPodSetup, api: Api
) -> None:
    worker = runpod.worker()
    with pytest.raises(GpuHostStarting):
        await worker.ensure_ready(wait_s=0)  # resumes the pod and does not wait for its boot
    assert runpod.fake.count("podResume") == 1
    caller = await api.register()
    body = await _status(api, caller)
    assert body["state"] == "starting", body
    assert 0 < body["ready_eta_s"] <= 180
    assert body["message"] == "the GPU is starting: ready in about 3 min"
    assert runpod.fake.count("podResume") == 1  # the badge resumed nothing
    assert runpod.fake.count("pod") == 1  # the worker's one look-up before its resume


async def test_a_ready_pod_is_online_with_its_gpu_and_on_standby_once_stopped(
    runpod: RunPodSetup, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKYIE_GPU_IDLE_STOP_S", "0.01")  # so the idle pod can be stopped below
    runpod.fake.pods[POD].boot_delay_s = 0  # this pod answers /health as soon as it runs
    runpod.fake.pods[POD].queued = 2
    worker = runpod.worker()
    await worker.ensure_ready()
    caller = await api.register()
    body = await _status(api, caller)
    assert body["state"] == "online", body
    assert body["gpu"] == "NVIDIA GeForce RTX 5090"  # the pod's GPU, not the lite server's
    assert body["engines"] == ["tts"] and body["voice_engines"] == ["kokoro"]
    assert body["queued"] == 2 and body["message"] == ""
    assert runpod.fake.count("podResume") == 1

    # The pod's queue drains and the worker stops it once idle: the badge follows the shared
    # state back to standby, now with the measured cold start as the wait.
    runpod.fake.pods[POD].queued = 0
    await asyncio.sleep(0.05)
    assert await worker.maybe_stop(pending=0, running=0)  # idle past SKYIE_GPU_IDLE_STOP_S
    body = await _status(api, caller, fresh=True)
    assert body["state"] == "standby", body
    assert "starts when a video needs it" in body["message"]
    assert body["ready_eta_s"] < 180  # measured on the fake, far quicker than the guess
    assert runpod.fake.count("podResume") == 1


async def test_unreadable_pod_state_is_offline_not_standby(
    runpod: RunPodSetup, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKYIE_REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    caller = await api.register()
    body = await _status(api, caller)
    assert body["state"] == "offline", body
    assert "cannot be read" in body["message"]
    assert runpod.fake.calls == []


@pytest.fixture
async def static_api(sqlite_stack: Stack) -> AsyncIterator[tuple[Api, FakeRunPod]]:
    """A fixed GPU server (SKYIE_GPU_URL): a running pod of the fake, reached directly."""
    fake = FakeRunPod(gpu_api_key=sqlite_stack.settings.gpu_api_key)
    fake.add_pod(POD, status="RUNNING", booted=True)
    url = fake.proxy_url_template.format(pod_id=POD, port=8100)
    settings = sqlite_stack.settings.model_copy(update={"gpu_url": url})
    try:
        async for api in _serve_asgi(create_app(settings, run_worker=False)):
            yield api, fake
    finally:
        fake.close()


async def test_a_fixed_gpu_server_is_still_asked_for_its_health(
    static_api: tuple[Api, FakeRunPod],
) -> None:
    api, fake = static_api
    caller = await api.register()
    body = await _status(api, caller)
    assert body["state"] == "online" and body["gpu"] == "NVIDIA GeForce RTX 5090", body
    assert fake.count("health", POD) == 1
    assert fake.count("podResume") == 0 and fake.count("pod") == 0
