"""What every tool call receives from its caller: who is asking, from where, over which session."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from core.storage import Storage


@dataclass
class ToolContext:
    """Identity comes from the authenticated caller, never from a model's arguments."""

    session: AsyncSession
    user_id: str
    channel: str
    settings: Settings
    storage: Storage
    conversation_id: str | None = None
