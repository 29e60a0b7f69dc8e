"""Shared fixtures: the two stacks the app runs on (SQLite + in-process, PostgreSQL + Redis)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from core import migrate
from core.db import get_database
from core.events import reset_bus
from core.settings import Settings, get_settings

POSTGRES_URL = os.environ.get(
    "SKYIE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("SKYIE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

_postgres_ready = False


def _reset_postgres() -> None:
    """Start the session from an empty schema, migrated by the same code production uses."""
    import asyncio

    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg", "postgresql"))
        try:
            await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()

    # A thread of its own: this may be called from inside a running event loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, drop()).result()
    migrate.upgrade(POSTGRES_URL)


def _flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


@dataclass
class Stack:
    name: str
    settings: Settings
    env: dict[str, str]


def _configure(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    reset_bus()
    return get_settings()


@pytest.fixture(params=["sqlite", "postgres"])
def stack(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    """SQLite + the in-process broker, and PostgreSQL + Redis: job tests run on both."""
    global _postgres_ready
    env = {"SKYIE_HOME": str(tmp_path / "home"), "SKYIE_STEP_LEASE_S": "3"}
    if request.param == "sqlite":
        env |= {"SKYIE_DATABASE_URL": "", "SKYIE_BROKER": "embedded", "SKYIE_EVENTS": "embedded"}
        settings = _configure(monkeypatch, env)
        migrate.upgrade(settings.resolved_database_url)
    else:
        if not _postgres_ready:
            _reset_postgres()
            _postgres_ready = True
        _flush_redis()
        env |= {
            "SKYIE_DATABASE_URL": POSTGRES_URL,
            "SKYIE_BROKER": REDIS_URL,
            "SKYIE_EVENTS": REDIS_URL,
        }
        settings = _configure(monkeypatch, env)
    yield Stack(request.param, settings, env)
    get_settings.cache_clear()
    reset_bus()


@pytest.fixture
def sqlite_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    env = {
        "SKYIE_HOME": str(tmp_path / "home"),
        "SKYIE_DATABASE_URL": "",
        "SKYIE_BROKER": "embedded",
        "SKYIE_EVENTS": "embedded",
    }
    settings = _configure(monkeypatch, env)
    migrate.upgrade(settings.resolved_database_url)
    yield Stack("sqlite", settings, env)
    get_settings.cache_clear()
    reset_bus()


@pytest.fixture
async def db_session(stack: Stack) -> AsyncIterator[object]:
    async with get_database(stack.settings.resolved_database_url).session() as session:
        yield session
