"""Account routes: register, login, refresh, logout, password reset, the caller, API keys."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response

from api.auth import service
from api.auth.mail import Mail, send_quietly
from api.auth.schemas import (
    AcceptedOut,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    LoginIn,
    RefreshIn,
    RegisterIn,
    ResetConfirmIn,
    ResetRequestIn,
    TokensOut,
    UserOut,
)
from api.deps import AppSettings, CurrentUser, Session, limit_auth_attempts, require_api_access
from api.errors import ERRORS
from billing import ledger
from core.errors import NotFound, Unauthorized
from core.models import User

router = APIRouter(tags=["accounts"], responses=ERRORS)
limited = [Depends(limit_auth_attempts)]


async def user_out(session: Session, user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        plan=user.plan,
        credits=await ledger.balance(session, user.id),
        created_at=user.created_at,
    )


async def _tokens(session: Session, settings: AppSettings, user: User) -> TokensOut:
    pair = await service.issue_tokens(session, settings, user.id)
    return TokensOut(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        user=await user_out(session, user),
    )


@router.post("/auth/register", status_code=201, dependencies=limited)
async def register(body: RegisterIn, session: Session, settings: AppSettings) -> TokensOut:
    """Create an account (with the starting credits) and log it in."""
    user = await service.register(
        session, settings, email=body.email, password=body.password, name=body.name
    )
    return await _tokens(session, settings, user)


@router.post("/auth/login", dependencies=limited)
async def login(body: LoginIn, session: Session, settings: AppSettings) -> TokensOut:
    user = await service.login(session, email=body.email, password=body.password)
    return await _tokens(session, settings, user)


@router.post("/auth/refresh")
async def refresh(body: RefreshIn, session: Session, settings: AppSettings) -> TokensOut:
    """A new access token and a new refresh token; the one sent stops working."""
    rotation = await service.rotate(session, settings, body.refresh_token)
    if rotation.tokens is None:
        # Commit first: a reused token's family stays revoked even though we refuse.
        await session.commit()
        raise Unauthorized(rotation.refusal or "log in again", code="invalid_refresh_token")
    pair = rotation.tokens
    user = await session.get(User, rotation.user_id)
    if user is None:
        raise NotFound("account not found")
    return TokensOut(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        user=await user_out(session, user),
    )


@router.post("/auth/logout", status_code=204)
async def logout(body: RefreshIn, session: Session) -> Response:
    """End this session everywhere its refresh tokens went. Always succeeds."""
    await service.logout(session, body.refresh_token)
    return Response(status_code=204)


@router.post("/auth/password-reset", status_code=202, dependencies=limited)
async def request_reset(
    body: ResetRequestIn,
    request: Request,
    session: Session,
    settings: AppSettings,
    background: BackgroundTasks,
) -> AcceptedOut:
    """Email a reset link if the address has an account. The answer is the same either way."""
    found = await service.request_password_reset(session, settings, body.email)
    if found is not None:
        user, token = found
        link = f"{settings.public_url.rstrip('/')}/reset-password?token={token}"
        mail = Mail(
            to=user.email,
            subject="Reset your Skyie Studio password",
            body=(
                f"Someone asked to reset the password of your Skyie Studio account.\n\n"
                f"Open this link to choose a new one (valid for "
                f"{settings.reset_token_ttl_s // 60} minutes):\n{link}\n\n"
                f"Reset token: {token}\n\nIf it was not you, ignore this message."
            ),
        )
        # Sent after the response (and so after the commit): a slow mail server delays no one.
        background.add_task(send_quietly, request.app.state.mailer, mail)
    return AcceptedOut(message="if that address has an account, a reset link is on its way")


@router.post("/auth/password-reset/confirm", status_code=204)
async def confirm_reset(body: ResetConfirmIn, session: Session) -> Response:
    """Set a new password with the emailed token; every existing session is logged out."""
    await service.reset_password(session, body.token, body.password)
    return Response(status_code=204)


@router.get("/me")
async def me(principal: CurrentUser, session: Session) -> UserOut:
    user = await session.get(User, principal.user_id)
    if user is None:
        raise NotFound("account not found")
    return await user_out(session, user)


def _key_out(key: object) -> ApiKeyOut:
    return ApiKeyOut.model_validate(key, from_attributes=True)


@router.post("/api-keys", status_code=201)
async def create_api_key(body: ApiKeyIn, principal: CurrentUser, session: Session) -> ApiKeyCreated:
    """A key for programs: send it as 'Authorization: Bearer sk_…'. Shown once. Plans with
    API access only (Business)."""
    await require_api_access(session, principal.user_id)
    row, key = await service.create_api_key(session, principal.user_id, body.name)
    return ApiKeyCreated(**_key_out(row).model_dump(), key=key)


@router.get("/api-keys")
async def list_api_keys(principal: CurrentUser, session: Session) -> list[ApiKeyOut]:
    return [_key_out(k) for k in await service.list_api_keys(session, principal.user_id)]


@router.delete("/api-keys/{key_id}", status_code=204)
async def revoke_api_key(key_id: str, principal: CurrentUser, session: Session) -> Response:
    await service.revoke_api_key(session, principal.user_id, key_id)
    return Response(status_code=204)
