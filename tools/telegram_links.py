"""Deep links that tie a Telegram person to a web account: issued to the signed-in web user,
redeemed once by the bot's /start."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput, NotFound
from core.models import TelegramLinkToken, utcnow
from core.settings import Settings

LINK_TTL = timedelta(minutes=30)
# Telegram's /start payload: at most 64 of A-Z a-z 0-9 _ -. The prefix tells a link from
# any other payload a /start might carry.
PREFIX = "link-"


@dataclass(frozen=True)
class Link:
    token: str
    expires_at: datetime
    url: str | None  # None until the bot's username is configured


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_link(session: AsyncSession, settings: Settings, user_id: str) -> Link:
    if not settings.telegram_bot_token:
        raise NotFound("this studio has no Telegram bot", code="telegram_disabled")
    token = PREFIX + secrets.token_urlsafe(24)  # 37 characters
    expires_at = utcnow() + LINK_TTL
    session.add(
        TelegramLinkToken(token_hash=token_hash(token), user_id=user_id, expires_at=expires_at)
    )
    await session.flush()
    username = settings.telegram_bot_username.lstrip("@")
    url = f"https://t.me/{username}?start={token}" if username else None
    return Link(token=token, expires_at=expires_at, url=url)


def is_link_token(payload: str) -> bool:
    return payload.startswith(PREFIX)


async def peek_link(session: AsyncSession, token: str) -> str:
    """The web account a link would tie to, without using it (the person confirms first)."""
    row = await session.get(TelegramLinkToken, token_hash(token))
    return _usable(row).user_id


def _usable(row: TelegramLinkToken | None) -> TelegramLinkToken:
    if row is None:
        raise InvalidInput("this link is not valid; make a new one in the web app")
    if row.used_at is not None:
        raise InvalidInput("this link was used already; make a new one in the web app")
    if row.expires_at < utcnow():
        raise InvalidInput("this link has expired; make a new one in the web app")
    return row


async def redeem_link(session: AsyncSession, token: str) -> str:
    """The web account a link was issued to, once; a used, expired or unknown one is refused."""
    row = _usable(await session.get(TelegramLinkToken, token_hash(token), with_for_update=True))
    # Conditional, so of two /starts racing with one link only one ties the account.
    claimed = await session.execute(
        update(TelegramLinkToken)
        .where(TelegramLinkToken.token_hash == row.token_hash, TelegramLinkToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        raise InvalidInput("this link was used already; make a new one in the web app")
    return row.user_id
