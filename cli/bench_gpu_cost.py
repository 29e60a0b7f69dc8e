"""`skyie bench gpu-cost`: a month of moderate use, simulated under four pod policies.

Jobs arrive with two daily peaks (late morning, evening) and a quiet night; each is one of the
three workflows with its real step graph: GPU steps (speech, lip-sync, image-to-video, music,
captions), off-GPU steps that delay them (FLUX key frames over the Hugging Face API, CPU renders),
and model loads on a pod's first use of a model. Every policy sees the same arrivals and the same
step durations; a pod is billed from the moment it is asked to start until it has stopped.

Policies: ours, as gpu/pods/runpod.py and the GPU server run it (a job's first GPU step goes
ahead of queued work; another pod starts only when a new job's first step would wait longer
than a cold start plus a minute; the last pod stays while a job in flight has GPU steps to come,
and pods stop a few seconds after that), always on (one pod), start per job (a fresh pod for
each job, stopped when its GPU work is done), and a fixed 10-minute idle stop (one pod). The
cold start is the pod's boot (RunPod resume, assumed) plus the GPU server's own start (measured
here by starting it) plus each model's first load. One simplification: waiting GPU steps form
one queue any free pod takes from, where production routes each step to the least-loaded pod
when it is submitted.
"""

from __future__ import annotations

import heapq
import itertools
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from gpu.pods.policy import PodPolicy

DAY_S = 86_400.0
# Share of the day's jobs arriving in each hour (local time): two peaks, a quiet night.
HOURLY = [1, 1, 1, 1, 1, 2, 3, 5, 7, 9, 10, 9, 7, 6, 6, 6, 7, 8, 10, 11, 9, 6, 3, 2]
# Seconds to load each model onto a fresh pod (weights on the pod's NVMe volume, H100).
MODEL_LOAD_S = {
    "fish-speech": 8,
    "liveportrait": 6,
    "faster-whisper": 4,
    "wan-i2v": 45,
    "musicgen": 8,
}


@dataclass(frozen=True)
class Step:
    name: str
    seconds: float  # mean duration on an H100 (GPU) or wall time (off-GPU)
    model: str | None = None  # None: off the GPU (CPU render, FLUX over the API)
    after: tuple[str, ...] = ()


def _talking(n: int, line_s: float) -> list[Step]:
    return [
        Step(f"tts{n}", 0.12 * line_s, "fish-speech"),
        Step(f"lipsync{n}", 1.4 * line_s, "liveportrait", (f"tts{n}",)),
    ]


def _broll(n: int) -> list[Step]:
    # Wan 2.2 I2V-A14B, fast preset (480p, 81 frames, distilled steps) on an H100.
    return [Step(f"key{n}", 7), Step(f"i2v{n}", 140, "wan-i2v", (f"key{n}",))]


WORKFLOWS: dict[str, tuple[float, float, list[Step]]] = {
    # name: (share of jobs, finished minutes, steps)
    "talking head": (
        0.40,
        0.75,
        [
            *_talking(0, 45),
            Step("background", 7),
            Step("captions", 5, "faster-whisper", ("tts0",)),
            Step("render", 20, None, ("lipsync0", "background", "captions")),
        ],
    ),
    "b-roll": (
        0.25,
        0.5,
        [
            *itertools.chain.from_iterable(_broll(n) for n in range(5)),
            Step("music", 25, "musicgen"),
            Step("render", 25, None, (*(f"i2v{n}" for n in range(5)), "music")),
        ],
    ),
    "full production": (
        0.35,
        1.0,
        [
            *_talking(0, 12),
            *_talking(1, 10),
            *itertools.chain.from_iterable(_broll(n) for n in range(2, 5)),
            Step("music", 25, "musicgen"),
            Step("captions", 6, "faster-whisper", ("tts0", "tts1")),
            Step(
                "render",
                30,
                None,
                ("lipsync0", "lipsync1", "i2v2", "i2v3", "i2v4", "music", "captions"),
            ),
        ],
    ),
}


@dataclass
class Task:
    job: Job
    step: Step
    seconds: float
    ready_at: float = 0.0
    started: float | None = None
    ends: float | None = None


