"""Inference tasks: worker threads run engines; state is plain Python behind one lock.

The app may be driven from several asyncio event loops in different threads at once (embedded
mode), so nothing here touches asyncio: callers only ever take a threading lock briefly.

The queue is bounded (a full queue refuses new work; the client retries later). A free worker
takes tasks by class, as the client marks them: a paid job's first GPU step, then any job's
first step (its person watches a progress bar that has not moved yet), then paid jobs' tasks,
then the rest. Within the paid class and within the rest it swaps models as rarely as
possible: the oldest task whose model is already loaded or was just used, and only then the
oldest. No task waits longer than `max_group_wait_s`, so neither priority nor grouping ever
starves anyone.
"""

from __future__ import annotations

import logging
import shutil
import statistics
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from gpu.engines.base import Engine, EngineError, EngineOutput, is_out_of_memory
from gpu.schemas import InferKind, TaskInfo, TaskResult, TaskState
from gpu.server.files import FileStore, StoredFile

log = logging.getLogger("skyie.gpu.tasks")


class TaskNotFound(KeyError):
    """No task with this id (never created, or finished long enough ago to be forgotten)."""


class QueueFull(Exception):
    """The queue holds `max_queued` tasks already; `retry_after_s` is a fair time to wait."""

    def __init__(self, queued: int, retry_after_s: int) -> None:
        super().__init__(f"the GPU queue is full ({queued} tasks waiting); retry later")
        self.retry_after_s = retry_after_s


@dataclass
class Task:
    id: str
    kind: InferKind
    request: BaseModel
    engine: Engine
    inputs: dict[str, StoredFile]
    model: str | None = None  # what the engine loads; tasks of one model are run together
    first: bool = False  # a job's first GPU step: run before others, so work visibly begins
    paid: bool = False  # a job of a plan with priority: run before other plans' work
    state: TaskState = TaskState.queued
    progress: float = 0.0
    error: str | None = None
    result: TaskResult | None = None
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None


