"""RunPodHost against a local fake of RunPod's API and proxy, with state in a real Redis."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from gpu.pods import GpuHostStarting, GpuHostUnavailable, HostStatus
from tests.gpu.pods.conftest import BOOT_S, POD, REDIS_URL, Clock
from tests.gpu.pods.fake_runpod import NO_GPUS, FakeRunPod


async def test_resume_waits_for_health_and_learns_the_cold_start(
    fake: FakeRunPod, make: Any, clock: Clock
) -> None:
    fake.add_pod(POD)
    host = make()
    before = host.state()
    assert before.status is HostStatus.stopped
    assert before.ready_eta_s == 100.0  # nothing measured yet: the configured guess

    began = time.monotonic()
    url = await host.ensure_ready()
    took = time.monotonic() - began

    assert url == f"{fake.base}/pods/{POD}/8100"
    assert fake.count("podResume") == 1
    assert fake.pods[POD].desired_status == "RUNNING"
    assert took >= BOOT_S  # it really waited for /health, not just for the resume call
    assert host.state().status is HostStatus.ready
    assert host.state().ready_eta_s == 0.0
    async with host.client(url) as gpu:
        health = await gpu.health()
    assert health.ok and health.gpu

    measured = host.cold_start_estimate()
    assert BOOT_S <= measured < BOOT_S + 2

    clock.advance(61)
    assert await host.maybe_stop(pending=0, running=0)
    stopped = host.state()
    assert stopped.status is HostStatus.stopped
    assert stopped.ready_eta_s == pytest.approx(measured)  # the estimate is now measured

    # A caller that will not wait gets "starting" with an ETA below the measured cold start.
    with pytest.raises(GpuHostStarting) as starting:
        await host.ensure_ready(wait_s=0)
    assert 0 < starting.value.eta_s <= measured
    assert host.state().status is HostStatus.starting
    assert fake.count("podResume") == 2
    assert await host.ensure_ready() == url
    assert fake.count("podResume") == 2  # the wait joined the start under way
    second = host.cold_start_estimate()
    assert second != measured  # the moving average took the second start in
    assert BOOT_S <= second < BOOT_S + 2


async def test_concurrent_calls_in_one_process_resume_once(fake: FakeRunPod, make: Any) -> None:
    fake.add_pod(POD)
    fake.api_delay_s = 0.05  # both look the pod up before either resume lands, unless locked
    workers = [make() for _ in range(4)]
    urls = await asyncio.gather(*(w.ensure_ready() for w in workers for _ in range(2)))
    assert len(set(urls)) == 1
    assert fake.count("podResume") == 1
    assert all(w.state().status is HostStatus.ready for w in workers)


_WORKER = """
import asyncio, json, sys
import redis
from gpu.pods.runpod import RunPodHost
from gpu.pods.runpod_api import _sdk
options = json.loads(sys.argv[1])
_sdk()  # import the SDK before the start line, so both workers really race
host = RunPodHost(redis_client=redis.Redis.from_url(options.pop("redis_url")), **options)
print("ready", flush=True)
sys.stdin.readline()
try:
    print(asyncio.run(host.ensure_ready()), flush=True)
except Exception as exc:
    print(f"failed: {exc!r}", flush=True)
