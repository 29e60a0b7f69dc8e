"""Shared fixtures: the two stacks the app runs on (SQLite + in-process, PostgreSQL + Redis)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from core import migrate
from core.events import reset_bus
from core.settings import Settings, get_settings

# Each test session gets a database and a Redis namespace of its own, so two runs on one
# machine (a developer's and CI's) never see each other's rows or messages.
SESSION = uuid.uuid4().hex[:10]
ADMIN_POSTGRES_URL = os.environ.get(
    "SKYIE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
POSTGRES_URL = f"{ADMIN_POSTGRES_URL.rsplit('/', 1)[0]}/skyie_test_{SESSION}"
REDIS_URL = os.environ.get("SKYIE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REDIS_NAMESPACE = f"skyie-test-{SESSION}"

_postgres_ready = False


def _admin(sql: str) -> None:
    _admin_in(ADMIN_POSTGRES_URL, sql)


def _admin_in(url: str, sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    # A thread of its own: this may be called from inside a running event loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def postgres_url() -> str:
    """This session's PostgreSQL database, created and migrated on first use."""
    global _postgres_ready
    if not _postgres_ready:
        _admin(f'CREATE DATABASE "skyie_test_{SESSION}"')
        _postgres_ready = True
        migrate.upgrade(POSTGRES_URL)
    return POSTGRES_URL


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"{REDIS_NAMESPACE}*"))
        if keys:
            client.delete(*keys)
    except Exception:
        pass  # no Redis in this run: nothing to clean
    if _postgres_ready:
        _admin(f'DROP DATABASE IF EXISTS "skyie_test_{SESSION}" WITH (FORCE)')


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
    env = {
        "SKYIE_HOME": str(tmp_path / "home"),
        "SKYIE_STEP_LEASE_S": "30",
        "SKYIE_REDIS_NAMESPACE": REDIS_NAMESPACE,
        # Webhook tests run their receivers on localhost.
        "SKYIE_WEBHOOK_ALLOW_PRIVATE": "true",
        # Tests count credits exactly; the monthly grant has tests of its own.
        "SKYIE_MONTHLY_GRANTS": "false",
    }
    if request.param == "sqlite":
        env |= {"SKYIE_DATABASE_URL": "", "SKYIE_BROKER": "embedded", "SKYIE_EVENTS": "embedded"}
        settings = _configure(monkeypatch, env)
        migrate.upgrade(settings.resolved_database_url)
    else:
        env |= {
            "SKYIE_DATABASE_URL": postgres_url(),
            "SKYIE_BROKER": REDIS_URL,
            "SKYIE_EVENTS": REDIS_URL,
        }
        settings = _configure(monkeypatch, env)
    yield Stack(request.param, settings, env)
    if request.param == "postgres":
        _forget_unfinished_work()
    get_settings.cache_clear()
    reset_bus()


def _forget_unfinished_work() -> None:
    """The PostgreSQL database and the Redis queues outlive a test: a job one test left queued
    must not be picked up by the next test's worker."""
    import redis

    _admin_in(
        POSTGRES_URL,
        "UPDATE job_steps SET status = 'cancelled'"
        " WHERE status IN ('pending', 'queued', 'running');"
        "UPDATE jobs SET status = 'cancelled' WHERE status IN ('queued', 'running');"
        "UPDATE webhook_deliveries SET status = 'failed' WHERE status = 'pending';",
    )
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{REDIS_NAMESPACE}:dramatiq*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def sqlite_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    env = {
        "SKYIE_HOME": str(tmp_path / "home"),
        "SKYIE_DATABASE_URL": "",
        "SKYIE_BROKER": "embedded",
        "SKYIE_EVENTS": "embedded",
        "SKYIE_WEBHOOK_ALLOW_PRIVATE": "true",
        # Tests count credits exactly; the monthly grant has tests of its own.
        "SKYIE_MONTHLY_GRANTS": "false",
    }
    settings = _configure(monkeypatch, env)
    migrate.upgrade(settings.resolved_database_url)
    yield Stack("sqlite", settings, env)
    get_settings.cache_clear()
    reset_bus()
