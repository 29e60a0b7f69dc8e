"""Who a Telegram person is in the studio: an account made by /start, or a web account tied
by a deep link (the Telegram-made account's videos and bought credits move with them)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from billing import grants, ledger
from billing.payments import active_subscription
from core.errors import Conflict
from core.models import (
    Asset,
    Conversation,
    CreditEntry,
    EntryKind,
    Job,
    JobStatus,
    Quote,
    TelegramAccount,
    Usage,
    User,
    utcnow,
)
from core.settings import Settings
from tools.telegram_links import redeem_link

# Accounts made in Telegram are named by a reserved, never-delivered address (RFC 2606).
EMAIL_DOMAIN = "telegram.skyie.invalid"
_MOVED = (Conversation, Job, Asset, Quote, Usage)


@dataclass(frozen=True)
class Person:
    """The Telegram side of an update: who wrote, and the chat to answer in."""

    telegram_id: int
    chat_id: int
    first_name: str = ""
    username: str = ""
    language: str = ""


@dataclass(frozen=True)
class Linked:
    account: TelegramAccount
    email: str
    videos_moved: int = 0
    credits_moved: int = 0


def allowed(settings: Settings, person: Person) -> bool:
    """Whether the operator lets this person use the bot (an empty list lets everyone)."""
    entries = {e.strip().lower() for e in settings.telegram_allowed_users.split(",") if e.strip()}
    if not entries:
        return True
    username = f"@{person.username.lower()}" if person.username else None
    return str(person.telegram_id) in entries or (username is not None and username in entries)


def is_telegram_made(user: User) -> bool:
    return user.email.endswith("@" + EMAIL_DOMAIN)


async def find(session: AsyncSession, person: Person) -> TelegramAccount | None:
    account = await session.get(TelegramAccount, person.telegram_id)
    if account is not None:
        _refresh(account, person)
    return account


def _refresh(account: TelegramAccount, person: Person) -> None:
    """Names and chats change; a person who writes again has unblocked the bot."""
    account.chat_id = person.chat_id
    account.username = person.username[:64]
    account.first_name = person.first_name[:200]
    account.language = person.language[:16]
    account.bot_blocked_at = None
    account.updated_at = utcnow()


async def open_account(
    session: AsyncSession, settings: Settings, person: Person
) -> TelegramAccount:
    """A studio account for a Telegram person: new, with the welcome credits, or the one made
    for them before (they linked a web account, then untied it).

    Two /start updates can reach two processes (webhook replicas) at once, and both find no
    account. The one that loses the race to the unique Telegram id (or e-mail) takes back
    its attempt, welcome credits included, and uses the account the other one made."""
    try:
        async with session.begin_nested():
            return await _open(session, settings, person)
    except IntegrityError:
        # The savepoint is rolled back; the winner has committed (PostgreSQL made this
        # insert wait for it), so its account is there to read.
        account = await find(session, person)
        if account is None:
            raise
        await session.flush()
        return account


async def _open(session: AsyncSession, settings: Settings, person: Person) -> TelegramAccount:
    email = f"telegram-{person.telegram_id}@{EMAIL_DOMAIN}"
    user = await session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=(person.first_name or person.username or "Creator")[:200])
        session.add(user)
        await session.flush()
        await grants.open_account(session, user, settings)
    account = TelegramAccount(telegram_id=person.telegram_id, user_id=user.id, chat_id=0)
    _refresh(account, person)
    session.add(account)
    await session.flush()
    return account


async def link(session: AsyncSession, settings: Settings, person: Person, token: str) -> Linked:
    """Tie this person to the web account a deep link was made for. An account made here
    before moves its videos, conversations and unspent bought credits along."""
    user_id = await redeem_link(session, token)
    target = await session.get(User, user_id)
    assert target is not None  # the token's foreign key cascades with the user
    account = await find(session, person)
    videos = moved = 0
    if account is None:
        account = TelegramAccount(telegram_id=person.telegram_id, user_id=user_id, chat_id=0)
        _refresh(account, person)
        session.add(account)
    elif account.user_id != user_id:
        previous = await session.get(User, account.user_id)
        if previous is not None and is_telegram_made(previous):
            videos, moved = await _merge(session, previous, target)
        account.user_id = user_id
        account.conversation_id = None
        account.state = {}
    await session.flush()
    return Linked(account=account, email=target.email, videos_moved=videos, credits_moved=moved)


async def _merge(session: AsyncSession, old: User, new: User) -> tuple[int, int]:
    """Move a Telegram-made account's library into the web account, with the credits it
    bought and has not spent (free credits stay: each account has its own). Refused while
    it has videos in the making or a subscription, which would lose track of their money."""
    running = await session.scalar(
        select(func.count())
        .select_from(Job)
        .where(
            Job.user_id == old.id,
            Job.status.in_((JobStatus.queued.value, JobStatus.running.value)),
        )
    )
    if running:
        raise Conflict(
            "videos are still being made on this Telegram account; link it once they are done",
            code="jobs_running",
        )
    if await active_subscription(session, old.id) is not None:
        raise Conflict(
            "this Telegram account has its own subscription; cancel it with /buy → Manage "
            "before linking, or keep using it here",
            code="subscribed",
        )
    # Both ledgers, always in the same order, so two links racing cannot deadlock.
    for user_id in sorted((old.id, new.id)):
        await ledger.lock_user(session, user_id)
    bought = await session.scalar(
        select(func.coalesce(func.sum(CreditEntry.amount), 0)).where(
            CreditEntry.user_id == old.id,
            CreditEntry.kind.in_((EntryKind.purchase.value, EntryKind.refund.value)),
        )
    )
    moved = max(0, min(await ledger.balance(session, old.id), int(bought or 0)))
    if moved:
        note = f"moved with the Telegram account {old.id}"
        await ledger.adjust(session, old.id, -moved, note=note, ref=f"merge-out:{old.id}")
        await ledger.adjust(session, new.id, moved, note=note, ref=f"merge-in:{old.id}")
    videos = await session.scalar(
        select(func.count()).select_from(Job).where(Job.user_id == old.id)
    )
    for model in _MOVED:
        await session.execute(update(model).where(model.user_id == old.id).values(user_id=new.id))
    return int(videos or 0), moved
