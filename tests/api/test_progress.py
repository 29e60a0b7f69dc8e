"""Live progress over a real server: SSE and WebSocket streams to the end, auth, disconnects."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from api.app import create_app
from core.events import LocalBus, get_bus
from core.production import ProductionOptions
from tests.api.conftest import PASSWORD, LiveServer
from tests.conftest import Stack
from tests.jobs.helpers import submit

Event = dict[str, Any]
KEYS = {"job_id", "status", "phase", "fraction", "eta_s", "queue_position", "phases", "message"}


@pytest.fixture
def idle_server(sqlite_stack: Stack) -> Iterator[LiveServer]:
    """A real server without a worker: its jobs stay queued."""
    with LiveServer(create_app(sqlite_stack.settings, run_worker=False)) as server:
        yield server


async def register(server: LiveServer) -> tuple[str, str]:
    """A new user's id and access token."""
    async with httpx.AsyncClient(base_url=server.url) as client:
        r = await client.post(
            "/v1/auth/register",
            json={"email": f"{uuid.uuid4().hex}@example.com", "password": PASSWORD},
        )
        assert r.status_code == 201, r.text
        return r.json()["user"]["id"], r.json()["access_token"]


async def talking_job(server: LiveServer, user_id: str) -> str:
    settings = server.app.state.settings
    started = await submit(settings, user_id, "[TALKING] Hi there.", ProductionOptions(music=False))
    return started.job_id


async def read_sse(server: LiveServer, job_id: str, token: str) -> list[tuple[str, Event]]:
    events: list[tuple[str, Event]] = []
    name = ""
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=120) as client,
        client.stream("GET", f"/v1/jobs/{job_id}/events", params={"access_token": token}) as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        async for line in r.aiter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
    return events


def ws_url(server: LiveServer, job_id: str, query: str = "") -> str:
    return f"{server.url.replace('http', 'ws', 1)}/v1/jobs/{job_id}/ws{query}"


async def read_ws(url: str, **options: Any) -> tuple[list[Event], int | None]:
    async with connect(url, **options) as ws:
        events = [json.loads(message) async for message in ws]
        return events, ws.close_code


async def test_sse_and_websocket_follow_a_job_to_the_end(live_server: LiveServer) -> None:
    user_id, token = await register(live_server)
    job_id = await talking_job(live_server, user_id)
    sse, (ws, code) = await asyncio.gather(
        read_sse(live_server, job_id, token),
        read_ws(ws_url(live_server, job_id, f"?access_token={token}")),
    )
    for events in ([e for _, e in sse], ws):
        assert all(set(e) == KEYS and e["job_id"] == job_id for e in events)
        assert events[-1]["status"] == "succeeded" and events[-1]["fraction"] == 1.0
        assert events[-1]["phase"] == "Done"
        assert all(e["status"] in ("queued", "running") for e in events[:-1])
    assert [name for name, _ in sse] == ["progress"] * (len(sse) - 1) + ["done"]
    assert code == 1000
    # A finished job's stream is its final state, at once; the header authenticates too.
    headers = {"Authorization": f"Bearer {token}"}
    ws, code = await read_ws(ws_url(live_server, job_id), additional_headers=headers)
    assert [e["status"] for e in ws] == ["succeeded"] and code == 1000
    assert [name for name, _ in await read_sse(live_server, job_id, token)] == ["done"]


async def close_code(url: str, **options: Any) -> int | None:
    async with connect(url, **options) as ws:
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        return ws.close_code


async def test_websocket_refuses_strangers_and_other_users_jobs(idle_server: LiveServer) -> None:
    owner, _ = await register(idle_server)
    _, stranger = await register(idle_server)
    job_id = await talking_job(idle_server, owner)
    assert await close_code(ws_url(idle_server, job_id)) == 4401
    assert await close_code(ws_url(idle_server, job_id, "?access_token=forged")) == 4401
    bad = {"Authorization": "Bearer sk_not_a_key"}
    assert await close_code(ws_url(idle_server, job_id), additional_headers=bad) == 4401
    assert await close_code(ws_url(idle_server, job_id, f"?access_token={stranger}")) == 4404
    assert await close_code(ws_url(idle_server, "job_nope", f"?access_token={stranger}")) == 4404


async def test_a_queued_job_streams_its_position_keeps_alive_and_stops_on_disconnect(
    idle_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("fastapi.routing._PING_INTERVAL", 0.2)
    ahead, _ = await register(idle_server)
    user_id, token = await register(idle_server)
    await talking_job(idle_server, ahead)
    job_id = await talking_job(idle_server, user_id)
    bus = get_bus()
    assert isinstance(bus, LocalBus)
    lines: list[str] = []
    async with (
        httpx.AsyncClient(base_url=idle_server.url, timeout=60) as client,
        client.stream("GET", f"/v1/jobs/{job_id}/events", params={"access_token": token}) as r,
    ):
        async for line in r.aiter_lines():
            lines.append(line)
            if line.startswith(": ping"):
                break
    first = json.loads(next(x for x in lines if x.startswith("data: ")).removeprefix("data: "))
    assert (first["status"], first["phase"], first["queue_position"]) == ("queued", "Queued", 1)
    assert lines[0] == "event: progress"
    # The client went away: the server stops listening for the job's events. (The timeout
    # only turns a hang into a failure.)
    async with asyncio.timeout(60):
        while job_id in bus._subs:
            await asyncio.sleep(0.05)
    # The job itself is unaffected.
    async with httpx.AsyncClient(base_url=idle_server.url) as client:
        r = await client.get(f"/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"})
        assert r.json()["status"] == "queued"
