"""The local user of embedded mode: created on first use with the starting credits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billing import grants
from core.models import Plan, User
from core.settings import Settings


async def ensure_local_user(session: AsyncSession, settings: Settings) -> User:
    user = await session.scalar(select(User).where(User.email == settings.local_user_email))
    if user is None:
        # The person running their own studio is its operator: no free-plan mark or cap.
        user = User(email=settings.local_user_email, name="Local creator", plan=Plan.business.value)
        session.add(user)
        await session.flush()
        await grants.open_account(session, user, settings)
    return user
