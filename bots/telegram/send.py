"""Talking to Telegram safely: flood control, network trouble, people who blocked the bot,
and texts longer than a message.

AIORateLimiter (set on the Application) spaces calls and retries a RetryAfter a few times; what
is left arrives here. A call that can wait (a reply) waits out the flood and tries again; one
that can be skipped (a progress edit) is skipped. Connection errors are retried with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import update
from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bots.telegram.texts import split_html
from core.db import get_database
from core.logging import get_logger
from core.models import TelegramAccount, utcnow

log = get_logger("bots.telegram")

T = TypeVar("T")
RETRIES = 3
BACKOFF_S = 1.0
# A flood wait longer than this is not waited out in a handler: the reply is dropped.
MAX_WAIT_S = 60.0


class ChatGone(Exception):
    """The person blocked the bot (or deleted their account): nothing can reach this chat."""


def wait_of(exc: RetryAfter) -> float:
    retry_after: object = exc.retry_after
    if isinstance(retry_after, timedelta):
        return retry_after.total_seconds()
    return float(retry_after)  # type: ignore[arg-type]


def too_large(exc: NetworkError) -> bool:
    """Telegram refused a file by its size (413, or a 400 saying so): no retry will pass."""
    message = exc.message.lower()
    return "too large" in message or "too big" in message


async def mark_blocked(chat_id: int, *, blocked: bool = True) -> None:
    async with get_database().session() as s:
        await s.execute(
            update(TelegramAccount)
            .where(TelegramAccount.chat_id == chat_id)
            .values(bot_blocked_at=utcnow() if blocked else None)
        )


async def call(
    chat_id: int,
    action: Callable[[], Awaitable[T]],
    *,
    can_skip: bool = False,
    idempotent: bool = False,
) -> T | None:
    """Run one Bot API call for `chat_id`. None when it was skipped (`can_skip` and Telegram
    asked to slow down); ChatGone when the person blocked the bot. A timed-out call is tried
    again only when `idempotent` (an edit): a send may have arrived, and must not twice."""
    for attempt in range(RETRIES + 1):
        try:
            return await action()
        except Forbidden as exc:
            log.info("telegram.chat_gone", chat_id=chat_id, reason=exc.message)
            await mark_blocked(chat_id)
            raise ChatGone(exc.message) from None
        except RetryAfter as exc:
            wait = wait_of(exc)
            if can_skip or attempt == RETRIES or wait > MAX_WAIT_S:
                log.warning("telegram.flood_skipped", chat_id=chat_id, retry_after=wait)
                if can_skip:
                    return None
                raise
            await asyncio.sleep(wait)
        except BadRequest:
            raise  # a wrong call: trying again would fail the same way
        except TimedOut:
            if not idempotent or attempt == RETRIES:
                raise
            await asyncio.sleep(BACKOFF_S * 2**attempt)
        except NetworkError as exc:
            if attempt == RETRIES or too_large(exc):
                raise
            log.info("telegram.network_retry", chat_id=chat_id, attempt=attempt, error=str(exc))
            await asyncio.sleep(BACKOFF_S * 2**attempt)
    raise AssertionError("unreachable")


async def send_html(
    bot: Bot,
    chat_id: int,
    blocks: list[tuple[str, bool]],
    markup: InlineKeyboardMarkup | None = None,
) -> Message | None:
    """Send text blocks (plain, or preformatted) as as many messages as they need; the
    buttons go under the last. Returns the last message."""
    last: Message | None = None
    pieces = split_html(blocks)
    for n, piece in enumerate(pieces):
        buttons = markup if n == len(pieces) - 1 else None

        async def send(text: str = piece, keys: InlineKeyboardMarkup | None = buttons) -> Message:
            return await bot.send_message(
                chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keys
            )

        last = await call(chat_id, send)
    return last


async def say(
    bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """A short plain reply (split if it is not short after all)."""
    await send_html(bot, chat_id, [(text, False)], markup)


async def edit_html(
    bot: Bot,
    chat_id: int,
    message_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    can_skip: bool = False,
) -> bool | None:
    """Edit a message's HTML text in place: True when done (an edit that changes nothing
    counts), None when skipped under flood control, False when the message is gone (the
    person deleted it), so the caller can send a new one."""

    async def edit() -> object:
        return await bot.edit_message_text(
            text, chat_id, message_id, parse_mode=ParseMode.HTML, reply_markup=markup
        )

    try:
        done = await call(chat_id, edit, can_skip=can_skip, idempotent=True)
    except BadRequest as exc:
        if "not modified" in exc.message.lower():
            return True
        if "not found" in exc.message.lower():
            return False
        raise
    return None if done is None else True


async def drop_buttons(bot: Bot, chat_id: int, message_id: int) -> None:
    """Take an old message's buttons away (a newer script replaced it); best effort."""

    async def edit() -> object:
        return await bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)

    # Already without buttons, or deleted by the person: nothing to take away.
    with contextlib.suppress(BadRequest):
        await call(chat_id, edit, can_skip=True, idempotent=True)