class TaskManager:
    def __init__(
        self,
        files: FileStore,
        work_root: Path,
        concurrency: int,
        ttl_s: float,
        *,
        max_queued: int = 64,
        max_group_wait_s: float = 300.0,
        is_loaded: Callable[[str], bool] | None = None,
        on_out_of_memory: Callable[[], object] | None = None,
        housekeeping: Callable[[], object] | None = None,
        housekeeping_s: float = 30.0,
    ) -> None:
        self.files = files
        self.work_root = work_root
        shutil.rmtree(work_root, ignore_errors=True)
        work_root.mkdir(parents=True, exist_ok=True)
        self.concurrency = concurrency
        self.ttl_s = ttl_s
        self.max_queued = max_queued
        self.max_group_wait_s = max_group_wait_s
        self._is_loaded = is_loaded or (lambda _model: False)
        self._on_oom = on_out_of_memory
        self._housekeeping = housekeeping
        self.housekeeping_s = housekeeping_s
        self._tasks: dict[str, Task] = {}
        self._queue: OrderedDict[str, None] = OrderedDict()  # queued ids in submission order
        self._cond = threading.Condition()
        self._lock = self._cond  # one lock for all state
        self._workers: list[threading.Thread] = []
        self._last_model: str | None = None
        self._closed = False
        self._seconds: list[float] = []  # recent task run times, for Retry-After
        self._by_key: dict[str, str] = {}  # idempotency key -> task id

    def _start_workers(self) -> None:
        # Started on first use, not at startup: ASGI lifespan may never run in embedded mode.
        with self._cond:
            if self._workers or self._closed:
                return
            for n in range(self.concurrency):
                worker = threading.Thread(target=self._work, name=f"gpu-task-{n}", daemon=True)
                self._workers.append(worker)
                worker.start()

    def submit(
        self,
        kind: InferKind,
        request: BaseModel,
        engine: Engine,
        inputs: dict[str, StoredFile],
        model: str | None = None,
        key: str | None = None,
        first: bool = False,
        paid: bool = False,
    ) -> Task:
        """Queue a task; the inputs must already be pinned (they are released when it ends).
        Raises QueueFull when `max_queued` tasks are waiting already.

        A `key` makes the submit idempotent: while a task submitted with the same key is
        queued, running or succeeded, that task is returned instead of a new one (a client
        that restarted mid-wait resumes it rather than paying for the work twice)."""
        self._prune()
        task = Task(
            id=f"t_{uuid.uuid4().hex}",
            kind=kind,
            request=request,
            engine=engine,
            inputs=inputs,
            model=model,
            first=first,
            paid=paid,
        )
        with self._cond:
            if self._closed:
                raise QueueFull(len(self._queue), 60)  # shutting down: another server will do
            known = self._tasks.get(self._by_key.get(key, "")) if key else None
            if known is not None and self._resumable(known):
                return known
            if len(self._queue) >= self.max_queued:
                raise QueueFull(len(self._queue), self._retry_after())
            self._tasks[task.id] = task
            self._queue[task.id] = None
            if key:
                self._by_key[key] = task.id
            self._cond.notify()
        self._start_workers()
        log.info(
            "gpu.task_queued task_id=%s kind=%s model=%s first=%s paid=%s",
            task.id, kind, model, first, paid,
        )  # fmt: skip
        return task

    def _resumable(self, task: Task) -> bool:
        """A task worth returning again: under way, or done with its outputs still here."""
        if task.state is TaskState.failed:
            return False
        if task.state is TaskState.succeeded and task.result is not None:
            return all(self.files.exists(i) for i in task.result.files.values())
        return True

    def _retry_after(self) -> int:
        # Roughly when one queue slot frees up: a typical task's time over the workers.
        typical = statistics.median(self._seconds) if self._seconds else 30.0
        return max(1, min(600, round(typical / self.concurrency)))

    def _next(self) -> Task | None:
        """The task a free worker should run now (call with the lock held)."""
        if not self._queue:
            return None
        queued = [self._tasks[i] for i in self._queue]
        if time.monotonic() - queued[0].created >= self.max_group_wait_s:
            return queued[0]
        best = min(map(_rank, queued))
        ahead = [task for task in queued if _rank(task) == best]
        if ahead[0].first:
            return ahead[0]  # first steps in arrival order, whatever their model
        for task in ahead:
            if task.model is not None and (
                task.model == self._last_model or self._is_loaded(task.model)
            ):
                return task
        return ahead[0]

    def _work(self) -> None:
        while True:
            with self._cond:
                task = self._next()
                while task is None:
                    if self._closed:
                        return
                    if not self._cond.wait(self.housekeeping_s) and self._housekeeping:
                        # Idle: unload models nobody has used for a while (outside the lock).
                        self._cond.release()
                        try:
                            self._housekeeping()
                        except Exception:
                            log.exception("gpu.housekeeping_failed")
                        finally:
                            self._cond.acquire()
                    task = self._next()
                task.state, task.started = TaskState.running, time.monotonic()
                self._queue.pop(task.id, None)
                if task.model is not None:
                    self._last_model = task.model
            try:
                self._run(task)
            except BaseException as exc:  # the worker thread must outlive any one task
                log.exception("gpu.task_runner_failed task_id=%s", task.id)
                self._finish(task, error=f"{task.kind} could not run: {type(exc).__name__}: {exc}")

    def info(self, task_id: str) -> TaskInfo:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                raise TaskNotFound(task_id)
            position = 0
            if task.state is TaskState.queued:
                # By class, then arrival (a stable sort); model grouping aside.
                order = sorted(self._queue, key=lambda i: _rank(self._tasks[i]))
                position = order.index(task_id) + 1
            return TaskInfo(
                id=task.id, kind=task.kind, state=task.state, progress=task.progress,
                queue_position=position, error=task.error, result=task.result,
            )  # fmt: skip

    def first_step_wait_s(self) -> float:
        """How long a job's first step submitted now would wait: until a worker frees (a
        running task's remaining time, judged by its progress or by typical task times), then
        behind the first steps already waiting. That is a free job's wait; a paid job's first
        step passes free ones, so this errs long for it, never short."""
        now = time.monotonic()
        typical = statistics.median(self._seconds) if self._seconds else 60.0
        with self._lock:
            running = [t for t in self._tasks.values() if t.state is TaskState.running]
            ahead = sum(1 for i in self._queue if self._tasks[i].first)
        if len(running) < self.concurrency:
            free_in = 0.0
        else:
            free_in = min(_remaining(t, now, typical) for t in running)
        return round(free_in + ahead * typical / self.concurrency, 1)

    def counts(self) -> tuple[int, int]:
        """(queued, running)."""
        with self._lock:
            running = sum(1 for t in self._tasks.values() if t.state is TaskState.running)
            return len(self._queue), running

    def shutdown(self, wait: bool = True) -> None:
        with self._cond:
            self._closed = True
            dropped = []
            if not wait:
                for task_id in list(self._queue):
                    self._queue.pop(task_id)
                    task = self._tasks[task_id]
                    task.state, task.finished = TaskState.failed, time.monotonic()
                    task.error = "the GPU server shut down before this task ran"
                    dropped.append(task)
            self._cond.notify_all()
            workers, self._workers = self._workers, []
        for task in dropped:
            self.files.unpin(list(task.inputs.values()))
        if wait:
            for worker in workers:
                worker.join()

    def _run(self, task: Task) -> None:
        out_dir = self.work_root / task.id
        started = time.monotonic()
        out_of_memory: str | None = None  # the error to report, once the models are unloaded
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            paths = {name: stored.path for name, stored in task.inputs.items()}
            output = task.engine(task.request, paths, out_dir, lambda f: self._progress(task, f))
            result = self._store_outputs(output)
        except EngineError as exc:
            self._finish(task, error=str(exc))
        except Exception as exc:  # an engine bug must fail its task, never the server
            if is_out_of_memory(exc):
                out_of_memory = (
                    f"{task.kind} ran out of GPU memory ({exc}); the models were unloaded, "
                    "a smaller resolution or preset may fit"
                )
            else:
                log.exception("gpu.task_crashed task_id=%s kind=%s", task.id, task.kind)
                self._finish(task, error=f"{task.kind} engine crashed: {type(exc).__name__}: {exc}")
        else:
            self._finish(task, result=result)
            seconds = time.monotonic() - started
            with self._cond:
                self._seconds = [*self._seconds[-19:], seconds]
            log.info("gpu.task_done task_id=%s kind=%s seconds=%.2f", task.id, task.kind, seconds)
        finally:
            self.files.unpin(list(task.inputs.values()))
            shutil.rmtree(out_dir, ignore_errors=True)
        if out_of_memory is not None:
            # Outside the except block: its traceback held the engine's frames, and with them
            # the very model whose memory is to be freed. The task fails once that is done.
            try:
                if self._on_oom is not None:
                    self._on_oom()
            except Exception:
                log.exception("gpu.unload_after_oom_failed")
            self._finish(task, error=out_of_memory)

    def _store_outputs(self, output: EngineOutput) -> TaskResult:
        missing = [role for role, path in output.files.items() if not path.is_file()]
        if missing:
            raise EngineError(f"engine produced no file for {', '.join(missing)}")
        files = {role: self.files.adopt(path).id for role, path in output.files.items()}
        return TaskResult(
            files=files, duration_s=output.duration_s, words=output.words,
            width=output.width, height=output.height, engine=output.engine,
        )  # fmt: skip

    def _progress(self, task: Task, fraction: float) -> None:
        # Progress only moves forward, and reaches 1.0 only when the result is stored.
        with self._lock:
            task.progress = max(task.progress, min(max(float(fraction), 0.0), 0.99))

    def _finish(
        self, task: Task, *, result: TaskResult | None = None, error: str | None = None
    ) -> None:
        with self._lock:
            task.finished = time.monotonic()
            if error is None:
                task.state, task.progress, task.result = TaskState.succeeded, 1.0, result
            else:
                task.state, task.error = TaskState.failed, error
        if error is not None:
            log.warning("gpu.task_failed task_id=%s kind=%s error=%s", task.id, task.kind, error)

    def _prune(self) -> None:
        cutoff = time.monotonic() - self.ttl_s
        with self._lock:
            for task_id in [
                i for i, t in self._tasks.items() if t.finished and t.finished < cutoff
            ]:
                del self._tasks[task_id]
            self._by_key = {k: i for k, i in self._by_key.items() if i in self._tasks}


def _rank(task: Task) -> tuple[bool, bool]:
    """The task's class; lower runs sooner: paid first step, first step, paid, the rest."""
    return not task.first, not task.paid


def _remaining(task: Task, now: float, typical: float) -> float:
    elapsed = now - (task.started or now)
    if task.progress >= 0.05:
        return elapsed * (1 - task.progress) / task.progress
    return max(typical - elapsed, 0.0)
