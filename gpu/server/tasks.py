"""Inference tasks: a thread pool runs engines; state is plain Python behind one lock.

The app may be driven from several asyncio event loops in different threads at once (embedded
mode), so nothing here touches asyncio: callers only ever take a threading lock briefly.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from gpu.engines.base import Engine, EngineError, EngineOutput
from gpu.schemas import InferKind, TaskInfo, TaskResult, TaskState
from gpu.server.files import FileStore, StoredFile

log = logging.getLogger("skyie.gpu.tasks")


class TaskNotFound(KeyError):
    """No task with this id (never created, or finished long enough ago to be forgotten)."""


@dataclass
class Task:
    id: str
    kind: InferKind
    request: BaseModel
    engine: Engine
    inputs: dict[str, StoredFile]
    state: TaskState = TaskState.queued
    progress: float = 0.0
    error: str | None = None
    result: TaskResult | None = None
    created: float = field(default_factory=time.monotonic)
    finished: float | None = None


class TaskManager:
    def __init__(self, files: FileStore, work_root: Path, concurrency: int, ttl_s: float) -> None:
        self.files = files
        self.work_root = work_root
        shutil.rmtree(work_root, ignore_errors=True)
        work_root.mkdir(parents=True, exist_ok=True)
        self.concurrency = concurrency
        self.ttl_s = ttl_s
        self._tasks: dict[str, Task] = {}
        self._queue: OrderedDict[str, None] = OrderedDict()  # queued ids in submission order
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    def _pool(self) -> ThreadPoolExecutor:
        # Created on first use, not at startup: ASGI lifespan may never run in embedded mode.
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.concurrency, thread_name_prefix="gpu-task")
            return self._executor

    def submit(
        self, kind: InferKind, request: BaseModel, engine: Engine, inputs: dict[str, StoredFile]
    ) -> Task:
        """Queue a task; the inputs must already be pinned (they are released when it ends)."""
        self._prune()
        task = Task(
            id=f"t_{uuid.uuid4().hex}", kind=kind, request=request, engine=engine, inputs=inputs
        )
        with self._lock:
            self._tasks[task.id] = task
            self._queue[task.id] = None
        self._pool().submit(self._run, task)
        log.info("gpu.task_queued task_id=%s kind=%s", task.id, kind)
        return task

    def info(self, task_id: str) -> TaskInfo:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                raise TaskNotFound(task_id)
            position = 0
            if task.state is TaskState.queued:
                position = list(self._queue).index(task_id) + 1
            return TaskInfo(
                id=task.id, kind=task.kind, state=task.state, progress=task.progress,
                queue_position=position, error=task.error, result=task.result,
            )  # fmt: skip

    def counts(self) -> tuple[int, int]:
        """(queued, running)."""
        with self._lock:
            running = sum(1 for t in self._tasks.values() if t.state is TaskState.running)
            return len(self._queue), running

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=not wait)

    def _run(self, task: Task) -> None:
        with self._lock:
            task.state = TaskState.running
            self._queue.pop(task.id, None)
        out_dir = self.work_root / task.id
        out_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        try:
            paths = {name: stored.path for name, stored in task.inputs.items()}
            output = task.engine(task.request, paths, out_dir, lambda f: self._progress(task, f))
            result = self._store_outputs(output)
        except EngineError as exc:
            self._finish(task, error=str(exc))
        except Exception as exc:  # an engine bug must fail its task, never the server
            log.exception("gpu.task_crashed task_id=%s kind=%s", task.id, task.kind)
            self._finish(task, error=f"{task.kind} engine crashed: {type(exc).__name__}: {exc}")
        else:
            self._finish(task, result=result)
            log.info(
                "gpu.task_done task_id=%s kind=%s seconds=%.2f",
                task.id,
                task.kind,
                time.monotonic() - started,
            )
        finally:
            self.files.unpin(list(task.inputs.values()))
            shutil.rmtree(out_dir, ignore_errors=True)

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
