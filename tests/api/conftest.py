"""API fixtures: the app over httpx's ASGI transport, and a real server on a free port."""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from core.settings import Settings
from tests.conftest import Stack

PASSWORD = "correct horse battery staple"


@dataclass
class Caller:
    """A registered user as the tests see them."""

    id: str
    email: str
    access_token: str
    refresh_token: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings

    async def register(self, email: str | None = None, password: str = PASSWORD) -> Caller:
        email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
        r = await self.client.post(
            "/v1/auth/register", json={"email": email, "password": password, "name": "Test"}
        )
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        token = body["access_token"]
        return Caller(
            id=body["user"]["id"],
            email=email,
            access_token=token,
            refresh_token=body["refresh_token"],
            headers={"Authorization": f"Bearer {token}"},
        )


async def set_plan(api: Api, user_id: str, plan: str) -> None:
    """What a finished checkout (or a lapsed subscription) leaves behind: the account's plan."""
    from core.db import get_database
    from core.models import User

    async with get_database(api.settings.resolved_database_url).session() as s:
        user = await s.get(User, user_id)
        assert user is not None
        user.plan = plan


async def _serve_asgi(app: FastAPI) -> AsyncIterator[Api]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            yield Api(app, client, app.state.settings)


@pytest.fixture
async def api(sqlite_stack: Stack) -> AsyncIterator[Api]:
    """The app on SQLite and the in-process broker, no worker: jobs stay queued."""
    async for ready in _serve_asgi(create_app(sqlite_stack.settings, run_worker=False)):
        yield ready


@pytest.fixture
async def api_on(stack: Stack) -> AsyncIterator[Api]:
    """The same, once on SQLite + in-process broker and once on PostgreSQL + Redis."""
    async for ready in _serve_asgi(create_app(stack.settings, run_worker=False)):
        yield ready


@pytest.fixture
async def api_with_worker(sqlite_stack: Stack) -> AsyncIterator[Api]:
    """The app with its embedded worker: jobs run to the end on the lite engines."""
    async for ready in _serve_asgi(create_app(sqlite_stack.settings, run_worker=True)):
        yield ready


class LiveServer:
    """The app under uvicorn on a free port, in a thread of its own (WebSockets, SSE, browsers)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the live server failed to start")
            threading.Event().wait(0.02)
        return self

    @property
    def url(self) -> str:
        socket = self.server.servers[0].sockets[0]
        host, port = socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def live_server(sqlite_stack: Stack) -> Iterator[LiveServer]:
    """A real server with its embedded worker, on SQLite."""
    with LiveServer(create_app(sqlite_stack.settings, run_worker=True)) as server:
        yield server
