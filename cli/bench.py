"""`skyie bench …`: performance measured side by side in one run, printed as plain numbers."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import httpx

BRIEF = "A 20-second video about brewing green tea, with a friendly host"
HOST_TEXT = "Welcome back! Today we look at three small habits that save time every morning."


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    rank = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[rank]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """`skyie serve` in a subprocess, on a private home, without a worker: the bench measures
    the API, not the renders the jobs would start."""

    home: Path
    database_url: str = ""
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log: BinaryIO = field(init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SKYIE_")}
        env |= {
            "SKYIE_HOME": str(self.home),
            "SKYIE_DATABASE_URL": self.database_url,
            "SKYIE_STARTING_CREDITS": "1000000",
            "SKYIE_RATE_LIMIT_PER_MINUTE": "1000000",
            "SKYIE_AUTH_RATE_LIMIT_PER_MINUTE": "1000000",
        }
        return env

    async def __aenter__(self) -> Server:
        command = [sys.executable, "-m", "cli.main", "serve", "--no-worker"]
        command += ["--port", str(self.port), "--log-level", "error"]
        root = Path(__file__).resolve().parent.parent
        # Its log goes to a file: a pipe nobody reads would fill and block the server.
        self.log = (self.home / "server.log").open("wb")
        self.process = subprocess.Popen(
            command, env=self.env(), cwd=root, stdout=subprocess.DEVNULL, stderr=self.log
        )
        async with httpx.AsyncClient() as client:
            for _ in range(600):
                if self.process.poll() is not None:
                    raise RuntimeError(f"the server exited early:\n{self.log_tail()}")
                try:
                    if (await client.get(f"{self.url}/healthz")).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("the server did not answer /healthz within 60 s")

    def log_tail(self) -> str:
        return (self.home / "server.log").read_text(errors="replace")[-3000:]

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def _ok(response: httpx.Response, expected: int = 200) -> dict[str, Any]:
    if response.status_code != expected:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text[:300]}"
        )
    body: dict[str, Any] = response.json()
    return body


async def _timed(call: Callable[[], Awaitable[httpx.Response]], expected: int) -> float:
    start = time.perf_counter()
    _ok(await call(), expected)
    return (time.perf_counter() - start) * 1000


@dataclass
class ApiBench:
    clients: int
    submit_ms: list[float] = field(default_factory=list)
    chat_one_ms: list[float] = field(default_factory=list)
    chat_many_ms: list[float] = field(default_factory=list)


async def _register(client: httpx.AsyncClient, n: int) -> dict[str, str]:
    body = _ok(
        await client.post(
            "/v1/auth/register",
            json={"email": f"bench-{n}-{os.getpid()}@example.com", "password": "bench password"},
        ),
        201,
    )
    return {"Authorization": f"Bearer {body['access_token']}"}


async def _submit(client: httpx.AsyncClient, headers: dict[str, str]) -> float:
    form = {"text": HOST_TEXT}
    quote = _ok(await client.post("/v1/videos/talking-head", json=form, headers=headers))
    quote_id = quote["quote"]["quote_id"]
    form["quote_id"] = quote_id
    return await _timed(
        lambda: client.post("/v1/videos/talking-head", json=form, headers=headers), 201
    )


async def _chat(client: httpx.AsyncClient, headers: dict[str, str]) -> float:
    return await _timed(
        lambda: client.post("/v1/chat", json={"message": BRIEF}, headers=headers), 200
    )


async def run_api_bench(
    clients: int, rounds: int, database_url: str, report: Callable[[str], None]
) -> ApiBench:
    result = ApiBench(clients)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    timeout = httpx.Timeout(120.0)
    with tempfile.TemporaryDirectory(prefix="skyie-bench-") as home:
        async with Server(Path(home), database_url) as server:
            report(f"server up at {server.url} (no worker; database: {database_url or 'SQLite'})")
            async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=timeout) as c:
                users = await asyncio.gather(*(_register(c, n) for n in range(clients)))
                # Warm-up: first requests pay for imports, connections and caches.
                await _chat(c, users[0])
                await _submit(c, users[0])
                # One client alone: what a chat turn costs over HTTP without contention.
                for _ in range(10):
                    result.chat_one_ms.append(await _chat(c, users[0]))
                for n in range(rounds):
                    report(f"round {n + 1}/{rounds}: {clients} clients submit and chat at once")
                    result.submit_ms += await asyncio.gather(*(_submit(c, u) for u in users))
                    result.chat_many_ms += await asyncio.gather(*(_chat(c, u) for u in users))
    return result


async def chat_turn_in_process(turns: int) -> list[float]:
    """The same chat turn with no HTTP in the way: run_turn on a private SQLite database."""
    from agent.loop import AgentDeps, run_turn, start_conversation
    from agent.providers.offline import OfflineProvider
    from agent.writer import PlannerWriter
    from core import migrate
    from core.db import dispose_all, get_database
    from core.settings import get_settings
    from core.storage import get_storage
    from tools.accounts import ensure_local_user

    samples: list[float] = []
    saved = {k: os.environ.get(k) for k in ("SKYIE_HOME", "SKYIE_DATABASE_URL")}
    with tempfile.TemporaryDirectory(prefix="skyie-bench-") as home:
        # run_turn finds its database through the settings: point them at the private home.
        os.environ["SKYIE_HOME"], os.environ["SKYIE_DATABASE_URL"] = home, ""
        get_settings.cache_clear()
        settings = get_settings()
        url = settings.resolved_database_url
        await asyncio.to_thread(migrate.upgrade, url)
        db = get_database(url)
        async with db.session() as s:
            user = await ensure_local_user(s, settings)
        deps = AgentDeps(
            settings, get_storage(settings.storage_dir), OfflineProvider(), PlannerWriter()
        )
        for n in range(turns + 1):
            start = time.perf_counter()
            conversation = await start_conversation(user.id, "bench", BRIEF)
            async for _ in run_turn(conversation, BRIEF, deps, user_id=user.id, channel="bench"):
                pass
            if n:  # the first turn warms up
                samples.append((time.perf_counter() - start) * 1000)
        await dispose_all()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    get_settings.cache_clear()
    return samples


def summary_lines(bench: ApiBench, direct_ms: list[float]) -> list[str]:
    chat_one = statistics.median(bench.chat_one_ms)
    direct = statistics.median(direct_ms)
    return [
        f"clients = {bench.clients}",
        f"submissions = {len(bench.submit_ms)}",
        f"chat_in_process_p50_ms = {direct:.1f}",
        f"chat_http_p50_ms = {chat_one:.1f}",
        f"chat_overhead_ms = {chat_one - direct:.1f}",
        f"chat_overhead_ratio = {chat_one / direct:.2f}",
        f"chat_concurrent_p50_ms = {percentile(bench.chat_many_ms, 50):.1f}",
        f"chat_concurrent_p99_ms = {percentile(bench.chat_many_ms, 99):.1f}",
        f"submit_p50_ms = {percentile(bench.submit_ms, 50):.1f}",
        f"submit_p99_ms = {percentile(bench.submit_ms, 99):.0f}",
    ]
