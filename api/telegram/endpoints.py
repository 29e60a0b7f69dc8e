"""Telegram routes for the signed-in web user: a deep link that ties a Telegram chat to this
account, the chats tied to it, and untying one."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import AppSettings, CurrentUser, Session
from api.errors import ERRORS
from core.errors import NotFound
from core.models import TelegramAccount
from tools.telegram_links import issue_link

router = APIRouter(tags=["telegram"], responses=ERRORS)


class TelegramLinkOut(BaseModel):
    url: str | None = Field(
        description="Opens the bot with the link (t.me); null when the studio has not set "
        "SKYIE_TELEGRAM_BOT_USERNAME — then send `command` to the bot."
    )
    command: str = Field(description="What to send the bot to tie the chat: /start <token>.")
    expires_at: datetime = Field(description="The link works once, until then.")


class TelegramChatOut(BaseModel):
    telegram_id: int
    username: str
    first_name: str
    linked_at: datetime


class TelegramOut(BaseModel):
    enabled: bool = Field(description="Whether this studio runs a Telegram bot.")
    bot_username: str | None = Field(description="The bot's @name, when configured.")
    chats: list[TelegramChatOut] = Field(description="Telegram people who act as this account.")


@router.get("/telegram")
async def telegram_status(
    principal: CurrentUser, session: Session, settings: AppSettings
) -> TelegramOut:
    """Whether the studio has a bot, and which Telegram chats act as this account."""
    rows = await session.scalars(
        select(TelegramAccount)
        .where(TelegramAccount.user_id == principal.user_id)
        .order_by(TelegramAccount.created_at)
    )
    return TelegramOut(
        enabled=bool(settings.telegram_bot_token),
        bot_username=settings.telegram_bot_username.lstrip("@") or None,
        chats=[
            TelegramChatOut(
                telegram_id=r.telegram_id,
                username=r.username,
                first_name=r.first_name,
                linked_at=r.updated_at,
            )
            for r in rows
        ],
    )


@router.post("/telegram/link", status_code=201)
async def create_link(
    principal: CurrentUser, session: Session, settings: AppSettings
) -> TelegramLinkOut:
    """A one-time deep link (30 minutes) that ties the Telegram chat opening it to this
    account: its videos and bought credits from chats before come along."""
    link = await issue_link(session, settings, principal.user_id)
    return TelegramLinkOut(url=link.url, command=f"/start {link.token}", expires_at=link.expires_at)


@router.delete("/telegram/chats/{telegram_id}", status_code=204)
async def unlink(
    principal: CurrentUser,
    session: Session,
    # Telegram ids fit in 52 bits; the column is a signed 64-bit integer, so a larger number
    # is answered 422 here rather than overflowing the database driver.
    telegram_id: int = Path(
        ge=1, le=2**63 - 1, description="The Telegram user id, from GET /v1/telegram."
    ),
) -> Response:
    """Untie a Telegram chat: it no longer acts as this account (its next /start opens a new
    one). Nothing made from it is lost: videos and credits stay here."""
    row = await session.get(TelegramAccount, telegram_id)
    if row is None or row.user_id != principal.user_id:
        raise NotFound(f"no Telegram chat {telegram_id} is tied to this account")
    await session.delete(row)
    return Response(status_code=204)
