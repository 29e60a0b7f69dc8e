"""/start for a new person reaching two processes at once (two webhook replicas): both find
no account and both open one, on PostgreSQL, in two transactions. The one that loses the
race takes the account the other made; the person gets one account and one welcome grant."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bots.telegram import accounts
from bots.telegram.accounts import EMAIL_DOMAIN, Person
from core.db import get_database
from core.events import reset_bus
from core.models import CreditEntry, EntryKind, TelegramAccount, User
from core.settings import Settings, get_settings
from tests.conftest import _configure, postgres_url

pytestmark = pytest.mark.postgres

# Sessions of this database waiting for a row lock another transaction holds.
WAITING = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


@pytest.fixture
def pg_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    env = {
        "SKYIE_HOME": str(tmp_path / "home"),
        "SKYIE_DATABASE_URL": postgres_url(),
        "SKYIE_MONTHLY_GRANTS": "false",
    }
    yield _configure(monkeypatch, env)
    get_settings.cache_clear()
    reset_bus()


async def _race(settings: Settings, person: Person) -> list[TelegramAccount]:
    """Two sessions look the person up (nobody), then both open the account. Whichever
    inserts first holds its commit until the other is stuck behind it in PostgreSQL, so the
    other surely looked before the account existed: the race happens every run."""
    db = get_database()
    looked = asyncio.Barrier(2)
    opened: set[int] = set()

    async def held_up() -> bool:
        async with db.session(read_only=True) as s:
            return bool(await s.scalar(WAITING))

    async def opening(n: int) -> TelegramAccount:
        async with db.session() as s:
            assert await accounts.find(s, person) is None
            await looked.wait()
            account = await accounts.open_account(s, settings, person)
            opened.add(n)
            deadline = time.monotonic() + 30
            while 1 - n not in opened and not await held_up():
                assert time.monotonic() < deadline, "the other session never reached its insert"
                await asyncio.sleep(0.01)
            return account

    return list(await asyncio.gather(opening(0), opening(1)))


def _person() -> Person:
    telegram_id = random.randrange(10**9, 7 * 10**9)
    return Person(telegram_id=telegram_id, chat_id=telegram_id, first_name="Ana")


async def test_two_starts_at_once_make_one_account_and_one_welcome_grant(
    pg_settings: Settings,
) -> None:
    person = _person()
    first, second = await _race(pg_settings, person)
    assert first.telegram_id == second.telegram_id == person.telegram_id
    assert first.user_id == second.user_id
    email = f"telegram-{person.telegram_id}@{EMAIL_DOMAIN}"
    async with get_database().session(read_only=True) as s:
        users = (await s.scalars(select(User).where(User.email == email))).all()
        assert [u.id for u in users] == [first.user_id]
        grants = await s.scalars(
            select(CreditEntry.amount).where(
                CreditEntry.user_id == first.user_id, CreditEntry.kind == EntryKind.grant.value
            )
        )
        assert list(grants) == [pg_settings.starting_credits]
        account = await s.get(TelegramAccount, person.telegram_id)
        assert account is not None and account.user_id == first.user_id


async def test_two_starts_at_once_reopen_the_account_made_before_once(
    pg_settings: Settings,
) -> None:
    # The person's Telegram-made account exists without its tie (they linked a web account,
    # then untied it): both find the user and race to the unique Telegram id instead.
    person = _person()
    email = f"telegram-{person.telegram_id}@{EMAIL_DOMAIN}"
    async with get_database().session() as s:
        user = User(email=email, name="Ana")
        s.add(user)
        await s.flush()
        user_id = user.id
    first, second = await _race(pg_settings, person)
    assert first.user_id == second.user_id == user_id
    async with get_database().session(read_only=True) as s:
        ties = await s.scalar(
            select(func.count())
            .select_from(TelegramAccount)
            .where(TelegramAccount.telegram_id == person.telegram_id)
        )
        assert ties == 1
        entries = await s.scalar(
            select(func.count()).select_from(CreditEntry).where(CreditEntry.user_id == user_id)
        )
        assert entries == 0
