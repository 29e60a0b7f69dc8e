"""What endpoints receive: the request's transaction, the authenticated caller, a tool context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import service as auth
from api.ratelimit import Limiter, enforce
from core.db import get_database
from core.errors import Unauthorized
from core.settings import Settings
from core.storage import Storage
from tools.context import ToolContext


async def _session() -> AsyncIterator[AsyncSession]:
    async with get_database().session() as session:
        yield session


# The request owns the transaction. scope="function": it commits when the endpoint returns,
# before the response is sent, so a failed commit is an error response, never a false 200.
Session = Annotated[AsyncSession, Depends(_session, scope="function")]


def get_settings_(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(get_settings_)]


def get_storage_(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


AppStorage = Annotated[Storage, Depends(get_storage_)]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, through a session token or one of their API keys."""

    user_id: str
    api_key_id: str | None = None

    @property
    def rate_key(self) -> str:
        return f"key:{self.api_key_id}" if self.api_key_id else f"user:{self.user_id}"


async def principal_for_token(token: str | None, settings: Settings, limiter: Limiter) -> Principal:
    """Who a token (an access token or an API key) belongs to, counted against their rate
    limit. Shared by HTTP routes and WebSockets."""
    if not token:
        raise Unauthorized("log in first: send 'Authorization: Bearer <token>'")
    async with get_database().session() as session:
        if token.startswith(auth.API_KEY_PREFIX):
            key = await auth.authenticate_api_key(session, token)
            principal = Principal(user_id=key.user_id, api_key_id=key.id)
        else:
            user_id = await auth.authenticate_access_token(session, settings, token)
            principal = Principal(user_id=user_id)
    await enforce(limiter, principal.rate_key, settings.rate_limit_per_minute, "this account")
    return principal


_bearer = HTTPBearer(auto_error=False, description="An access token or an API key (sk_…).")


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    access_token: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="For EventSource and WebSocket clients, which cannot send headers.",
            include_in_schema=False,
        ),
    ] = None,
) -> Principal:
    token = credentials.credentials if credentials is not None else None
    token = token or request.headers.get("x-api-key") or access_token
    principal = await principal_for_token(token, get_settings_(request), request.app.state.limiter)
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def limit_auth_attempts(request: Request) -> None:
    """Logins, sign-ups and reset requests are limited per address (slows password guessing)."""
    settings = get_settings_(request)
    limiter: Limiter = request.app.state.limiter
    await enforce(
        limiter,
        f"auth:{client_address(request)}",
        settings.auth_rate_limit_per_minute,
        "sign-in attempts from this address",
    )


def tool_context(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    storage: Storage,
    *,
    channel: str = "api",
    conversation_id: str | None = None,
) -> ToolContext:
    """Tools run as the authenticated user; nothing in the request body can change who."""
    return ToolContext(
        session=session,
        user_id=principal.user_id,
        channel=channel,
        settings=settings,
        storage=storage,
        conversation_id=conversation_id,
    )
