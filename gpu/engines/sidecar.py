"""Worker processes in other Python environments, driven over JSON lines (see gpu.sidecars).

Fish Speech and LivePortrait each need their own dependencies (their own torch, hydra, onnx
runtime…) that cannot share this process. A `Sidecar` runs such a worker script in its own
interpreter and process group, sends one request per line and reads progress lines and one
response back. A worker that dies or stops answering is killed and reported as an EngineError
carrying the tail of its stderr; the next request starts a fresh one.

The running worker IS the loaded model: `sidecar_spec` wraps it in a `ModelSpec` whose `load`
starts the process and waits for its ready line and whose `unload` stops it, so the shared
ModelCache applies its VRAM budget, LRU eviction and idle unloading to sidecars as well.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import itertools
import json
import logging
import os
import queue
import signal
import subprocess
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

from gpu.engines.base import EngineError, ProgressFn, no_progress
from gpu.engines.cache import ModelCache, ModelSpec

log = logging.getLogger("skyie.gpu.sidecar")

STDERR_TAIL_LINES = 12  # how much of the worker's stderr an error message quotes
_STDERR_KEEP_LINES = 400  # how much is kept in memory (and mirrored to the log file)
_STOP_GRACE_S = 5.0


class WorkerError(EngineError):
    """The worker answered a request with an error; `oom` when it ran out of GPU memory."""

    def __init__(self, message: str, *, oom: bool = False) -> None:
        super().__init__(message)
        self.oom = oom


_live_processes: weakref.WeakSet[_Process] = weakref.WeakSet()


@atexit.register
def _stop_live_processes() -> None:
    """Workers run in their own sessions, so nothing else stops them when the server exits;
    a worker busy with a long request would keep holding its GPU memory."""
    for proc in list(_live_processes):
        if proc.alive():
            proc.kill()


class _Process:
    """One started worker: the Popen plus the threads draining its stdout and stderr.

    Each process gets its own line queue, so nothing a killed worker wrote can be mistaken
    for the answer to a later request.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None,
        cwd: Path | None,
        stderr_lines: collections.deque[str],
        log_file: Path | None,
        name: str,
    ) -> None:
        self.popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            start_new_session=True,  # its own process group: killing it kills its children
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        assert self.popen.stdout is not None and self.popen.stderr is not None
        self._threads = [
            threading.Thread(
                target=self._pump_stdout,
                args=(self.popen.stdout,),
                name=f"{name}-stdout",
                daemon=True,
            ),
            threading.Thread(
                target=self._pump_stderr,
                args=(self.popen.stderr, stderr_lines, log_file, name),
                name=f"{name}-stderr",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()
        _live_processes.add(self)

    def _pump_stdout(self, stream: IO[bytes]) -> None:
        with contextlib.suppress(OSError, ValueError):  # the stream closed under us
            for raw in stream:
                self.lines.put(raw.decode("utf-8", errors="replace"))
        self.lines.put(None)  # end of stream: the worker exited (or closed its stdout)

    @staticmethod
    def _pump_stderr(
        stream: IO[bytes], keep: collections.deque[str], log_file: Path | None, name: str
    ) -> None:
        sink = open(log_file, "a", encoding="utf-8") if log_file else None  # noqa: SIM115
        try:
            for raw in stream:
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                keep.append(line)
                log.debug("gpu.sidecar_stderr name=%s line=%s", name, line)
                if sink is not None:
                    sink.write(line + "\n")
                    sink.flush()
        except (OSError, ValueError):
            pass  # the stream closed under us
        finally:
            if sink is not None:
                sink.close()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def send(self, message: Mapping[str, Any]) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write((json.dumps(message) + "\n").encode())
        self.popen.stdin.flush()

    def kill(self) -> None:
        """Kill the whole process group at once and reap it."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.popen.kill()
        self.popen.wait()
        self._close_pipes()

    def stop(self, grace_s: float) -> None:
        """Ask politely (end of stdin), then SIGTERM the group, then SIGKILL it."""
        if self.alive():
            with contextlib.suppress(OSError, ValueError):
                assert self.popen.stdin is not None
                self.popen.stdin.close()
            try:
                self.popen.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.popen.pid, signal.SIGTERM)
                try:
                    self.popen.wait(timeout=grace_s)
                except subprocess.TimeoutExpired:
                    self.kill()
                    return
        # The worker is gone; members of its group it left behind go with it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self._close_pipes()

    def _close_pipes(self) -> None:
        # The pumps reach end-of-stream once the process group is gone; let them drain the
        # last lines (a crash message) before the pipes close.
        for thread in self._threads:
            thread.join(timeout=2.0)
        for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.close()


class Sidecar:
    """A client for one worker process speaking the gpu.sidecars protocol.

    The process starts on `start()` or on the first request; one request runs at a time.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        start_timeout_s: float = 600.0,
        log_file: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.cwd = cwd
        self.start_timeout_s = start_timeout_s
        self.log_file = log_file
        self._stderr: collections.deque[str] = collections.deque(maxlen=_STDERR_KEEP_LINES)
        self._proc: _Process | None = None
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self.starts = 0  # how many times a worker process was started

    @property
    def pid(self) -> int | None:
        """The running worker's process id, or None."""
        proc = self._proc
        return proc.pid if proc is not None and proc.alive() else None

    @property
    def running(self) -> bool:
        proc = self._proc
        return proc is not None and proc.alive()

    def stderr_tail(self, lines: int = STDERR_TAIL_LINES) -> str:
        """The last lines the worker wrote to stderr, joined for an error message."""
        kept = [line for line in list(self._stderr) if line.strip()]
        return " | ".join(line.strip() for line in kept[-lines:])

    def start(self) -> Sidecar:
        """Start the worker unless it runs, and wait for its ready line."""
        with self._lock:
            if self.running:
                return self
            self._discard()
            self._stderr.clear()
            log.info("gpu.sidecar_starting name=%s argv=%s", self.name, self.argv)
            try:
                proc = _Process(
                    self.argv,
                    env=self.env,
                    cwd=self.cwd,
                    stderr_lines=self._stderr,
                    log_file=self.log_file,
                    name=self.name,
                )
            except OSError as exc:
                raise EngineError(f"could not start the {self.name} worker: {exc}") from exc
            self._proc = proc
            self.starts += 1
            deadline = time.monotonic() + self.start_timeout_s
            while True:
                message = self._next_message(proc, deadline)
                if message is None:
                    self._fail(
                        f"the {self.name} worker did not become ready within "
                        f"{self.start_timeout_s:g} s"
                    )
                if message == "eof":
                    self._fail(
                        f"the {self.name} worker exited while loading "
                        f"(status {self._exit_status(proc)})"
                    )
                assert isinstance(message, dict)
                if "ready" in message:
                    if message["ready"] is True:
                        log.info("gpu.sidecar_ready name=%s pid=%s", self.name, proc.pid)
                        return self
                    self._fail(
                        f"the {self.name} worker could not load its model: "
                        f"{message.get('error') or 'no reason given'}"
                    )

    def request(
        self,
        op: str,
        payload: Mapping[str, Any] | None = None,
        *,
        timeout_s: float,
        progress: ProgressFn = no_progress,
    ) -> dict[str, Any]:
        """Send one request and return the response's fields; EngineError when it fails.

        A worker-reported error (`ok: false`) leaves the worker running; a worker that exits
        or exceeds `timeout_s` is killed and restarted by the next request.
        """
        with self._lock:
            proc = self.start()._proc
            assert proc is not None
            request_id = str(next(self._ids))
            try:
                proc.send({**(payload or {}), "id": request_id, "op": op})
            except (BrokenPipeError, OSError, ValueError):
                self._fail(f"the {self.name} worker stopped accepting requests")
            deadline = time.monotonic() + timeout_s
            while True:
                message = self._next_message(proc, deadline)
                if message is None:
                    self._fail(
                        f"the {self.name} worker did not finish '{op}' within {timeout_s:g} s "
                        "and was stopped"
                    )
                if message == "eof":
                    self._fail(
                        f"the {self.name} worker stopped unexpectedly during '{op}' "
                        f"(exit status {self._exit_status(proc)})"
                    )
                assert isinstance(message, dict)
                if message.get("id") != request_id:
                    continue  # not an answer to this request (e.g. a stray ready line)
                if "progress" in message and "ok" not in message:
                    with contextlib.suppress(TypeError, ValueError):
                        progress(min(max(float(message["progress"]), 0.0), 1.0))
                    continue
                if message.get("ok") is True:
                    return message
                error = str(message.get("error") or "the worker reported a failure")
                raise WorkerError(error, oom=bool(message.get("oom")))

    def close(self) -> None:
        """Stop the worker (idempotent); a later request starts a new one."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None:
                log.info("gpu.sidecar_stopping name=%s pid=%s", self.name, proc.pid)
                proc.stop(_STOP_GRACE_S)

    def _next_message(self, proc: _Process, deadline: float) -> dict[str, Any] | str | None:
        """The next JSON object from the worker, "eof" when it exited, None on timeout.

        Lines that are not JSON objects are kept with the stderr lines (a library that wrote to
        the protocol stream before the worker could redirect it) and otherwise ignored.
        """
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                line = proc.lines.get(timeout=remaining)
            except queue.Empty:
                return None
            if line is None:
                return "eof"
            try:
                message = json.loads(line)
            except ValueError:
                message = None
            if isinstance(message, dict):
                return message
            if line.strip():
                self._stderr.append(f"[stdout] {line.rstrip()}")

    def _exit_status(self, proc: _Process) -> str:
        try:
            code = proc.popen.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            return "unknown"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
        return str(code)

    def _fail(self, message: str) -> NoReturn:
        """Kill the worker and raise the failure with the tail of its stderr."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
        tail = self.stderr_tail()
        log.warning("gpu.sidecar_failed name=%s reason=%s stderr=%s", self.name, message, tail)
        raise EngineError(f"{message}; worker stderr: {tail}" if tail else message)

    def _discard(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()


def sidecar_spec(name: str, vram_gb: float, factory: Callable[[], Sidecar]) -> ModelSpec:
    """A ModelSpec whose model is a running worker: loading starts it and waits until it is
    ready, unloading stops it (and frees the GPU memory its process held)."""

    def load() -> Sidecar:
        sidecar = factory()
        try:
            return sidecar.start()
        except BaseException:
            sidecar.close()
            raise

    def unload(handle: Any) -> None:
        if isinstance(handle, Sidecar):
            handle.close()

    return ModelSpec(name, vram_gb, load=load, unload=unload)


def worker_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a worker: this one, unbuffered, plus `extra`.

    The server's virtualenv must not leak into a worker that runs another environment's
    interpreter, so VIRTUAL_ENV and PYTHONHOME/PYTHONPATH are dropped.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH"}
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def ask_worker(
    cache: ModelCache,
    spec: ModelSpec,
    label: str,
    op: str,
    payload: Mapping[str, Any],
    *,
    timeout_s: float,
    progress: ProgressFn,
) -> dict[str, Any]:
    """One request to the worker `spec` runs (started through the cache if it is not), with
    the engines' shared handling of failures: out of GPU memory unloads every model, since
    the worker's memory may be fragmented, and says so; any other failure names the engine."""
    try:
        with cache.use(spec) as worker:
            answer: dict[str, Any] = worker.request(
                op, payload, timeout_s=timeout_s, progress=progress
            )
            return answer
    except WorkerError as exc:
        if exc.oom:
            cache.unload_all()
            raise EngineError(
                f"{label} ran out of GPU memory; other models were unloaded, try again"
            ) from exc
        raise EngineError(f"{label} failed: {exc}") from exc
