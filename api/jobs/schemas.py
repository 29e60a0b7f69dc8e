"""Request and response bodies of the job endpoints."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.models import JobStatus
from jobs.webhooks import JobLinks
from tools.exports import ExportFormat


class JobOut(BaseModel):
    id: str
    status: JobStatus
    workflow: str = Field(description="production, talking_head, broll or export.")
    phase: str = Field(description="What runs now, for a person: 'Queued', 'Voice', 'Render'...")
    fraction: float = Field(ge=0, le=1, description="Share of the work done.")
    eta_s: float | None = Field(default=None, description="Seconds left, once it can be told.")
    queue_position: int = Field(description="Jobs queued ahead of this one; 0 once it runs.")
    phases: dict[str, float] = Field(description="Per-phase fraction done.")
    credits: int = Field(description="Held while it runs, charged on success, else released.")
    error: str | None = None
    retry_of: str | None = Field(default=None, description="The job this one retries.")
    source_job_id: str | None = Field(default=None, description="What an export job exports.")
    script: str = Field(description="The script, in text form.")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Its production options (for an export: its formats)."
    )
    duration_s: float | None = Field(
        default=None, description="Length of the finished video, by probe; None until then."
    )
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    links: JobLinks


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    formats: list[ExportFormat] = Field(
        min_length=1,
        max_length=len(ExportFormat),
        description="tiktok, reels, shorts (1080x1920), youtube (1920x1080), instagram "
        "(1080x1350), square (1080x1080), x (1280x720).",
        examples=[["tiktok", "youtube"]],
    )


class CaptionFormat(StrEnum):
    srt = "srt"
    vtt = "vtt"
