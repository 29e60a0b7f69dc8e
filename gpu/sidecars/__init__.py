"""The worker side of the sidecar protocol: JSON lines over stdin/stdout, stdlib only.

Models that need their own Python environment (Fish Speech, LivePortrait) run in a worker
process started by `gpu.engines.sidecar.Sidecar`. The worker scripts in this package run
INSIDE those foreign virtualenvs, so this module imports nothing but the standard library and
stays valid on Python 3.10 (no third-party package of the server's environment is there).

Protocol, one JSON object per line:

    worker -> {"ready": true}                         after the model loaded
              {"ready": false, "error": "..."}        loading failed; the worker exits
    server -> {"id": "7", "op": "tts", ...}           one request at a time
    worker -> {"id": "7", "progress": 0.4}            any number of times, optional
              {"id": "7", "ok": true, ...result}      or
              {"id": "7", "ok": false, "error": "...", "oom": false}

End of stdin (or {"op": "shutdown"}) makes the worker exit. Anything libraries print goes to
stderr: the real stdout is reserved for the protocol, so a stray print() cannot corrupt it.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import traceback
from collections.abc import Callable
from typing import IO, Any

ProgressFn = Callable[[float], None]
Handler = Callable[[Any, dict[str, Any], ProgressFn], dict[str, Any]]


class WorkerInputError(Exception):
    """A request the worker cannot serve as given (no face found, unreadable file): the message
    goes back to the caller verbatim, without a traceback."""


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA out-of-memory errors, recognised without importing torch."""
    name = type(exc).__name__
    return name == "OutOfMemoryError" or "out of memory" in str(exc).lower()


class _Channel:
    """The protocol stream: a private copy of the original stdout, written a line at a time."""

    def __init__(self) -> None:
        sys.stdout.flush()
        # Keep the real stdout for the protocol, then point fd 1 (and sys.stdout) at stderr so
        # that prints from Python and from C extensions land in the log instead.
        self._out: IO[str] = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, separators=(",", ":"))
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()


def serve(load: Callable[[], Any], handlers: dict[str, Handler]) -> int:
    """Load the model, announce readiness, then answer requests until stdin closes.

    `load` returns the state every handler receives; a handler returns the result fields of a
    successful response and may call its progress function with fractions in 0..1.
    Returns the process exit status.
    """
    channel = _Channel()
    try:
        state = load()
    except BaseException as exc:
        traceback.print_exc()
        channel.send({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return 1
    channel.send({"ready": True})

    for raw in sys.stdin:
        if not raw.strip():
            continue
        try:
            message = json.loads(raw)
            if not isinstance(message, dict):
                raise ValueError("a request must be a JSON object")
        except ValueError as exc:
            channel.send({"id": None, "ok": False, "error": f"unreadable request line: {exc}"})
            continue
        request_id = message.get("id")
        op = message.get("op")
        if op == "shutdown":
            channel.send({"id": request_id, "ok": True})
            break
        handler = handlers.get(str(op))
        if handler is None:
            known = ", ".join(sorted(handlers))
            error = f"unknown op {op!r}; this worker serves: {known}"
            channel.send({"id": request_id, "ok": False, "error": error})
            continue

        def progress(fraction: float, _id: Any = request_id) -> None:
            channel.send({"id": _id, "progress": round(min(max(float(fraction), 0.0), 1.0), 4)})

        try:
            result = handler(state, message, progress)
        except WorkerInputError as exc:
            channel.send({"id": request_id, "ok": False, "error": str(exc)})
        except Exception as exc:
            traceback.print_exc()
            sys.stderr.flush()
            channel.send(
                {
                    "id": request_id,
                    "ok": False,
                    "error": f"{type(exc).__name__}: {exc}",
                    "oom": is_out_of_memory(exc),
                }
            )
        else:
            channel.send({**result, "id": request_id, "ok": True})
    return 0
