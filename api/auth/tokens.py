"""Secrets of accounts: argon2 password hashes, short signed access tokens, random opaque tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import Unauthorized
from core.models import utcnow

ALGORITHM = "HS256"
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    if stored is None:
        # Spend the same time as a real check, so timing does not tell which emails exist.
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


def opaque_token(prefix: str) -> str:
    """A random, URL-safe token; only its hash is ever stored."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    issued_at: float


def issue_access_token(user_id: str, key: str, ttl_s: int) -> str:
    now = utcnow()
    claims = {
        "sub": user_id,
        "typ": "access",
        # Sub-second: a token issued just before a password reset must fall before it.
        "iat": now.timestamp(),
        "exp": int((now + timedelta(seconds=ttl_s)).timestamp()),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def read_access_token(token: str, key: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token, key, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "typ", "iat"]}
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized(
            "the access token has expired; refresh it", code="token_expired"
        ) from None
    except jwt.InvalidTokenError:
        raise Unauthorized("the access token is not valid", code="invalid_token") from None
    if claims.get("typ") != "access" or not isinstance(claims.get("sub"), str):
        raise Unauthorized("the access token is not valid", code="invalid_token")
    return AccessClaims(user_id=claims["sub"], issued_at=float(claims["iat"]))
