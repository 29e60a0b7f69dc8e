"""Following one job live: its state now, then each change, for every channel that watches.

The bus is fast but not guaranteed (a Redis hiccup, a publish racing the subscription), so the
database is read again every few seconds too: a watcher never waits forever on a missed event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from concurrent.futures import ThreadPoolExecutor

from core.db import get_database
from core.errors import NotFound
from core.events import ProgressEvent, get_bus
from core.models import Job, JobStatus
from jobs.progress import snapshot

# How long one wait on the bus blocks its thread, and how often the database is read anyway.
BUS_WAIT_S = 0.5
POLL_S = 2.0
# Each watcher keeps a thread waiting on the bus: a pool of their own, so watchers never
# starve the default pool that file and FFmpeg work uses (threads start only as needed).
MAX_WATCHERS = 256
_WAITERS = ThreadPoolExecutor(MAX_WATCHERS, thread_name_prefix="skyie-watch")


def finished(event: ProgressEvent) -> bool:
    return JobStatus(event.status).finished


async def _read(job_id: str) -> ProgressEvent:
    async with get_database().session() as s:
        job = await s.get(Job, job_id)
        if job is None:  # deleted with its owner's account while someone watched
            raise NotFound(f"job {job_id} not found")
        return await snapshot(s, job)


async def job_events(job_id: str, *, poll_s: float = POLL_S) -> AsyncGenerator[ProgressEvent]:
    """The job's state now, then each change, ending with the event that says it finished."""
    loop = asyncio.get_running_loop()
    # Subscribe before reading, so an event published in between is not lost. Entering is
    # quick (in memory, or one SUBSCRIBE round trip to Redis).
    subscribed = get_bus().subscribe(job_id)
    subscription = subscribed.__enter__()
    try:
        last = await _read(job_id)
        yield last
        next_poll = time.monotonic() + poll_s
        while not finished(last):
            # The bus's get blocks: it waits on a thread of its own, never on the event loop.
            event = await loop.run_in_executor(_WAITERS, subscription.get, BUS_WAIT_S)
            if event is None and time.monotonic() >= next_poll:
                event = await _read(job_id)
            if event is not None:
                next_poll = time.monotonic() + poll_s
                if event.model_dump() != last.model_dump():
                    last = event
                    yield event
    finally:
        # Leaving joins Redis's listener thread (a fraction of a second): done on a thread, and
        # not awaited, so a watcher cancelled by a disconnect still unsubscribes.
        loop.run_in_executor(_WAITERS, subscribed.__exit__, None, None, None)
