"""Accounts: sign-up, sign-in, rotating refresh tokens, password resets and API keys.
Services flush, never commit: the request owns the transaction."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.tokens import (
    hash_password,
    issue_access_token,
    needs_rehash,
    opaque_token,
    read_access_token,
    token_hash,
    verify_password,
)
from billing import grants, ledger
from core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from core.models import ApiKey, PasswordReset, RefreshToken, User, utcnow
from core.settings import Settings

API_KEY_PREFIX = "sk_"
REFRESH_PREFIX = "rt"
RESET_PREFIX = "pr"
MIN_PASSWORD = 8
MAX_PASSWORD = 256
MAX_API_KEYS = 20
# Writing last_used_at on every request would make each call a write: once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 320 or not _EMAIL.match(email):
        raise InvalidInput(f"{email!r} is not an email address")
    if email.endswith(".invalid"):
        # Reserved (RFC 2606) and never delivered: accounts made in chats are named so.
        raise InvalidInput(f"{email!r} cannot receive mail; use a real address")
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"the password must be at most {MAX_PASSWORD} characters")


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


async def register(
    session: AsyncSession, settings: Settings, *, email: str, password: str, name: str = ""
) -> User:
    email = normalise_email(email)
    check_password(password)
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("an account with this email already exists", code="email_taken")
    user = User(email=email, name=name.strip()[:200], password_hash=hash_password(password))
    try:
        # Two sign-ups racing with one email: the database's unique index decides.
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError:
        raise Conflict("an account with this email already exists", code="email_taken") from None
    await grants.open_account(session, user, settings)
    return user


async def login(session: AsyncSession, *, email: str, password: str) -> User:
    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    # Hash either way: an unknown email must take as long as a wrong password.
    matches = verify_password(user.password_hash if user else None, password)
    if user is None or not matches:
        raise Unauthorized("wrong email or password", code="invalid_credentials")
    assert user.password_hash is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


async def issue_tokens(
    session: AsyncSession, settings: Settings, user_id: str, *, family_id: str | None = None
) -> TokenPair:
    refresh = opaque_token(REFRESH_PREFIX)
    session.add(
        RefreshToken(
            user_id=user_id,
            family_id=family_id or f"fam_{uuid.uuid4().hex[:20]}",
            token_hash=token_hash(refresh),
            expires_at=utcnow() + timedelta(seconds=settings.refresh_token_ttl_s),
        )
    )
    await session.flush()
    access = issue_access_token(user_id, settings.signing_key(), settings.access_token_ttl_s)
    return TokenPair(access, refresh, settings.access_token_ttl_s)


@dataclass(frozen=True)
class Rotation:
    tokens: TokenPair | None
    user_id: str | None = None
    # Set when the token must be refused; the caller commits first (a reuse revokes the family).
    refusal: str | None = None


async def rotate(session: AsyncSession, settings: Settings, refresh_token: str) -> Rotation:
    """Trade a refresh token for a new pair. A token works once: presenting a used one again
    means two parties hold it, so the whole family is revoked and both must log in again."""
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash(refresh_token))
    )
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at < now:
        return Rotation(None, refusal="the refresh token is not valid; log in again")
    claimed = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        await revoke_family(session, row.family_id)
        return Rotation(None, refusal="this refresh token was already used; log in again")
    if await session.get(User, row.user_id) is None:
        return Rotation(None, refusal="the account no longer exists")
    pair = await issue_tokens(session, settings, row.user_id, family_id=row.family_id)
    return Rotation(pair, row.user_id)


async def revoke_family(session: AsyncSession, family_id: str) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def logout(session: AsyncSession, refresh_token: str) -> None:
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash(refresh_token))
    )
    if row is not None:
        await revoke_family(session, row.family_id)


async def request_password_reset(
    session: AsyncSession, settings: Settings, email: str
) -> tuple[User, str] | None:
    """A reset token for the account, or None when there is no such account (the caller
    answers the same either way, so the endpoint does not reveal who has an account)."""
    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        return None
    token = opaque_token(RESET_PREFIX)
    session.add(
        PasswordReset(
            user_id=user.id,
            token_hash=token_hash(token),
            expires_at=utcnow() + timedelta(seconds=settings.reset_token_ttl_s),
        )
    )
    await session.flush()
    return user, token


async def reset_password(session: AsyncSession, token: str, password: str) -> User:
    check_password(password)
    row = await session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == token_hash(token))
    )
    now = utcnow()
    if row is None or row.used_at is not None or row.expires_at < now:
        raise InvalidInput("this reset link is not valid or has expired; ask for a new one")
    claimed = await session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == row.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        raise InvalidInput("this reset link was already used; ask for a new one")
    user = await session.get(User, row.user_id)
    if user is None:
        raise InvalidInput("this reset link is not valid or has expired; ask for a new one")
    user.password_hash = hash_password(password)
    # Whoever knew the old password is logged out everywhere: access tokens issued until now
    # stop working, and so do the other reset links still out there.
    user.tokens_valid_after = now
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return user


async def authenticate_access_token(session: AsyncSession, settings: Settings, token: str) -> str:
    claims = read_access_token(token, settings.signing_key())
    row = (
        await session.execute(
            select(User.id, User.tokens_valid_after).where(User.id == claims.user_id)
        )
    ).first()
    if row is None:
        raise Unauthorized("the account no longer exists", code="invalid_token")
    cut_off = row.tokens_valid_after
    if cut_off is not None and claims.issued_at < cut_off.timestamp():
        raise Unauthorized(
            "the password changed since this token was issued; log in again", code="invalid_token"
        )
    return claims.user_id


async def create_api_key(session: AsyncSession, user_id: str, name: str) -> tuple[ApiKey, str]:
    await ledger.lock_user(session, user_id)  # two creations racing must not both pass the count
    count = await session.scalar(
        select(func.count())
        .select_from(ApiKey)
        .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
    )
    if (count or 0) >= MAX_API_KEYS:
        raise Conflict(f"at most {MAX_API_KEYS} API keys; revoke one first", code="too_many_keys")
    key = opaque_token(API_KEY_PREFIX.rstrip("_"))
    row = ApiKey(
        user_id=user_id, name=name.strip()[:100], prefix=key[:10], key_hash=token_hash(key)
    )
    session.add(row)
    await session.flush()
    return row, key


async def authenticate_api_key(session: AsyncSession, key: str) -> ApiKey:
    row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == token_hash(key)))
    if row is None or row.revoked_at is not None:
        raise Unauthorized("the API key is not valid or was revoked", code="invalid_api_key")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now
    return row


async def list_api_keys(session: AsyncSession, user_id: str) -> list[ApiKey]:
    rows = await session.scalars(
        select(ApiKey)
        .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at.desc())
    )
    return list(rows)


async def revoke_api_key(session: AsyncSession, user_id: str, key_id: str) -> None:
    row = await session.get(ApiKey, key_id)
    if row is None or row.user_id != user_id or row.revoked_at is not None:
        raise NotFound(f"API key {key_id} not found")
    row.revoked_at = utcnow()
