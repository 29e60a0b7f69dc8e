"""A stopped worker leaves nothing behind: no threads, no open event loops or connections."""

from __future__ import annotations

import asyncio
import gc
import threading
import time

from jobs.worker import JobWorker
from tests.conftest import Stack


def open_loops() -> set[int]:
    gc.collect()
    return {
        id(o)
        for o in gc.get_objects()
        if isinstance(o, asyncio.AbstractEventLoop) and not o.is_closed()
    }


def test_start_and_stop_release_threads_and_loops(stack: Stack) -> None:
    loops, threads = open_loops(), threading.active_count()
    for _ in range(3):
        worker = JobWorker(stack.settings, threads=2).start()
        time.sleep(1.0)  # the sweeper and worker threads make loops and (pooled) connections
        worker.stop()
    assert threading.active_count() <= threads
    assert open_loops() <= loops
