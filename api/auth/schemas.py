"""Request and response bodies of the account endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.auth.service import MAX_PASSWORD


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterIn(Body):
    email: str = Field(max_length=320, examples=["ada@example.com"])
    password: str = Field(max_length=MAX_PASSWORD, description="At least 8 characters.")
    name: str = Field(default="", max_length=200)


class LoginIn(Body):
    email: str = Field(max_length=320)
    password: str = Field(max_length=MAX_PASSWORD)


class RefreshIn(Body):
    refresh_token: str = Field(max_length=200)


class ResetRequestIn(Body):
    email: str = Field(max_length=320)


class ResetConfirmIn(Body):
    token: str = Field(max_length=200, description="The token from the emailed link.")
    password: str = Field(max_length=MAX_PASSWORD)


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    plan: str
    credits: int = Field(description="Spendable credits (balance net of open holds).")
    created_at: datetime


class TokensOut(BaseModel):
    access_token: str = Field(description="Send as 'Authorization: Bearer …'; short-lived.")
    refresh_token: str = Field(description="Trade for a new pair at /v1/auth/refresh; once.")
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds the access token stays valid.")
    user: UserOut


class AcceptedOut(BaseModel):
    message: str


class ApiKeyIn(Body):
    name: str = Field(default="", max_length=100, description="A label to recognise it by.")


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it.")
    created_at: datetime
    last_used_at: datetime | None = None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself. Shown this once: store it now.")
