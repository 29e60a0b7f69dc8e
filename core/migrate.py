"""Schema migrations: bring a database to the newest revision (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from core.settings import get_settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def _upgrade(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


def upgrade(url: str | None = None) -> None:
    """Migrate to head. Safe to call from inside a running event loop (runs in a thread)."""
    url = url or get_settings().resolved_database_url
    if url.startswith("sqlite"):
        Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        _upgrade(url)
        return
    # env.py calls asyncio.run(), which cannot nest inside a running loop.
    import threading

    errors: list[BaseException] = []

    def target() -> None:
        try:
            _upgrade(url)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
