"""Async database access: one engine per event loop, sessions that commit or roll back as a unit."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from core.logging import get_logger
from core.settings import get_settings

log = get_logger("db")

# Callbacks run after a session's transaction commits (jobs are sent only then).
AfterCommit = Callable[[], None]
READ_ONLY = "skyie_read_only"


def make_engine(url: str, *, foreign_keys: bool = True) -> AsyncEngine:
    """`foreign_keys=False` only for migrations: SQLite alters a table by copying and dropping
    it, and with foreign keys enforced dropping `users` would cascade to every child row."""
    if url.startswith("sqlite"):
        # NullPool: aiosqlite connections are cheap and must not be shared across event loops.
        engine = create_async_engine(url, poolclass=NullPool, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # The driver's own transaction handling begins lazily and deferred; we begin
            # ourselves (below), which also makes SAVEPOINTs work.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            # IMMEDIATE: take the write lock when the transaction starts. A deferred one that
            # reads, then writes after another connection committed, fails at once with
            # "database is locked" (its snapshot is stale); waiting at BEGIN never does.
            # Read-only sessions need no lock: WAL readers never wait.
            read_only = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    return create_async_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True)


class Database:
    """An engine and its session factory, bound to the event loop that made it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

    @asynccontextmanager
    async def session(self, *, read_only: bool = False) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits on success, rolls back on error, then runs after-commit hooks.
        `read_only`: it only reads, so on SQLite it does not queue for the write lock."""
        maker = self.read_sessions if read_only else self.sessions
        async with maker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                session.info.pop("after_commit", None)
                raise
        for hook in session.info.pop("after_commit", []):
            # The transaction is already committed: one failing hook must not stop the others.
            try:
                hook()
            except Exception:
                log.exception("db.after_commit_failed")

    async def dispose(self) -> None:
        await self.engine.dispose()


def after_commit(session: AsyncSession, hook: AfterCommit) -> None:
    """Run `hook` once the session's transaction has committed; dropped on rollback."""
    session.info.setdefault("after_commit", []).append(hook)


_disposing: set[asyncio.Task[None]] = set()
_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Database] = (
    weakref.WeakKeyDictionary()
)


def get_database(url: str | None = None) -> Database:
    """The Database for the running event loop (asyncpg connections cannot cross loops)."""
    loop = asyncio.get_running_loop()
    url = url or get_settings().resolved_database_url
    db = _by_loop.get(loop)
    if db is None or db.url != url:
        if db is not None:
            # Its connections would otherwise stay open; keep the task referenced until done.
            task = loop.create_task(db.dispose())
            _disposing.add(task)
            task.add_done_callback(_disposing.discard)
        db = Database(url)
        _by_loop[loop] = db
    return db


async def dispose_all() -> None:
    loop = asyncio.get_running_loop()
    db = _by_loop.pop(loop, None)
    if db is not None:
        await db.dispose()
