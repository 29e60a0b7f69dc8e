"""Live job progress over Server-Sent Events and WebSocket: the same JSON events on both.

A stream starts with the job's state read from the database, then relays the job's events
from the bus, and ends after the event that reports it finished. The bus is fast but not
guaranteed (a Redis hiccup, a publish racing the subscription), so the database is read again
every few seconds too: a client never waits forever on a missed event.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

from fastapi import APIRouter, Depends, Path, WebSocket
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.websockets import WebSocketDisconnect

from api.deps import Principal, StreamUser, principal_for_token
from core.db import get_database
from core.errors import NotFound, RateLimited, Unauthorized
from core.events import ProgressEvent, get_bus
from core.models import Job, JobStatus
from jobs.progress import snapshot

router = APIRouter()

# How long one wait on the bus blocks its thread, and how often the database is read anyway.
BUS_WAIT_S = 0.5
POLL_S = 2.0
# Each open stream keeps a thread waiting on the bus: a pool of their own, so streams never
# starve the default pool that file and FFmpeg work uses (threads start only as needed).
MAX_WAITING_STREAMS = 256
_WAITERS = ThreadPoolExecutor(MAX_WAITING_STREAMS, thread_name_prefix="skyie-stream")
# Close codes in the private range (4000-4999), mirroring the HTTP statuses.
WS_UNAUTHORIZED, WS_NOT_FOUND, WS_RATE_LIMITED = 4401, 4404, 4429


def finished(event: ProgressEvent) -> bool:
    return JobStatus(event.status).finished


async def _read(job_id: str) -> ProgressEvent:
    async with get_database().session() as s:
        job = await s.get(Job, job_id)
        if job is None:  # deleted with its owner's account while someone watched
            raise NotFound(f"job {job_id} not found")
        return await snapshot(s, job)


async def job_events(job_id: str) -> AsyncIterator[ProgressEvent]:
    """The job's state now, then each change, ending with the event that says it finished."""
    loop = asyncio.get_running_loop()
    # Subscribe before reading, so an event published in between is not lost. Entering is
    # quick (in memory, or one SUBSCRIBE round trip to Redis).
    subscribed = get_bus().subscribe(job_id)
    subscription = subscribed.__enter__()
    try:
        last = await _read(job_id)
        yield last
        next_poll = time.monotonic() + POLL_S
        while not finished(last):
            # The bus's get blocks: it waits on a thread of its own, never on the event loop.
            event = await loop.run_in_executor(_WAITERS, subscription.get, BUS_WAIT_S)
            if event is None and time.monotonic() >= next_poll:
                event = await _read(job_id)
            if event is not None:
                next_poll = time.monotonic() + POLL_S
                if event.model_dump() != last.model_dump():
                    last = event
                    yield event
    finally:
        # Leaving joins Redis's listener thread (a fraction of a second): done on a thread, and
        # not awaited, so a stream cancelled by a disconnect still unsubscribes.
        loop.run_in_executor(_WAITERS, subscribed.__exit__, None, None, None)


async def _owned_job_id(
    job_id: Annotated[str, Path(max_length=40, description="A job id.")], user: StreamUser
) -> str:
    async with get_database().session() as s:
        job = await s.get(Job, job_id)
    if job is None or job.user_id != user.user_id:
        raise NotFound(f"job {job_id} not found")
    return job_id


OwnedJobId = Annotated[str, Depends(_owned_job_id)]


@router.get(
    "/jobs/{job_id}/events",
    response_class=EventSourceResponse,
    responses={200: {"description": "`progress` events, then one `done` event; then it ends."}},
)
async def events(job_id: OwnedJobId) -> AsyncIterator[ServerSentEvent]:
    """Live progress as Server-Sent Events: each event's data is the job's progress as JSON
    (job_id, status, phase, fraction, eta_s, queue_position, phases, message). It is named
    `progress` while the job runs and `done` once it finished, after which the stream ends.
    Browsers authenticate with `?access_token=`. A comment is sent every 15 s of quiet."""
    async for event in job_events(job_id):
        yield ServerSentEvent(data=event, event="done" if finished(event) else "progress")


async def _principal(websocket: WebSocket) -> Principal:
    """The caller of a WebSocket, from `?access_token=` or the Authorization header."""
    header = websocket.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    in_header = (
        credentials.strip() if scheme.lower() == "bearer" else ""
    ) or websocket.headers.get("x-api-key", "")
    token = in_header or websocket.query_params.get("access_token")
    if not token:
        raise Unauthorized("log in first: send ?access_token= or an Authorization header")
    return await principal_for_token(
        token,
        websocket.app.state.settings,
        websocket.app.state.limiter,
        from_query=not in_header,
    )


async def _until_disconnect(websocket: WebSocket) -> None:
    """Read and drop what the client sends; returns when it goes away."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def _relay(websocket: WebSocket, job_id: str) -> None:
    async for event in job_events(job_id):
        await websocket.send_text(event.model_dump_json())


@router.websocket("/jobs/{job_id}/ws")
async def job_socket(websocket: WebSocket, job_id: str) -> None:
    """The same JSON events as /events, one per message; closed (1000) after the job finished.
    Closes with 4401 when unauthenticated and 4404 for a job that is not the caller's."""
    # Accept first: a close before accepting reaches the client as a bare HTTP 403, and the
    # close code is what tells it why.
    await websocket.accept()
    try:
        principal = await _principal(websocket)
        await _owned_job_id(job_id, principal)
    except Unauthorized as exc:
        await websocket.close(WS_UNAUTHORIZED, exc.message[:120])
        return
    except RateLimited as exc:
        await websocket.close(WS_RATE_LIMITED, exc.message[:120])
        return
    except NotFound as exc:
        await websocket.close(WS_NOT_FOUND, exc.message[:120])
        return
    relay = asyncio.create_task(_relay(websocket, job_id))
    gone = asyncio.create_task(_until_disconnect(websocket))
    try:
        done, _ = await asyncio.wait({relay, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (relay, gone):
            task.cancel()
        await asyncio.gather(relay, gone, return_exceptions=True)
    if gone in done:
        return
    failed = relay.exception()
    if isinstance(failed, WebSocketDisconnect):
        return
    # The client may vanish between the last event and the close: nothing is left to tell it.
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(1000 if failed is None else 1011)
