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
from billing.plans import PLANS, plan_spec
from core.db import get_database
from core.errors import Forbidden, Unauthorized
from core.models import Plan, User
from core.settings import Settings
from core.storage import Storage
from jobs import links
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


async def require_api_access(session: AsyncSession, user_id: str) -> None:
    """API keys are a plan feature: refuse making or using one on a plan without it, naming
    the plan that has it. Checked on every use, so a downgrade stops keys already made."""
    user = await session.get(User, user_id)
    current = plan_spec(user.plan if user is not None else Plan.free.value)
    if not current.api_access:
        needed = next(spec.title for spec in PLANS.values() if spec.api_access)
        raise Forbidden(
            f"API keys come with the {needed} plan; this account is on {current.title}",
            code="plan_required",
        )


async def principal_for_token(
    token: str | None, settings: Settings, limiter: Limiter, *, from_query: bool = False
) -> Principal:
    """Who a token (an access token or an API key) belongs to, counted against their rate
    limits: the account's, whatever the credential, and an API key's own on top."""
    if not token:
        raise Unauthorized("log in first: send 'Authorization: Bearer <token>'")
    if from_query and token.startswith(auth.API_KEY_PREFIX):
        # URLs end up in logs and histories: only short-lived access tokens may travel there.
        raise Unauthorized(
            "an API key cannot be sent in the URL; send it in the Authorization header",
            code="key_in_url",
        )
    if token.startswith(auth.API_KEY_PREFIX):
        async with get_database().session() as session:  # writes the key's last use
            key = await auth.authenticate_api_key(session, token)
            await require_api_access(session, key.user_id)
        principal = Principal(user_id=key.user_id, api_key_id=key.id)
    else:
        # Every request passes here: a read, so it never waits behind a writer.
        async with get_database().session(read_only=True) as session:
            user_id = await auth.authenticate_access_token(session, settings, token)
        principal = Principal(user_id=user_id)
    limit = settings.rate_limit_per_minute
    await enforce(limiter, f"user:{principal.user_id}", limit, "this account")
    if principal.api_key_id is not None:
        key_limit = settings.api_key_rate_limit_per_minute
        await enforce(limiter, f"key:{principal.api_key_id}", key_limit, "this API key")
    return principal


_bearer = HTTPBearer(auto_error=False, description="An access token or an API key (sk_…).")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _header_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    token = credentials.credentials if credentials is not None else None
    return token or request.headers.get("x-api-key") or ""


async def current_principal(request: Request, credentials: Credentials) -> Principal:
    settings = get_settings_(request)
    token = _header_token(request, credentials)
    principal = await principal_for_token(token, settings, request.app.state.limiter)
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


async def stream_principal(
    request: Request,
    credentials: Credentials,
    access_token: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="An access token, for clients that cannot send headers (media, streams).",
        ),
    ] = None,
) -> Principal:
    """For streams and media (players, images): the header, or else `?access_token=` (a short-
    lived access token, never an API key)."""
    settings = get_settings_(request)
    header = _header_token(request, credentials)
    token = header or access_token
    principal = await principal_for_token(
        token, settings, request.app.state.limiter, from_query=not header
    )
    request.state.principal = principal
    return principal


StreamUser = Annotated[Principal, Depends(stream_principal)]


async def download_principal(
    request: Request,
    credentials: Credentials,
    access_token: Annotated[
        str | None,
        Query(max_length=2000, description="An access token (see the stream routes)."),
    ] = None,
    link: Annotated[
        str | None,
        Query(
            max_length=2000,
            description="A signed download link's token, as chats deliver files too big to "
            "send: it opens this job's files only, until it expires.",
        ),
    ] = None,
) -> Principal:
    """For file downloads: a signed link for this very job, or else as for streams."""
    job_id = request.path_params.get("job_id", "")
    if link is not None:
        user_id = links.verify(get_settings_(request), link, job_id)
        limit = get_settings_(request).rate_limit_per_minute
        await enforce(request.app.state.limiter, f"user:{user_id}", limit, "this account")
        return Principal(user_id=user_id)
    return await stream_principal(request, credentials, access_token)


DownloadUser = Annotated[Principal, Depends(download_principal)]


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


def _tools(
    session: Session, principal: CurrentUser, settings: AppSettings, storage: AppStorage
) -> ToolContext:
    return tool_context(session, principal, settings, storage)


# The request's tool context: its transaction, its caller, the app's settings and storage.
Tools = Annotated[ToolContext, Depends(_tools)]
