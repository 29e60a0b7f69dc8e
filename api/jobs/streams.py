"""Live job progress over Server-Sent Events and WebSocket: the same JSON events on both.

A stream relays `jobs.watch.job_events`: the job's state read from the database, then its
events from the bus, ending after the event that reports it finished.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path, WebSocket
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.websockets import WebSocketDisconnect

from api.deps import Principal, StreamUser, principal_for_token
from core.db import get_database
from core.errors import NotFound, RateLimited, Unauthorized
from core.models import Job
from jobs.watch import finished, job_events

router = APIRouter()

# Close codes in the private range (4000-4999), mirroring the HTTP statuses.
WS_UNAUTHORIZED, WS_NOT_FOUND, WS_RATE_LIMITED = 4401, 4404, 4429


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
