"""Jobs on RunPod: a stopped pod is resumed when GPU steps wait, the job runs on it to the end,
and the pod is stopped once no job in flight needs the GPU. RunPod is the local fake of its
GraphQL API; behind the pod's proxy URL runs a real GPU server with the lite engines."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount

from core.settings import get_settings
from gpu.server import GpuServerSettings, create_app
from jobs.worker import JobWorker
from tests.conftest import Stack
from tests.gpu.pods.fake_runpod import FakeRunPod
from tests.jobs.helpers import ledger_of, make_user, submit, wait_for

# The app's default key: the in-process GPU server other steps of the run may use is made
# once per process, so this test must not change the key under it.
GPU_KEY = "dev-gpu-key"
POD = "pod-jobs-1"


@pytest.fixture
def pod_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real GPU server reachable the way RunPod's proxy serves a pod: under a per-pod path."""
    workdir = tmp_path_factory.mktemp("pod-gpu")
    gpu = create_app(GpuServerSettings(api_key=SecretStr(GPU_KEY), workdir=workdir))
    proxy = Starlette(routes=[Mount("/pods/{pod_id}/{port}", app=gpu)])
    server = uvicorn.Server(uvicorn.Config(proxy, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the pod's GPU server failed to start"
        time.sleep(0.02)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    yield f"http://{host}:{port}/pods/{{pod_id}}/{{port}}"
    server.should_exit = True
    thread.join(10)
    gpu.state.gpu.tasks.shutdown()


async def test_a_job_resumes_the_pod_runs_on_it_and_the_pod_stops_after(
    sqlite_stack: Stack, monkeypatch: pytest.MonkeyPatch, pod_proxy: str
) -> None:
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/15").ping()
    except redis.RedisError as exc:
        pytest.skip(f"needs Redis: {exc}")
    fake = FakeRunPod(gpu_api_key=GPU_KEY, boot_delay_s=0.2)
    fake.add_pod(POD)  # stopped
    try:
        for name, value in {
            "RUNPOD_API_BASE_URL": fake.api_base_url,
            "SKYIE_GPU_HOST": "runpod",
            "SKYIE_RUNPOD_API_KEY": fake.api_key,
            "SKYIE_RUNPOD_POD_IDS": POD,
            "SKYIE_RUNPOD_PROXY_URL_TEMPLATE": pod_proxy,
            "SKYIE_REDIS_URL": "redis://127.0.0.1:6379/15",
            "SKYIE_REDIS_NAMESPACE": f"test-jobs-{uuid.uuid4().hex[:8]}",
            "SKYIE_GPU_IDLE_STOP_S": "0.1",
            "SKYIE_STEP_LEASE_S": "4",  # the sweeper (and its stop check) runs every 2 s
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        settings = get_settings()
        user = await make_user(settings, 100)
        started = await submit(settings, user, "[TALKING] Hello from the pod.")
        with JobWorker(settings):
            job = await wait_for(settings, started.job_id)
            assert job.status == "succeeded", job.error
            assert fake.count("podResume") == 1, "one resume for the whole job"
            deadline = time.monotonic() + 20
            while fake.pods[POD].desired_status != "EXITED" and time.monotonic() < deadline:
                time.sleep(0.1)
        assert fake.pods[POD].desired_status == "EXITED", "stopped once no job needed it"
        assert fake.count("podStop") == 1
        balance, _ = await ledger_of(settings, user)
        assert balance == 100 - job.credits
    finally:
        fake.close()
