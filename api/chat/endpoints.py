"""chat routes."""

from __future__ import annotations

from fastapi import APIRouter

from api.errors import ERRORS

router = APIRouter(tags=["chat"], responses=ERRORS)