@dataclass
class Job:
    id: int
    arrives: float
    workflow: str
    minutes: float
    tasks: dict[str, Task] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    first_gpu_start: float | None = None
    finished: float | None = None


@dataclass
class Pod:
    id: int
    requested: float
    ready_at: float
    owner: int | None = None  # per-job policy: the job it serves
    task: Task | None = None
    models: set[str] = field(default_factory=set)
    idle_since: float = 0.0
    stopped: float | None = None


Arrival = tuple[float, str, dict[str, float]]  # when, which workflow, each step's seconds


def arrivals(days: int, jobs_per_day: float, seed: int) -> list[Arrival]:
    """(time, workflow, step durations) of every job: a Poisson process shaped by HOURLY."""
    rng = random.Random(seed)
    peak = max(HOURLY) / sum(HOURLY) * jobs_per_day / 3600  # highest rate, per second
    names = list(WORKFLOWS)
    shares = [WORKFLOWS[n][0] for n in names]
    out: list[Arrival] = []
    t = 0.0
    while True:
        t += rng.expovariate(peak)
        if t >= days * DAY_S:
            return out
        hour = int(t % DAY_S // 3600)
        if rng.random() > HOURLY[hour] / max(HOURLY):  # thinning to the hour's rate
            continue
        name = rng.choices(names, shares)[0]
        durations = {
            s.name: s.seconds * math.exp(rng.gauss(0, 0.25) - 0.25**2 / 2)
            for s in WORKFLOWS[name][2]
        }
        out.append((t, name, durations))


@dataclass
class Result:
    name: str
    pod_seconds: float
    inference_s: float
    minutes: float
    waits: list[float]
    starts: int

    def dollars_per_minute(self, price_per_h: float) -> float:
        return self.pod_seconds / 3600 * price_per_h / self.minutes

    def p95_wait(self) -> float:
        return statistics.quantiles(self.waits, n=20)[-1]


class Simulation:
    """Discrete events: arrivals, steps ending, pods ready, idle checks."""

    def __init__(
        self,
        policy: str,
        jobs: list[Arrival],
        *,
        boot_s: float,
        days: int,
        max_pods: int = 3,
        idle_stop_s: float = 5.0,
    ) -> None:
        self.policy = policy
        self.boot_s = boot_s
        # SKYIE_GPU_IDLE_STOP_S, plus half the workers' check period on average (jobs/worker.py).
        self.idle_stop_s = idle_stop_s + 2.5
        self.end = days * DAY_S
        # The break-even a stop must beat: booting again and reloading the models.
        self.rules = PodPolicy(boot_s + statistics.mean(MODEL_LOAD_S.values()), max_pods)
        self.events: list[tuple[float, int, str, object]] = []
        self.seq = itertools.count()
        self.pods: list[Pod] = []
        self.waiting: list[Task] = []
        self.jobs: list[Job] = []
        self.inference_s = 0.0
        self.task_avg_s = 60.0  # the pool's starting guess (SKYIE_GPU_TYPICAL_TASK_S)
        for n, (t, name, durations) in enumerate(jobs):
            self._at(t, "arrive", (n, name, durations))

    def _at(self, t: float, kind: str, payload: object = None) -> None:
        heapq.heappush(self.events, (t, next(self.seq), kind, payload))

    def run(self) -> Result:
        if self.policy == "always on":
            self._start_pod(0.0)
        while self.events:
            t, _, kind, payload = heapq.heappop(self.events)
            if kind == "arrive":
                self._arrive(t, *payload)  # type: ignore[misc]
            elif kind == "step_done":
                self._step_done(t, payload)  # type: ignore[arg-type]
            elif kind == "offgpu_done":
                self._complete(t, payload)  # type: ignore[arg-type]
            # "pod_ready" and "check" only need the decisions below to run.
            self._decide(t)
        for pod in self.pods:
            if pod.stopped is None:
                pod.stopped = max(self.end, pod.idle_since)
        finished = [j for j in self.jobs if j.finished is not None]
        return Result(
            self.policy,
            sum(p.stopped - p.requested for p in self.pods if p.stopped is not None),
            self.inference_s,
            sum(j.minutes for j in finished),
            [j.first_gpu_start - j.arrives for j in finished if j.first_gpu_start is not None],
            len(self.pods),
        )

    # --- jobs -------------------------------------------------------------------------------
    def _arrive(self, t: float, n: int, name: str, durations: dict[str, float]) -> None:
        _, minutes, steps = WORKFLOWS[name]
        job = Job(n, t, name, minutes)
        job.tasks = {s.name: Task(job, s, durations[s.name]) for s in steps}
        self.jobs.append(job)
        if self.policy == "start per job":
            self._start_pod(t, owner=job.id)
        self._release(t, job)

    def _release(self, t: float, job: Job) -> None:
        """Start every step whose inputs are done: GPU steps queue, others just take time."""
        for task in job.tasks.values():
            if task.started is not None or task in self.waiting:
                continue
            if task.step.name in job.done or not all(a in job.done for a in task.step.after):
                continue
            task.ready_at = t
            if task.step.model is None:
                task.started, task.ends = t, t + task.seconds
                self._at(task.ends, "offgpu_done", task)
            else:
                self.waiting.append(task)

    def _complete(self, t: float, task: Task) -> None:
        job = task.job
        job.done.add(task.step.name)
        if len(job.done) == len(job.tasks):
            job.finished = t
        self._release(t, job)

    def _step_done(self, t: float, pod: Pod) -> None:
        task = pod.task
        assert task is not None
        pod.task, pod.idle_since = None, t
        self.task_avg_s += 0.3 * (task.seconds - self.task_avg_s)  # as note_activity learns it
        self._complete(t, task)
        if self.policy == "fixed 10-minute idle":
            self._at(t + 600, "check")

    # --- pods -------------------------------------------------------------------------------
    def _start_pod(self, t: float, owner: int | None = None) -> Pod:
        pod = Pod(len(self.pods), t, t + self.boot_s, owner, idle_since=t + self.boot_s)
        self.pods.append(pod)
        self._at(pod.ready_at, "pod_ready")
        return pod

    def _up(self) -> list[Pod]:
        return [p for p in self.pods if p.stopped is None]

    def _decide(self, t: float) -> None:
        self._scale(t)
        self._dispatch(t)
        self._stop_idle(t)

    def _scale(self, t: float) -> None:
        up = self._up()
        if self.policy == "ours":
            wanted = self.rules.pods_wanted(pods_up=len(up), new_job_wait_s=self._new_job_wait(t))
            for _ in range(wanted - len(up)):
                self._start_pod(t)
        elif self.policy == "fixed 10-minute idle" and self.waiting and not up:
            self._start_pod(t)

    def _new_job_wait(self, t: float) -> float | None:
        """How long a job whose GPU work has not begun would wait, as the pool estimates it
        (gpu/pods/runpod.py): the shortest wait a ready pod reports for a first step (its
        running task's remaining time, then the first steps already waiting, which run ahead
        of other work), or a starting pod's remaining boot. None: no such job waits."""
        firsts = len({w.job.id for w in self.waiting if w.job.first_gpu_start is None})
        if not firsts:
            return None
        up = self._up()
        ready = [p for p in up if p.ready_at <= t]
        wait = math.inf
        if ready:
            ahead = (firsts - 1) * self.task_avg_s / len(ready)
            wait = min(max(0.0, (p.task.ends or t) - t) if p.task else 0.0 for p in ready)
            wait += ahead
        for pod in up:
            if pod.ready_at > t:
                wait = min(wait, pod.ready_at - t)
        return wait

    def _dispatch(self, t: float) -> None:
        for pod in self._up():
            if pod.task is not None or pod.ready_at > t:
                continue
            mine = [w for w in self.waiting if pod.owner is None or w.job.id == pod.owner]
            if not mine:
                continue
            # A job's first GPU step goes first (the person sees work begin), then a task whose
            # model this pod holds (no load), then the oldest: the GPU server's order.
            task = next(
                (w for w in mine if w.job.first_gpu_start is None),
                next((w for w in mine if w.step.model in pod.models), mine[0]),
            )
            self.waiting.remove(task)
            load = 0.0 if task.step.model in pod.models else MODEL_LOAD_S[task.step.model or ""]
            pod.models.add(task.step.model or "")
            task.started, task.ends = t, t + load + task.seconds
            self.inference_s += task.seconds
            pod.task = task
            if task.job.first_gpu_start is None:
                task.job.first_gpu_start = t + load  # the work itself starts after the load
            self._at(task.ends, "step_done", pod)

    def _stop_idle(self, t: float) -> None:
        for pod in self._up():
            if pod.task is not None or pod.ready_at > t:
                continue
            if self.policy == "always on":
                continue
            if self.policy == "start per job":
                job = self.jobs[pod.owner] if pod.owner is not None else None
                gpu_left = job is not None and any(
                    task.step.model and task.step.name not in job.done
                    for task in job.tasks.values()
                )
                if not gpu_left:
                    pod.stopped = t
                continue
            if self.waiting:
                continue
            if self.policy == "fixed 10-minute idle":
                if t - pod.idle_since >= 600 - 1e-6:
                    pod.stopped = t
                continue
            # Production's rule (gpu/pods/runpod.py maybe_stop): while a job in flight has GPU
            # steps to come, the last pod up stays; otherwise a pod idle for the grace stops.
            up = self._up()
            if self.rules.keep_warm(gpu_steps_to_come=self._gpu_steps_to_come()) and len(up) == 1:
                continue
            if t - pod.idle_since >= self.idle_stop_s - 1e-6:
                pod.stopped = t
            else:
                self._at(pod.idle_since + self.idle_stop_s, "check")

    def _gpu_steps_to_come(self) -> bool:
        return any(
            task.step.model is not None and task.started is None
            for job in self.jobs[-50:]
            if job.finished is None
            for task in job.tasks.values()
        )


def measure_server_start() -> float:
    """Seconds from starting `python -m gpu.server` to its /health answering, on this machine."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "SKYIE_GPU_API_KEY": "bench", "SKYIE_GPU_ENGINES": "lite"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gpu.server", "--port", str(port)],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while time.perf_counter() - started < 60:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/health",
                    headers={"Authorization": "Bearer bench"},
                    timeout=1,
                )
                if response.status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the GPU server did not answer /health within 60 s")
    finally:
        proc.terminate()
        proc.wait(10)


POLICIES = ("ours", "always on", "start per job", "fixed 10-minute idle")


def run_gpu_cost_bench(
    say: Callable[[str], None],
    *,
    days: int = 30,
    jobs_per_day: float = 100,
    pod_boot_s: float = 40.0,
    price_per_h: float = 2.69,
    seed: int = 7,
) -> list[str]:
    server_s = measure_server_start()
    boot = pod_boot_s + server_s
    say(f"GPU server start measured here: {server_s:.1f} s")
    jobs = arrivals(days, jobs_per_day, seed)
    results = {name: Simulation(name, jobs, boot_s=boot, days=days).run() for name in POLICIES}
    ours = results["ours"]
    cold = boot + statistics.mean(MODEL_LOAD_S.values())
    lines = [
        f"{len(jobs)} jobs in {days} days ({jobs_per_day:g}/day, two daily peaks), "
        f"{ours.inference_s / 3600:.1f} GPU-hours of inference, "
        f"{ours.minutes:.0f} finished video minutes, ${price_per_h:.2f}/GPU-hour",
        f"cold start: pod boot {pod_boot_s:.0f} s (assumed) + server start {server_s:.1f} s "
        f"(measured) + first model load ({min(MODEL_LOAD_S.values())}-"
        f"{max(MODEL_LOAD_S.values())} s) = about {cold:.0f} s",
        f"pure inference: ${ours.inference_s / 3600 * price_per_h / ours.minutes:.3f} "
        "per finished video minute",
    ]
    for name in POLICIES:
        r = results[name]
        lines.append(
            f"{name:<21} ${r.dollars_per_minute(price_per_h):.3f}/video-min  "
            f"cost/inference {r.pod_seconds / r.inference_s:5.2f}  "
            f"p95 wait {r.p95_wait():6.0f} s  pod starts {r.starts}"
        )
    lines.append(f"p95 wait goal (cold start + 60 s): {cold + 60:.0f} s")
    lines.append(f"cost/inference = {ours.pod_seconds / ours.inference_s:.2f}")
    return lines
