"""On-demand RunPod pods: a pool resumed as GPU steps wait, each stopped when idle and unneeded.

A pod costs money only while it runs. Every worker process may start or stop one, so each
decision to resume or stop is taken under one Redis lock for the pool, on state kept in Redis
(`SharedPool`): two workers never resume a pod twice nor start two pods for one queue, and
nobody stops a pod another worker is starting or the last pod a job in flight still needs.
When to add a pod and when to stop one is `gpu.pods.policy.PodPolicy`. Each pod's GPU server is
reached through RunPod's HTTP proxy and is ready when its /health answers ok.

RunPod is driven through the official `runpod` SDK (synchronous `requests` under the hood, so
its calls run in a thread); the SDK reads `RUNPOD_API_BASE_URL` for its GraphQL endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import ParamSpec, TypeVar

import httpx
import redis

from gpu.client import GpuClient
from gpu.pods.base import (
    GpuHostStarting,
    GpuHostUnavailable,
    HostState,
    HostStatus,
    ProbeFailed,
    probe_health,
)
from gpu.pods.policy import PodPolicy
from gpu.pods.runpod_api import RunPodApi
from gpu.pods.shared import PodRecord, PoolStats, SharedPool, redis_errors
from gpu.schemas import Health

log = logging.getLogger("skyie.gpu.pods")

DEFAULT_PROXY_URL_TEMPLATE = "https://{pod_id}-{port}.proxy.runpod.net"

# Pod states in which the container runs or is on its way up: wait, do not resume.
_UP = frozenset({"RUNNING", "CREATED", "RESTARTING"})

P = ParamSpec("P")
T = TypeVar("T")


class RunPodHost:
    """A pool of RunPod pods (one or more) that start when GPU steps wait and stop when idle.

    It follows `gpu.pods.policy.PodPolicy`: the first pod starts as soon as a step needs the
    GPU; another one starts (in the background) only when a job's first GPU step would wait for
    the pods up longer than a cold start plus a minute; an extra pod stops as soon as it is
    idle, and the last one too once no job in flight has GPU work left. Steps go to the ready
    pod with the least work, so a pod that came up for a queue takes its share at once.
    """

    def __init__(
        self,
        *,
        api_key: str,
        pod_id: str = "",
        pod_ids: Sequence[str] = (),
        gpu_api_key: str,
        redis_client: redis.Redis,
        namespace: str = "skyie",
        gpu_count: int = 1,
        port: int = 8100,
        url_template: str = DEFAULT_PROXY_URL_TEMPLATE,
        idle_stop_s: float = 5.0,
        start_timeout_s: float = 600.0,
        cold_start_default_s: float = 180.0,
        typical_task_s: float = 60.0,
        poll_s: float = 2.0,
        probe_timeout_s: float = 5.0,
        load_probe_timeout_s: float = 2.0,
        recheck_s: float = 10.0,
        lock_wait_s: float = 45.0,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`pod_ids` is the pool (`pod_id`, the older single-pod setting, joins it first);
        `clock` is wall time: the shared timestamps are compared across processes."""
        pool = list(dict.fromkeys(p.strip() for p in (pod_id, *pod_ids) if p.strip()))
        if not pool:
            raise ValueError("a RunPod host needs a pod id (SKYIE_RUNPOD_POD_IDS)")
        self.pod_ids: tuple[str, ...] = tuple(pool)
        self.pod_id = pool[0]
        self.urls = {p: url_template.format(pod_id=p, port=port).rstrip("/") for p in pool}
        self.url = self.urls[self.pod_id]
        self._by_url = {url: p for p, url in self.urls.items()}
        self._apis = {p: RunPodApi(api_key, p, gpu_count) for p in pool}
        self.api = self._apis[self.pod_id]
        self._gpu_api_key = gpu_api_key
        self._redis_url = _describe(redis_client)
        self._pool = SharedPool(
            redis_client,
            f"{namespace}:gpu:runpod",
            pool,
            clock=clock,
            # Outlives the slowest critical section: up to two SDK calls of up to 30 s each
            # per pod tried (a start moves on to the next pod when one has no GPU).
            lock_timeout_s=max(120.0, lock_wait_s * 2, 60.0 * len(pool)),
        )
        self.idle_stop_s = idle_stop_s
        self.start_timeout_s = start_timeout_s
        self.cold_start_default_s = cold_start_default_s
        self.typical_task_default_s = typical_task_s
        self._poll_s = poll_s
        self._probe_timeout_s = probe_timeout_s
        self._load_probe_timeout_s = min(load_probe_timeout_s, probe_timeout_s)
        self._recheck_s = recheck_s
        self._lock_wait_s = lock_wait_s
        self._clock = clock
        self._transport = transport
        self._last_pod = self.pod_id  # where note_activity() without a URL points
        self._background: set[asyncio.Task[None]] = set()
        # Each pod's last reported wait for a job's first step (its /health estimate).
        self._first_waits: dict[str, float | None] = {}

    # -- the GpuHost contract ------------------------------------------------------------------

    async def ensure_ready(self, wait_s: float | None = None, *, first_step: bool = False) -> str:
        """The URL of the ready pod with the least work; starts a pod when none is up.

        With `first_step`, a long queue on that pod starts another pod of the pool in the
        background (the policy's scale-out); this call still returns at once.
        """
        records = await self._io(self._pool.read_all)
        now = self._clock()
        ready = [p for p, r in records.items() if r.status is HostStatus.ready]
        starting = [p for p, r in records.items() if self._starting(r, now)]
        pods_up = len(ready) + len(starting)
        can_scale = first_step and pods_up < len(self.pod_ids)
        failed: list[str] = []
        chosen: str | None = None
        if len(ready) == 1 and not can_scale and not starting:
            chosen = await self._check_one(ready[0], records[ready[0]], now)
            if chosen is None:
                failed.append(ready[0])
        elif ready:
            chosen, failed, load = await self._least_loaded(ready, starting, records)
            if chosen is not None and can_scale:
                await self._consider_scale_out(load, pods_up, starting, records)
        if chosen is not None:
            await self._io(self._pool.pods[chosen].touch)  # a step is about to run on it
            self._last_pod = chosen
            return self.urls[chosen]
        pod, starting_since = await self._io(self._begin_start, frozenset(failed))
        self._last_pod = pod
        ready_url = await self._wait_ready(pod, starting_since, wait_s)
        await self._io(self._pool.pods[pod].touch)
        return ready_url

    def state(self) -> HostState:
        """The pool in one line: ready if any pod is, starting (with its ETA) if one is."""
        try:
            records = self._pool.read_all()
            stats = self._pool.stats()
        except redis.RedisError as exc:
            return HostState(HostStatus.stopped, None, f"pod state unknown (Redis: {exc})")
        estimate = self._cold_estimate(stats)
        now = self._clock()
        ready = [p for p, r in records.items() if r.status is HostStatus.ready]
        starting = [p for p, r in records.items() if r.status is HostStatus.starting]
        up = len(ready) + len(starting)
        n = len(self.pod_ids)
        summary = f"{up} of {n} GPU pod{'' if n == 1 else 's'} up"
        if up:
            summary += f" ({len(ready)} ready" + (
                f", {len(starting)} starting)" if starting else ")"
            )
        if ready:
            latest = max(ready, key=lambda p: records[p].since)
            return HostState(HostStatus.ready, 0.0, _join(summary, records[latest].detail))
        if starting:
            remaining = {p: self._remaining(records[p], estimate, now) for p in starting}
            soonest = min(starting, key=remaining.__getitem__)
            return HostState(
                HostStatus.starting, remaining[soonest], _join(summary, records[soonest].detail)
            )
        known = [p for p, r in records.items() if r.status is not None]
        if not known:
            return HostState(HostStatus.stopped, estimate, _join(summary, "not started yet"))
        latest = max(known, key=lambda p: records[p].since)
        return HostState(HostStatus.stopped, estimate, _join(summary, records[latest].detail))

    async def note_activity(self, *, url: str | None = None, seconds: float | None = None) -> None:
        """Restart the idle clock of the pod at `url` (else the pod this host last handed out);
        `seconds`, a finished task's duration, updates the typical task time."""
        pod = self._by_url.get(url.rstrip("/"), self._last_pod) if url else self._last_pod

        def note() -> None:
            self._pool.pods[pod].touch()
            if seconds is not None and seconds > 0:
                self._pool.record_task(seconds)

        await self._io(note)

    async def maybe_stop(self, pending: int, running: int) -> bool:
        """Stop each pod that is idle and not needed (`PodPolicy.keep_warm`).

        `pending`: GPU steps of jobs in flight not started yet (queued or waiting on inputs);
        `running`: GPU steps running now. While either is above zero, every pod with work and
        the last pod up stay; an extra pod stops once its /health shows nothing queued or
        running and it has been idle `idle_stop_s`. With nothing to come, every pod idle that
        long stops. True when a pod was stopped.
        """
        records = await self._io(self._pool.read_all)
        unknown = [p for p, r in records.items() if r.status is None]
        if unknown:
            await self._io(self._adopt, unknown)
            records = await self._io(self._pool.read_all)
        now = self._clock()
        starting = [p for p, r in records.items() if self._starting(r, now)]
        if starting:
            answers = await self._health(starting, self._load_probe_timeout_s, raise_auth=False)
            if await self._finish_answering(answers, records):
                records = await self._io(self._pool.read_all)
        # Steps of jobs in flight are GPU work known to be coming; when is not known here (a
        # step may wait on a CPU render), so it counts as soon. Extra pods are never kept warm
        # for it: the one pod left serves it, and another starts if a queue grows again.
        stats = await self._io(self._pool.stats)
        policy = PodPolicy(cold_start_s=self._cold_estimate(stats), max_pods=len(self.pod_ids))
        busy = policy.keep_warm(gpu_steps_to_come=pending > 0 or running > 0)
        ready = [p for p, r in records.items() if r.status is HostStatus.ready]
        if busy and len(ready) <= 1:
            # The only pod up stays, and its idle period starts when this work ends.
            if ready:
                await self._io(self._pool.pods[ready[0]].touch)
            return False
        due = [p for p, r in records.items() if self._may_stop(r)]
        if not due:
            return False
        probed = [p for p in self.pod_ids if p in ready or p in due]
        timeout = self._probe_timeout_s if len(probed) == 1 else self._load_probe_timeout_s
        answers = await self._health(probed, timeout, raise_auth=False)
        # A pod that does not answer has nothing running on it.
        load = {p: h.queued + h.running for p, h in answers.items() if isinstance(h, Health)}
        # Work on a pod keeps it (including work this app does not count: another deployment,
        # a stray retry), and its idle period starts when that work ends.
        keep = {p for p in probed if load.get(p, 0) > 0}
        if busy and not keep & set(ready):
            keep.add(max(ready, key=lambda p: records[p].active_at))  # the last one up
        if keep:
            await self._io(self._touch_all, sorted(keep))
        idle = [p for p in due if p not in keep]
        if not idle:
            return False
        return await self._io(self._stop_idle, idle, busy)

    def client(self, base_url: str) -> GpuClient:
        return GpuClient(base_url, self._gpu_api_key, transport=self._transport)

    async def settle(self) -> None:
        """Wait for the pod starts this host began in the background (shutdown, tests)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def cold_start_estimate(self) -> float:
        """Seconds a start from stopped is expected to take: the pool's measured average."""
        return self._cold_estimate(self._pool.stats())

    def typical_task_s(self) -> float:
        """Seconds a GPU task typically takes: the average of reported tasks, or the default."""
        avg = self._pool.stats().task_avg_s
        return avg if avg is not None else self.typical_task_default_s

    # -- choosing a pod --------------------------------------------------------------------------

    async def _check_one(self, pod: str, record: PodRecord, now: float) -> str | None:
        """The one ready pod, if it answers; a recent good probe is trusted for `recheck_s`."""
        if record.last_ok is not None and now - record.last_ok < self._recheck_s:
            return pod
        try:
            await self._probe(pod)
        except ProbeFailed as exc:
            if exc.auth:
                raise GpuHostUnavailable(exc.reason, code="auth") from None
            log.warning("gpu.pod_not_answering pod=%s reason=%s", pod, exc.reason)
            return None
        await self._io(self._pool.pods[pod].write, last_ok=self._clock())
        return pod

    async def _least_loaded(
        self, ready: list[str], starting: list[str], records: dict[str, PodRecord]
    ) -> tuple[str | None, list[str], dict[str, int]]:
        """(the answering pod with the fewest tasks queued and running, the ready pods that did
        not answer, each answering pod's tasks). Ties go to the most recently active pod: its
        models are the likeliest to be loaded. A starting pod found answering is finished here,
        so a pod whose starter died still joins the pool."""
        timeout = self._probe_timeout_s if len(ready) == 1 else self._load_probe_timeout_s
        answers = await self._health([*ready, *starting], timeout)
        await self._finish_answering({p: answers[p] for p in starting}, records)
        load: dict[str, int] = {}
        failed: list[str] = []
        for pod, answer in answers.items():
            if isinstance(answer, Health):
                load[pod] = answer.queued + answer.running
                self._first_waits[pod] = answer.first_step_wait_s
            elif pod in ready:
                failed.append(pod)
                log.warning("gpu.pod_not_answering pod=%s reason=%s", pod, answer.reason)
        now = self._clock()
        for pod in ready:
            if pod in load:
                await self._io(self._pool.pods[pod].write, last_ok=now)
        if not load:
            return None, failed, load
        chosen = min(load, key=lambda p: (load[p], -records[p].active_at))
        return chosen, failed, load

    async def _finish_answering(
        self, answers: dict[str, Health | ProbeFailed], records: dict[str, PodRecord]
    ) -> bool:
        """Mark each starting pod whose server answers ready. Whoever notices first does it:
        the worker that began a start may not be polling any more (its event loop only runs
        while it has a step), and a started pod must join the pool all the same."""
        finished = False
        for pod, answer in answers.items():
            if isinstance(answer, Health):
                since = records[pod].starting_since or records[pod].since
                await self._io(self._finish_start, pod, since)
                finished = True
        return finished

    async def _consider_scale_out(
        self,
        load: dict[str, int],
        pods_up: int,
        starting: list[str],
        records: dict[str, PodRecord],
    ) -> None:
        """Start another pod in the background when a new job would wait too long (policy).

        The wait is the shortest a ready pod reports on /health for a job's first step (first
        steps run ahead of other work there), or a starting pod's remaining boot if that is
        sooner: a pod on its way already serves the queue.
        """
        stats = await self._io(self._pool.stats)
        task_s = stats.task_avg_s if stats.task_avg_s is not None else self.typical_task_default_s
        cold_s = self._cold_estimate(stats)
        # The pod's own estimate (its running task's remaining time, the first steps ahead);
        # an older server without it: its tasks times the typical task time.
        waits = []
        for pod, tasks in load.items():
            reported = self._first_waits.get(pod)
            waits.append(reported if reported is not None else tasks * task_s)
        wait = min(waits)
        now = self._clock()
        for pod in starting:
            if pod not in load:
                wait = min(wait, self._remaining(records[pod], cold_s, now))
        policy = PodPolicy(cold_start_s=cold_s, max_pods=len(self.pod_ids))
        if policy.pods_wanted(pods_up=pods_up, new_job_wait_s=wait) <= pods_up:
            return
        log.info("gpu.pool_scaling_out pods_up=%d new_job_wait_s=%.0f", pods_up, wait)
        task = asyncio.create_task(self._scale_out(pods_up))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _scale_out(self, pods_up: int) -> None:
        try:
            begun = await self._io(self._begin_extra_start, pods_up)
            if begun is not None:
                await self._wait_ready(*begun, None)
        except GpuHostUnavailable as exc:
            log.warning("gpu.pool_scale_out_failed reason=%s", exc.reason)

    # -- decisions, each run in a worker thread under the pool's Redis lock --------------------

    def _begin_start(self, failed: frozenset[str]) -> tuple[str, float]:
        """Pick the pod to wait for, resuming one unless one is up or being started; returns it
        and when its start began. `failed`: ready pods the caller just found not answering."""
        with self._pool.locked(self._lock_wait_s) as held:
            if not held:
                raise GpuHostUnavailable(
                    f"another worker has held the GPU pod lock for over {self._lock_wait_s:g} s",
                    code="unreachable",
                )
            records = self._pool.read_all()
            now = self._clock()
            starting = [p for p, r in records.items() if self._starting(r, now)]
            if starting:  # another worker's start: wait for the one that began first
                pod = min(starting, key=lambda p: records[p].starting_since or now)
                return pod, records[pod].starting_since or now
            for pod, record in records.items():
                if record.status is HostStatus.ready and pod not in failed:
                    # Found ready by another worker since this one looked: the wait only probes.
                    return pod, now
            errors: list[GpuHostUnavailable] = []
            for pod in sorted(self.pod_ids, key=lambda p: _start_rank(records[p])):
                try:
                    return pod, self._start_pod(pod, records[pod])
                except GpuHostUnavailable as exc:
                    if exc.code == "auth":
                        raise
                    errors.append(exc)  # this pod's machine has no GPU, or it is gone: next
            raise _combined(errors)

    def _begin_extra_start(self, pods_up: int) -> tuple[str, float] | None:
        """Start one more pod unless the pods up changed since the caller counted them (another
        worker scaled out, or a pod stopped: the decision is stale); None when none started."""
        with self._pool.locked(self._lock_wait_s) as held:
            if not held:
                return None
            records = self._pool.read_all()
            now = self._clock()
            up = [p for p, r in records.items() if r.status is HostStatus.ready]
            up += [p for p, r in records.items() if self._starting(r, now)]
            if len(up) != pods_up or len(up) >= len(self.pod_ids):
                return None
            others = [p for p in self.pod_ids if p not in up]
            for pod in sorted(others, key=lambda p: _start_rank(records[p])):
                try:
                    return pod, self._start_pod(pod, records[pod])
                except GpuHostUnavailable as exc:
                    log.warning("gpu.pod_scale_out_refused pod=%s reason=%s", pod, exc.reason)
                    if exc.code == "auth":
                        return None
            return None

    def _start_pod(self, pod: str, record: PodRecord) -> float:
        """Resume `pod` (or wait for it if RunPod has it up); returns when its start began."""
        state = self._pool.pods[pod]
        now = self._clock()
        began = record.starting_since if record.status is HostStatus.starting else None
        desired = str(self._apis[pod].get_pod().get("desiredStatus") or "").upper()
        if desired in _UP:
            if began is not None:
                return began  # an overdue start: the wait gives it up
            # Up but not answering (started by hand, server restarting, state lost): wait,
            # but do not count the wait as a cold start.
            state.write(
                status=HostStatus.starting,
                starting_since=now,
                measure=False,
                detail=f"waiting for the GPU server on pod {pod}",
            )
            return now
        if desired == "EXITED":
            log.info("gpu.pod_resuming pod=%s", pod)
            now = self._clock()  # the cold start is timed from the resume request on
            self._apis[pod].resume()
            state.write(
                status=HostStatus.starting,
                starting_since=now,
                measure=True,
                detail=f"starting GPU pod {pod}",
            )
            return now
        if desired == "TERMINATED":
            raise GpuHostUnavailable(
                f"RunPod pod {pod} was terminated; create a new pod and put its id in "
                "SKYIE_RUNPOD_POD_IDS (or SKYIE_RUNPOD_POD_ID)",
                code="config",
            )
        raise GpuHostUnavailable(
            f"RunPod pod {pod} is {desired}, which cannot be started", code="unreachable"
        )

    def _finish_start(self, pod: str, starting_since: float) -> None:
        state = self._pool.pods[pod]
        with self._pool.locked(self._lock_wait_s) as held:
            now = self._clock()
            record = state.read()
            if not held or record.status is not HostStatus.starting:
                state.write(last_ok=now)
                return
            if record.starting_since == starting_since and record.measure:
                seconds = now - starting_since
                self._pool.record_cold_start(seconds)
                log.info("gpu.pod_ready pod=%s cold_start_s=%.1f", pod, seconds)
            state.write(
                status=HostStatus.ready,
                last_ok=now,
                measure=False,
                starting_since=None,
                detail=f"GPU pod {pod} ready",
            )

    def _abandon_start(
        self, pod: str, starting_since: float, last_error: str
    ) -> GpuHostUnavailable:
        """Stop a pod whose server never came up, so it does not bill while broken."""
        state = self._pool.pods[pod]
        reason = (
            f"GPU pod {pod} did not answer /health within {self.start_timeout_s:g} s "
            f"({last_error}); it was stopped and will be started again on the next try"
        )
        with self._pool.locked(self._lock_wait_s) as held:
            record = state.read()
            same_start = record.starting_since == starting_since
            if held and record.status is HostStatus.starting and same_start:
                state.write(status=HostStatus.stopping)
                try:
                    self._apis[pod].stop()
                except GpuHostUnavailable as exc:
                    reason += f" (stopping it failed: {exc.reason})"
                    state.write(status=HostStatus.starting)
                else:
                    state.write(status=HostStatus.stopped, detail=reason)
                log.warning("gpu.pod_start_abandoned pod=%s reason=%s", pod, reason)
        return GpuHostUnavailable(reason, code="timeout")

    def _stop_idle(self, pods: list[str], busy: bool) -> bool:
        """Stop each of `pods` still idle under the lock; while work is to come (`busy`) the
        last pod up stays whatever the caller saw. True when one was stopped."""
        # No waiting: whoever holds the lock is starting or stopping a pod, so not now.
        with self._pool.locked(0) as held:
            if not held:
                return False
            records = self._pool.read_all()
            stopped = False
            for pod in pods:
                record = records[pod]
                if not self._may_stop(record):
                    continue
                others_up = [
                    p
                    for p, r in records.items()
                    if p != pod and r.status in (HostStatus.ready, HostStatus.starting)
                ]
                if busy and record.status is HostStatus.ready and not others_up:
                    continue
                if self._stop_pod(pod, record):
                    records[pod] = self._pool.pods[pod].read()
                    stopped = True
            return stopped

    def _stop_pod(self, pod: str, record: PodRecord) -> bool:
        state = self._pool.pods[pod]
        previous = record.status or HostStatus.ready
        state.write(status=HostStatus.stopping, detail=f"stopping pod {pod}")
        try:
            self._apis[pod].stop()
        except GpuHostUnavailable as exc:
            log.warning("gpu.pod_stop_failed pod=%s reason=%s", pod, exc.reason)
            state.write(status=previous, detail=f"stopping failed: {exc.reason}")
            return False
        idle = self._clock() - record.active_at
        state.write(
            status=HostStatus.stopped,
            starting_since=None,
            detail=f"GPU pod {pod} stopped after {idle:.0f} s idle",
        )
        log.info("gpu.pod_stopped pod=%s idle_s=%.0f", pod, idle)
        return True

    def _adopt(self, pods: list[str]) -> None:
        """First look at pods no worker has recorded (fresh Redis): learn whether they run.

        A running pod is taken as ready-and-idle from now, so a pod left running by hand or by a
        lost Redis is still stopped after one idle period instead of billing forever.
        """
        with self._pool.locked(0) as held:
            if not held:
                return
            for pod in pods:
                state = self._pool.pods[pod]
                if state.read().status is not None:
                    continue
                try:
                    desired = str(self._apis[pod].get_pod().get("desiredStatus") or "").upper()
                except GpuHostUnavailable as exc:
                    log.warning("gpu.pod_lookup_failed pod=%s reason=%s", pod, exc.reason)
                    continue
                if desired in _UP:
                    state.write(
                        status=HostStatus.ready,
                        last_activity=self._clock(),
                        detail=f"pod {pod} running",
                    )
                else:
                    state.write(status=HostStatus.stopped, detail=f"pod {pod} stopped")

    def _touch_all(self, pods: list[str]) -> None:
        for pod in pods:
            self._pool.pods[pod].touch()

    def _may_stop(self, record: PodRecord) -> bool:
        now = self._clock()
        if record.status in (None, HostStatus.stopped, HostStatus.stopping):
            return False
        if self._starting(record, now):
            return False  # someone is starting it; a stuck start may be stopped
        return now - record.active_at >= self.idle_stop_s

    def _starting(self, record: PodRecord, now: float) -> bool:
        """Whether the pod is being started and that start is not overdue."""
        if record.status is not HostStatus.starting:
            return False
        return now - (record.starting_since or record.since) < self.start_timeout_s

    def _remaining(self, record: PodRecord, estimate: float, now: float) -> float:
        elapsed = now - (record.starting_since or record.since)
        # Past the average the pod is "nearly there" rather than "late by N s".
        return max(estimate - elapsed, 0.1 * estimate)

    def _cold_estimate(self, stats: PoolStats) -> float:
        return stats.cold_avg_s if stats.cold_avg_s is not None else self.cold_start_default_s

    # -- helpers -------------------------------------------------------------------------------

    async def _wait_ready(self, pod: str, starting_since: float, wait_s: float | None) -> str:
        deadline = starting_since + self.start_timeout_s
        give_up_at = time.monotonic() + wait_s if wait_s is not None else float("inf")
        last_error = "no answer yet"
        state = self._pool.pods[pod]
        while True:
            try:
                await self._probe(pod)
            except ProbeFailed as exc:
                if exc.auth:
                    raise GpuHostUnavailable(exc.reason, code="auth") from None
                last_error = exc.reason
            else:
                await self._io(self._finish_start, pod, starting_since)
                return self.urls[pod]
            if self._clock() >= deadline:
                raise await self._io(self._abandon_start, pod, starting_since, last_error)
            record = await self._io(state.read)
            if record.status in (HostStatus.stopped, HostStatus.stopping):
                raise GpuHostUnavailable(
                    f"GPU pod {pod} was stopped while starting: {record.detail}",
                    code="unreachable",
                )
            if time.monotonic() >= give_up_at:
                stats = await self._io(self._pool.stats)
                eta = self._remaining(record, self._cold_estimate(stats), self._clock())
                raise GpuHostStarting(
                    f"GPU pod {pod} is starting; ready in about {eta:.0f} s", eta_s=eta
                )
            pause = min(self._poll_s, max(give_up_at - time.monotonic(), 0.0))
            await asyncio.sleep(pause)

    async def _probe(self, pod: str, timeout_s: float | None = None) -> Health:
        return await probe_health(
            self.urls[pod],
            self._gpu_api_key,
            timeout_s=timeout_s if timeout_s is not None else self._probe_timeout_s,
            transport=self._transport,
        )

    async def _health(
        self, pods: list[str], timeout_s: float, *, raise_auth: bool = True
    ) -> dict[str, Health | ProbeFailed]:
        """Each pod's /health at once (a short timeout: this only ranks and checks pods). A
        refused GPU key is the same for every pod, so a step hears of it at once; the idle
        sweep (`raise_auth=False`) takes it as "not answering", so pods still stop."""
        answers = await asyncio.gather(
            *(self._probe(pod, timeout_s) for pod in pods), return_exceptions=True
        )
        result: dict[str, Health | ProbeFailed] = {}
        for pod, answer in zip(pods, answers, strict=True):
            if isinstance(answer, ProbeFailed):
                if answer.auth and raise_auth:
                    raise GpuHostUnavailable(answer.reason, code="auth")
                result[pod] = answer
            elif isinstance(answer, BaseException):
                raise answer
            else:
                result[pod] = answer
        return result

    async def _io(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking Redis/SDK call in a thread; Redis failures become GpuHostUnavailable."""

        def call() -> T:
            with redis_errors(self._redis_url):
                return fn(*args, **kwargs)

        return await asyncio.to_thread(call)


def _start_rank(record: PodRecord) -> int:
    """Which pods to try first for a start: a pod recorded up (it may only need its server to
    answer), then unknown ones, then stopped ones; a start gone overdue last."""
    order = {
        HostStatus.ready: 0,
        None: 1,
        HostStatus.stopped: 2,
        HostStatus.stopping: 2,
        HostStatus.starting: 3,
    }
    return order[record.status]


def _combined(errors: list[GpuHostUnavailable]) -> GpuHostUnavailable:
    """One error for a start that every pod refused: a single pod's own, else all reasons."""
    if len(errors) == 1:
        return errors[0]
    codes = {e.code for e in errors}
    code = "no_gpu" if "no_gpu" in codes else errors[0].code
    return GpuHostUnavailable(
        "no pod of the pool could be started: " + "; ".join(e.reason for e in errors), code=code
    )


def _join(summary: str, detail: str) -> str:
    return f"{summary}; {detail}" if detail else summary


def _describe(client: redis.Redis) -> str:
    """Where the client points, without any password, for error messages."""
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}"
    return f"redis://{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"
