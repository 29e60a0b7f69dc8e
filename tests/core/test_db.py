"""SQLite transactions: writers queue for the lock when they begin; readers never queue."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, update

from core.db import Database
from core.models import User
from tests.conftest import Stack


async def test_a_reader_is_not_held_up_by_a_writer(sqlite_stack: Stack) -> None:
    db = Database(sqlite_stack.settings.resolved_database_url)
    async with db.session() as s:
        s.add(User(email="lock@example.com"))
    async with db.session() as writer:
        # The writer holds the write lock until it commits.
        await writer.execute(update(User).values(name="writing"))

        async def read() -> str | None:
            async with db.session(read_only=True) as reader:
                return await reader.scalar(select(User.name))

        # A reader that queued for the lock would wait out the 30 s busy timeout and fail.
        assert await asyncio.wait_for(read(), timeout=20) == ""
    async with db.session(read_only=True) as reader:
        assert await reader.scalar(select(User.name)) == "writing"
    await db.dispose()
