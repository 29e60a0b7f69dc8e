"""A pool of RunPod pods: scale-out for a long queue, least-loaded routing, idle stops, state."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from gpu.pods import GpuHostStarting, HostStatus, RunPodHost
from tests.gpu.pods.conftest import BOOT_S, Clock
from tests.gpu.pods.fake_runpod import NO_GPUS, FakeRunPod

A, B, C = "pod-a", "pod-b", "pod-c"


@pytest.fixture
def make_pool(make: Any) -> Any:
    def build(*pods: str, **overrides: Any) -> RunPodHost:
        host: RunPodHost = make(pod_id="", pod_ids=list(pods), idle_stop_s=30.0, **overrides)
        return host

    return build


def url(fake: FakeRunPod, pod: str) -> str:
    return f"{fake.base}/pods/{pod}/8100"


async def adopt_running(fake: FakeRunPod, host: RunPodHost, *pods: str) -> None:
    """Pods left running and booted, recorded ready (as the idle sweep first finds them)."""
    for pod in pods:
        fake.add_pod(pod, status="RUNNING", booted=True)
    assert not await host.maybe_stop(0, 0)
    assert host.state().status is HostStatus.ready


async def test_a_long_queue_starts_one_more_pod_once_and_keeps_routing_to_the_ready_one(
    fake: FakeRunPod, make_pool: Any
) -> None:
    fake.add_pod(A, status="RUNNING", booted=True)
    fake.add_pod(B, boot_delay_s=0.8)
    fake.add_pod(C)
    hosts = [make_pool(A, B, C), make_pool(A, B, C)]  # two workers, each with its own Redis
    assert await hosts[0].ensure_ready() == url(fake, A)  # joins the running pod, no resume

    fake.pods[A].queued = 1  # 1 x 60 s typical task: well under a cold start (100 s) + 60 s
    assert await hosts[0].ensure_ready(first_step=True) == url(fake, A)
    fake.pods[A].queued = 5  # 300 s of queue, but only a new job's first step may scale out
    assert await hosts[1].ensure_ready() == url(fake, A)
    await asyncio.gather(*(h.settle() for h in hosts))
    assert fake.count("podResume") == 0

    fake.api_delay_s = 0.05  # both workers decide before either resume lands, unless locked
    began = time.monotonic()
    urls = await asyncio.gather(*(h.ensure_ready(first_step=True) for h in hosts for _ in "ab"))
    assert time.monotonic() - began < 0.6  # nobody waited for the new pod to boot
    assert urls == [url(fake, A)] * 4
    await asyncio.sleep(0.3)  # the background starts have decided by now
    assert fake.count("podResume", B) == 1
    assert fake.count("podResume") == 1
    assert hosts[1].state().status is HostStatus.ready
    assert "2 of 3 GPU pods up (1 ready, 1 starting)" in hosts[1].state().detail

    # While B boots, first steps still go to A, and B's coming counts as serving the queue:
    # no third pod for the same queue.
    routed = []
    deadline = time.monotonic() + 5
    while (got := await hosts[1].ensure_ready(first_step=True)) == url(fake, A):
        routed.append(got)
        assert time.monotonic() < deadline, "B never became ready"
        await asyncio.sleep(0.05)
    assert routed  # A kept serving until B was ready
    assert got == url(fake, B)  # then the idle pod takes the new job
    await asyncio.gather(*(h.settle() for h in hosts))
    assert fake.count("podResume") == 1
    assert fake.pods[C].desired_status == "EXITED"
    assert 0.8 <= hosts[0].cold_start_estimate() < 2.8  # B's boot, measured by its starter
    assert "2 of 3 GPU pods up (2 ready)" in hosts[0].state().detail


async def test_learned_task_times_decide_the_scale_out(fake: FakeRunPod, make_pool: Any) -> None:
    host = make_pool(A, B)
    fake.add_pod(B)
    await adopt_running(fake, host, A)
    assert host.typical_task_s() == 60.0
    await host.note_activity(url=url(fake, A), seconds=120.0)
    assert host.typical_task_s() == 120.0
    for _ in range(40):  # then short tasks: speech lines, not video clips
        await host.note_activity(url=url(fake, A), seconds=5.0)
    assert 5.0 < host.typical_task_s() < 8.0  # the average follows the mix of work
    fake.pods[A].queued = 5  # 5 x ~7 s: far less than a cold start, so no new pod
    assert await host.ensure_ready(first_step=True) == url(fake, A)
    await host.settle()
    assert fake.count("podResume") == 0
    fake.pods[A].queued = 40  # ~200 s: now a new pod serves the next job sooner
    assert await host.ensure_ready(first_step=True) == url(fake, A)
    await host.settle()
    assert fake.count("podResume", B) == 1


async def test_never_more_pods_than_the_pool(fake: FakeRunPod, make_pool: Any) -> None:
    host = make_pool(A, B)
    await adopt_running(fake, host, A, B)
    fake.pods[A].queued = fake.pods[B].queued = 10
    for _ in range(3):
        assert await host.ensure_ready(first_step=True) in (url(fake, A), url(fake, B))
    await host.settle()
    assert fake.count("podResume") == 0


async def test_steps_go_to_the_least_loaded_ready_pod(
    fake: FakeRunPod, make_pool: Any, clock: Clock
) -> None:
    host = make_pool(A, B)
    await adopt_running(fake, host, A, B)
    fake.pods[A].queued, fake.pods[B].queued = 3, 1
    assert await host.ensure_ready() == url(fake, B)
    fake.pods[B].running = 3
    assert await host.ensure_ready() == url(fake, A)

    # Equal loads: the most recently active pod, whose models are likeliest to be loaded.
    fake.pods[A].queued = fake.pods[B].queued = fake.pods[B].running = 0
    clock.advance(1)
    await host.note_activity(url=url(fake, B) + "/")
    assert await host.ensure_ready() == url(fake, B)
    clock.advance(1)
    assert await host.ensure_ready() == url(fake, B)  # handing it out made it the most recent

    fake.pods[B].desired_status = "EXITED"  # stopped from RunPod's console
    assert await host.ensure_ready() == url(fake, A)  # a pod not answering gets no work
    assert fake.count("podResume") == 0


async def test_an_idle_extra_pod_stops_while_work_is_still_to_come(
    fake: FakeRunPod, make_pool: Any, clock: Clock
) -> None:
    host = make_pool(A, B)
    await adopt_running(fake, host, A, B)
    fake.pods[A].running = 1
    clock.advance(20)
    assert not await host.maybe_stop(pending=3, running=1)  # B idle for less than 30 s
    clock.advance(11)
    assert await host.maybe_stop(pending=3, running=1)
    assert fake.count("podStop") == 1
    assert fake.pods[B].desired_status == "EXITED"
    assert fake.pods[A].desired_status == "RUNNING"  # it has work
    state = host.state()
    assert state.status is HostStatus.ready
    assert "1 of 2 GPU pods up" in state.detail

    # A's work ended, yet a job in flight has GPU steps to come: the last pod up stays.
    fake.pods[A].running = 0
    clock.advance(120)
    assert not await host.maybe_stop(pending=1, running=0)
    assert not await host.maybe_stop(0, 0)  # the idle period runs from when work was seen
    clock.advance(31)
    assert await host.maybe_stop(0, 0)
    assert fake.pods[A].desired_status == "EXITED"
    assert fake.count("podStop") == 2


async def test_with_work_to_come_and_every_pod_idle_the_most_recent_one_stays(
    fake: FakeRunPod, make_pool: Any, clock: Clock
) -> None:
    host = make_pool(A, B, C)
    await adopt_running(fake, host, A, B, C)
    clock.advance(5)
    await host.note_activity(url=url(fake, B))
    clock.advance(60)
    assert await host.maybe_stop(pending=2, running=0)
    assert {p: fake.pods[p].desired_status for p in (A, B, C)} == {
        A: "EXITED",
        B: "RUNNING",
        C: "EXITED",
    }
    clock.advance(60)
    assert not await host.maybe_stop(pending=2, running=0)
    assert fake.pods[B].desired_status == "RUNNING"


async def test_everything_stops_when_no_work_is_to_come(
    fake: FakeRunPod, make_pool: Any, clock: Clock
) -> None:
    host = make_pool(A, B)
    await adopt_running(fake, host, A, B)
    fake.pods[B].queued = 1  # work this app does not count keeps a pod up
    clock.advance(31)
    assert await host.maybe_stop(0, 0)
    assert fake.pods[A].desired_status == "EXITED"
    assert fake.pods[B].desired_status == "RUNNING"
    fake.pods[B].queued = 0
    clock.advance(31)
    assert await host.maybe_stop(0, 0)
    assert fake.count("podStop") == 2
    state = host.state()
    assert state.status is HostStatus.stopped
    assert state.ready_eta_s == 100.0
    assert state.detail.startswith("0 of 2 GPU pods up; ")
    assert "idle" in state.detail


async def test_state_summarises_the_pool(fake: FakeRunPod, make_pool: Any, clock: Clock) -> None:
    fake.add_pod(A, boot_delay_s=0.2)
    fake.add_pod(B)
    host = make_pool(A, B)
    assert host.state().status is HostStatus.stopped
    assert host.state().ready_eta_s == 100.0
    assert host.state().detail == "0 of 2 GPU pods up; not started yet"

    with pytest.raises(GpuHostStarting):
        await host.ensure_ready(wait_s=0)
    starting = host.state()
    assert starting.status is HostStatus.starting
    assert starting.ready_eta_s is not None and 0 < starting.ready_eta_s <= 100.0
    assert starting.detail == "1 of 2 GPU pods up (0 ready, 1 starting); starting GPU pod pod-a"

    assert await host.ensure_ready() == url(fake, A)  # the wait joins the start under way
    assert fake.count("podResume") == 1
    ready = host.state()
    assert ready.status is HostStatus.ready and ready.ready_eta_s == 0.0
    assert ready.detail == "1 of 2 GPU pods up (1 ready); GPU pod pod-a ready"
    measured = host.cold_start_estimate()
    assert 0.2 <= measured < 2.2

    clock.advance(31)
    assert await host.maybe_stop(0, 0)
    stopped = host.state()
    assert stopped.status is HostStatus.stopped
    assert stopped.ready_eta_s == pytest.approx(measured)  # shared by every pod of the pool


async def test_a_pod_whose_machine_has_no_gpu_is_passed_over(
    fake: FakeRunPod, make_pool: Any
) -> None:
    fake.add_pod(A).resume_error = NO_GPUS
    fake.add_pod(B)
    host = make_pool(A, B)
    assert await host.ensure_ready() == url(fake, B)
    assert fake.count("podResume") == 2  # A refused, then B
    assert fake.pods[A].desired_status == "EXITED"


async def test_a_start_nobody_waits_for_is_finished_by_whoever_looks(
    fake: FakeRunPod, make_pool: Any
) -> None:
    # A worker's event loop runs only while it has a step, so the worker that resumed a pod
    # may not be polling it: the next step or idle sweep that sees it answer finishes it.
    host = make_pool(A, B, C)
    fake.add_pod(B)
    fake.add_pod(C, boot_delay_s=BOOT_S + 0.4)
    await adopt_running(fake, host, A)
    fake.pods[A].queued = 2
    for pod in (B, C):  # a worker sharing the pool's Redis starts the pod, then moves on
        with pytest.raises(GpuHostStarting):
            await make_pool(pod).ensure_ready(wait_s=0)
    await asyncio.sleep(BOOT_S + 0.1)
    assert "(1 ready, 2 starting)" in host.state().detail

    assert await host.ensure_ready() == url(fake, B)  # found answering, idle: it gets the step
    fake.pods[B].queued = 1
    assert "(2 ready, 1 starting)" in host.state().detail
    await asyncio.sleep(0.4)
    assert not await host.maybe_stop(pending=1, running=0)
    assert "3 of 3 GPU pods up (3 ready)" in host.state().detail
    assert BOOT_S <= host.cold_start_estimate() < BOOT_S + 2
    assert fake.count("podResume") == 2


async def test_the_pods_own_first_step_estimate_decides_over_its_queue_length(
    fake: FakeRunPod, make_pool: Any
) -> None:
    """First steps run ahead of queued work on the GPU server, so a long queue whose running
    task ends soon is no reason for another pod; the pod's /health says so."""
    fake.add_pod(A, status="RUNNING", booted=True)
    fake.add_pod(B)
    host = make_pool(A, B)
    assert await host.ensure_ready() == url(fake, A)
    fake.pods[A].queued, fake.pods[A].first_step_wait_s = 9, 20.0
    assert await host.ensure_ready(first_step=True) == url(fake, A)
    await host.settle()
    assert fake.count("podResume") == 0, "20 s is well under a cold start plus a minute"
    fake.pods[A].queued, fake.pods[A].first_step_wait_s = 1, 900.0
    assert await host.ensure_ready(first_step=True) == url(fake, A)
    await host.settle()
    assert fake.count("podResume", B) == 1, "one long task ahead: another pod serves sooner"
