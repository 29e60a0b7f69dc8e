"""Request and response bodies of the webhook endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=2000,
        description="Where to POST events: an http:// or https:// URL.",
        examples=["https://example.com/hooks/skyie"],
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        try:
            parts = urlsplit(value)
            valid = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
            valid = valid and parts.port != 0  # .port raises on a port that is not a number
        except ValueError:
            valid = False
        if not valid:
            raise ValueError(
                f"{value!r} is not an http:// or https:// URL with a host, "
                "e.g. https://example.com/hooks"
            )
        return value


class WebhookOut(BaseModel):
    id: str
    url: str
    secret_hint: str = Field(description="The start of the signing secret, to tell keys apart.")
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="Verifies the Skyie-Signature header of each delivery. Shown only now."
    )


class DeliveryOut(BaseModel):
    id: str = Field(description="Sent as the Skyie-Delivery header; the same on every attempt.")
    webhook_id: str
    job_id: str
    event: str = Field(description="job.succeeded, job.failed or job.cancelled.")
    status: str = Field(description="pending, delivered or failed (out of attempts).")
    attempts: int
    last_status: int | None = Field(default=None, description="HTTP status of the last try.")
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime
    delivered_at: datetime | None = None
    payload: dict[str, Any]
