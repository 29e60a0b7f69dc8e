"""What every handler shares: the bot's dependencies, who wrote, and their account."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import BaseUpdateProcessor, ContextTypes

from agent.providers.base import Provider
from bots.telegram import accounts
from bots.telegram.accounts import Person
from bots.telegram.send import ChatGone, say
from core.db import get_database
from core.models import TelegramAccount
from core.settings import Settings
from core.storage import Storage
from tools.context import ScriptWriter, ToolContext

CHANNEL = "telegram"


@dataclass
class BotDeps:
    settings: Settings
    storage: Storage
    provider: Provider
    writer: ScriptWriter
    # Jobs whose progress this process follows, by job id.
    watchers: dict[str, asyncio.Task[None]] = field(default_factory=dict)


class OnePersonAtATime(BaseUpdateProcessor):
    """Updates run side by side, except that one person's run one at a time, in the order
    they came: a photo then a brief, or a brief then "make it shorter", never swap. A lock
    lives only while someone holds or waits for it (the dictionary's values are weak)."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        user = update.effective_user if isinstance(update, Update) else None
        if user is None:
            await coroutine
            return
        lock = self._locks.get(user.id)
        if lock is None:
            lock = self._locks[user.id] = asyncio.Lock()
        async with lock:
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up: locks are made as people write."""

    async def shutdown(self) -> None:
        """Nothing to free: the locks go with their last waiter."""


Context = ContextTypes.DEFAULT_TYPE


def deps_of(context: Context) -> BotDeps:
    deps = context.bot_data["deps"]
    assert isinstance(deps, BotDeps)
    return deps


def person_of(update: Update) -> Person | None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or user.is_bot:
        return None
    return Person(
        telegram_id=user.id,
        chat_id=chat.id,
        first_name=user.first_name or "",
        username=user.username or "",
        language=user.language_code or "",
    )


async def authorize(update: Update, context: Context) -> TelegramAccount | None:
    """The writer's account, or None once they have been told why they cannot go on: not on
    the operator's list, blocked, or unknown (no /start yet)."""
    person = person_of(update)
    if person is None:
        return None
    deps = deps_of(context)
    if not accounts.allowed(deps.settings, person):
        await _tell(context, person, "This studio's bot is private. Ask its owner for access.")
        return None
    async with get_database().session() as s:
        account = await accounts.find(s, person)
    if account is None:
        await _tell(context, person, "Hello! Send /start to open your studio account first.")
        return None
    if account.blocked_at is not None:
        await _tell(context, person, "This account is blocked. Ask the studio's owner why.")
        return None
    return account


async def _tell(context: Context, person: Person, text: str) -> None:
    with contextlib.suppress(ChatGone):  # they blocked the bot: nobody is left to tell
        await say(context.bot, person.chat_id, text)


def tool_context(
    session: AsyncSession,
    deps: BotDeps,
    account: TelegramAccount,
    conversation_id: str | None = None,
) -> ToolContext:
    """Tools run as the account the Telegram person is tied to, never as anyone a message names."""
    return ToolContext(
        session=session,
        user_id=account.user_id,
        channel=CHANNEL,
        settings=deps.settings,
        storage=deps.storage,
        conversation_id=conversation_id,
        writer=deps.writer,
    )
