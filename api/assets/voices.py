"""The voices a person can pick: the built-in ones and the samples they cloned."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import CurrentUser, Session
from api.errors import ERRORS
from core.models import Asset, AssetKind
from tools.account import BUILT_IN_VOICES

router = APIRouter(tags=["assets"], responses=ERRORS)


class VoiceOut(BaseModel):
    id: str = Field(description="Pass as `voice` in a form or production options.")
    name: str
    kind: Literal["builtin", "cloned"]


class VoicesOut(BaseModel):
    items: list[VoiceOut]


@router.get("/voices")
async def list_voices(session: Session, user: CurrentUser) -> VoicesOut:
    """Built-in voices first, then the person's own voice samples (newest first)."""
    own = await session.scalars(
        select(Asset)
        .where(Asset.user_id == user.user_id, Asset.kind == AssetKind.voice.value)
        .order_by(Asset.created_at.desc())
        .limit(200)
    )
    items = [
        VoiceOut(id=v, name=v.replace("-", " ").capitalize(), kind="builtin")
        for v in BUILT_IN_VOICES
    ]
    items += [VoiceOut(id=a.id, name=a.filename, kind="cloned") for a in own]
    return VoicesOut(items=items)
