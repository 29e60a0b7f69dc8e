"""What every handler shares: the bot's dependencies, who wrote, and their account."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import ContextTypes

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
    # One turn at a time per person: updates run concurrently, a person's messages in order.
    locks: dict[int, asyncio.Lock] = field(default_factory=dict)
    # Jobs whose progress this process follows, by job id.
    watchers: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    def lock(self, telegram_id: int) -> asyncio.Lock:
        return self.locks.setdefault(telegram_id, asyncio.Lock())


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


@asynccontextmanager
async def turn(deps: BotDeps, account: TelegramAccount) -> AsyncIterator[None]:
    async with deps.lock(account.telegram_id):
        yield


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