"""


def test_two_worker_processes_resume_the_pod_once(
    fake: FakeRunPod, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.add_pod(POD)
    fake.api_delay_s = 0.1  # both look the pod up before either resume lands, unless locked
    options = {
        "api_key": fake.api_key,
        "pod_id": POD,
        "gpu_api_key": fake.gpu_api_key,
        "redis_url": REDIS_URL,
        "namespace": namespace,
        "url_template": fake.proxy_url_template,
        "start_timeout_s": 10.0,
        "poll_s": 0.02,
    }
    root = Path(__file__).resolve().parents[3]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, json.dumps(options)],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        answers = [worker.communicate(timeout=20)[0].strip() for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    assert answers == [f"{fake.base}/pods/{POD}/8100"] * 2
    assert fake.count("podResume") == 1


async def test_a_running_pod_is_used_without_resuming(fake: FakeRunPod, make: Any) -> None:
    fake.add_pod(POD, status="RUNNING", booted=True)
    host = make()
    assert await host.ensure_ready() == f"{fake.base}/pods/{POD}/8100"
    probes = fake.count("health")
    await host.ensure_ready()
    assert fake.count("health") == probes  # a fresh good probe is trusted for recheck_s
    assert fake.count("podResume") == 0
    assert host.cold_start_estimate() == 100.0  # joining a running pod is no cold start


async def test_idle_stop_only_after_the_idle_period_with_nothing_to_do(
    fake: FakeRunPod, make: Any, clock: Clock
) -> None:
    fake.add_pod(POD)
    host = make(idle_stop_s=60.0)
    await host.ensure_ready()

    assert not await host.maybe_stop(0, 0)  # just used
    clock.advance(61)
    assert not await host.maybe_stop(pending=1, running=0)
    assert not await host.maybe_stop(pending=0, running=1)
    # Busy until now: the idle clock restarted when the work was last seen.
    assert not await host.maybe_stop(0, 0)
    clock.advance(30)
    await host.note_activity()
    clock.advance(59)
    assert not await host.maybe_stop(0, 0)
    clock.advance(2)
    fake.pods[POD].running = 1  # the server itself says a task is running
    assert not await host.maybe_stop(0, 0)
    fake.pods[POD].running = 0
    clock.advance(61)
    assert fake.count("podStop") == 0

    assert await host.maybe_stop(0, 0)
    assert fake.count("podStop") == 1
    assert fake.pods[POD].desired_status == "EXITED"
    assert host.state().status is HostStatus.stopped
    assert "idle" in host.state().detail
    assert not await host.maybe_stop(0, 0)  # already stopped: no second call
    assert fake.count("podStop") == 1


async def test_no_stop_while_another_worker_is_starting(fake: FakeRunPod, make: Any) -> None:
    fake.boot_delay_s = 0.5
    fake.add_pod(POD)
    starter, stopper = make(), make(idle_stop_s=0.01)
    start = asyncio.create_task(starter.ensure_ready())
    deadline = time.monotonic() + 5
    while stopper.state().status is not HostStatus.starting:
        assert time.monotonic() < deadline and not start.done(), "the start never began"
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # well past the stopper's idle period
    assert not await stopper.maybe_stop(0, 0)
    assert not await stopper.maybe_stop(0, 0)
    await start
    assert fake.count("podStop") == 0
    assert stopper.state().status is HostStatus.ready
    await asyncio.sleep(0.05)
    assert await stopper.maybe_stop(0, 0)  # once started and idle, it may go
    assert fake.count("podStop") == 1


@pytest.mark.parametrize(
    "message",
    [
        NO_GPUS,
        "There are no longer any instances available with the requested specifications. "
        "Please refresh and try again.",
    ],
)
async def test_no_gpus_available_says_so(fake: FakeRunPod, make: Any, message: str) -> None:
    fake.add_pod(POD)
    fake.resume_error = message
    host = make()
    began = time.monotonic()
    with pytest.raises(GpuHostUnavailable) as caught:
        await host.ensure_ready()
    assert time.monotonic() - began < 2  # refused at once, not after the start timeout
    assert caught.value.code == "no_gpu"
    assert message in caught.value.reason
    assert "no GPU is free" in caught.value.reason
    assert host.state().status is not HostStatus.starting
    fake.resume_error = None  # GPUs came back: the next try starts it
    await host.ensure_ready()
    assert fake.count("podResume") == 2


async def test_a_bad_runpod_key_is_named(fake: FakeRunPod, make: Any) -> None:
    fake.add_pod(POD)
    host = make(api_key="rp-wrong-key")
    with pytest.raises(GpuHostUnavailable) as caught:
        await host.ensure_ready()
    assert caught.value.code == "auth"
    assert "API key" in caught.value.reason
    assert "SKYIE_RUNPOD_API_KEY" in caught.value.reason
    assert fake.count("podResume") == 0


async def test_a_bad_gpu_server_key_is_named(fake: FakeRunPod, make: Any) -> None:
    fake.add_pod(POD, status="RUNNING", booted=True)
    host = make(gpu_api_key="wrong-gpu-key")
    with pytest.raises(GpuHostUnavailable) as caught:
        await host.ensure_ready()
    assert caught.value.code == "auth"
    assert "SKYIE_GPU_API_KEY" in caught.value.reason


async def test_missing_and_terminated_pods(fake: FakeRunPod, make: Any) -> None:
    with pytest.raises(GpuHostUnavailable) as missing:
        await make().ensure_ready()
    assert missing.value.code == "config"
    assert "SKYIE_RUNPOD_POD_ID" in missing.value.reason
    fake.add_pod(POD, status="TERMINATED")
    with pytest.raises(GpuHostUnavailable) as gone:
        await make().ensure_ready()
    assert gone.value.code == "config"
    assert "terminated" in gone.value.reason


async def test_a_start_that_never_answers_is_stopped(fake: FakeRunPod, make: Any) -> None:
    fake.boot_delay_s = 30.0
    fake.add_pod(POD)
    host = make(start_timeout_s=0.3)
    with pytest.raises(GpuHostUnavailable) as caught:
        await host.ensure_ready()
    assert caught.value.code == "timeout"
    assert "did not answer /health within 0.3 s" in caught.value.reason
    assert fake.count("podStop") == 1  # a broken pod does not keep billing
    assert fake.pods[POD].desired_status == "EXITED"
    assert host.state().status is HostStatus.stopped


async def test_a_pod_stopped_behind_our_back_is_resumed(
    fake: FakeRunPod, make: Any, clock: Clock
) -> None:
    fake.add_pod(POD)
    host = make()
    await host.ensure_ready()
    fake.pods[POD].desired_status = "EXITED"  # stopped from RunPod's console
    clock.advance(11)  # past the trust window of the last good probe
    await host.ensure_ready()
    assert fake.count("podResume") == 2
    assert host.state().status is HostStatus.ready


async def test_a_pod_nobody_recorded_is_adopted_and_stopped_when_idle(
    fake: FakeRunPod, make: Any, clock: Clock
) -> None:
    fake.add_pod(POD, status="RUNNING", booted=True)  # left running by hand; Redis is empty
    host = make(idle_stop_s=60.0)
    assert not await host.maybe_stop(0, 0)
    assert host.state().status is HostStatus.ready
    clock.advance(61)
    assert await host.maybe_stop(0, 0)
    assert fake.pods[POD].desired_status == "EXITED"


async def test_redis_down_is_a_clear_unavailability(fake: FakeRunPod, make: Any) -> None:
    fake.add_pod(POD)
    # No retries: redis-py's default backoff would only make the test slow.
    down = redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    host = make(redis_client=down)
    with pytest.raises(GpuHostUnavailable) as caught:
        await host.ensure_ready()
    assert "Redis" in caught.value.reason
    assert "127.0.0.1:1" in caught.value.reason
    state = host.state()
    assert state.ready_eta_s is None
    assert "Redis" in state.detail


def test_importing_the_sdk_leaves_logging_alone() -> None:
    # The SDK calls logging.basicConfig(INFO) on import; the app's logging setup must survive.
    code = (
        "import logging\n"
        "logging.getLogger('uvicorn').setLevel(logging.INFO)\n"
        "from gpu.pods.runpod_api import _sdk\n"
        "_sdk()\n"
        "assert not logging.getLogger().handlers, logging.getLogger().handlers\n"
        "assert logging.getLogger().level == logging.WARNING\n"
        "assert logging.getLogger('uvicorn').level == logging.INFO\n"
    )
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
