"""Migrations keep what is stored, and leave the schema the models describe."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from core.migrate import alembic_config, upgrade
from core.models import Base

CHILDREN = ("credit_entries", "api_keys", "conversations", "jobs")


def _counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in CHILDREN}


def test_upgrading_an_embedded_studio_keeps_every_row(tmp_path: Path) -> None:
    """SQLite alters a table by copying and dropping it: with foreign keys enforced, dropping
    `users` would take every credit, key, conversation and job with it."""
    path = tmp_path / "skyie.db"
    url = f"sqlite+aiosqlite:///{path}"
    command.upgrade(alembic_config(url), "0005")
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            INSERT INTO users (id, email, name, plan, ledger_seq, created_at)
                VALUES ('usr_1', 'a@example.com', 'A', 'free', 0, '2026-01-01 00:00:00');
            INSERT INTO credit_entries (id, user_id, kind, amount, note, created_at)
                VALUES ('crd_1', 'usr_1', 'grant', 200, 'starting credits', '2026-01-01');
            INSERT INTO api_keys (id, user_id, name, prefix, key_hash, created_at)
                VALUES ('key_1', 'usr_1', 'k', 'sk_abc', 'hash', '2026-01-01');
            INSERT INTO conversations (id, user_id, channel, title, turns, state, created_at,
                                       updated_at)
                VALUES ('cnv_1', 'usr_1', 'web', 't', 0, '{}', '2026-01-01', '2026-01-01');
            INSERT INTO jobs (id, user_id, workflow, status, phase, progress, script_text,
                              options, credits, output, created_at)
                VALUES ('job_1', 'usr_1', 'production', 'succeeded', 'done', 1, 's', '{}', 20,
                        '{}', '2026-01-01');
            """
        )
    before = _counts(path)
    upgrade(url)
    assert _counts(path) == before == dict.fromkeys(CHILDREN, 1)


def test_the_migrated_schema_is_the_models(tmp_path: Path) -> None:
    path = tmp_path / "skyie.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []
