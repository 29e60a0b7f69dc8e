"""What every tool call receives from its caller: who is asking, from where, over which session."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from core.production import ProductionOptions
from core.script import Script
from core.settings import Settings
from core.storage import Storage


@dataclass(frozen=True)
class Draft:
    script: Script
    options: ProductionOptions
    summary: str = ""
    changed: tuple[int, ...] = ()


class ScriptWriter(Protocol):
    """Writes and edits scripts. Supplied by the caller (the agent's planner), so the tools
    need not know how scripts are written."""

    def draft(self, brief: str) -> Draft: ...

    def revise(
        self,
        script: Script,
        options: ProductionOptions,
        instruction: str,
        voices: Mapping[str, str],
    ) -> Draft: ...


@dataclass
class ToolContext:
    """Identity comes from the authenticated caller, never from a model's arguments."""

    session: AsyncSession
    user_id: str
    channel: str
    settings: Settings
    storage: Storage
    conversation_id: str | None = None
    # The conversation's current turn: a quote can be approved only in a later turn.
    turn: int | None = None
    writer: ScriptWriter | None = None
