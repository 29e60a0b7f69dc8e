"""Settings of the GPU inference server (environment variables prefixed SKYIE_GPU_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class GpuServerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKYIE_GPU_", extra="ignore")

    api_key: SecretStr = Field(default=SecretStr("dev-gpu-key"), description="Shared bearer key.")
    workdir: Path | None = Field(
        default=None, description="Where inputs and outputs live; a fresh temp dir when unset."
    )
    max_upload_mb: int = Field(default=512, ge=1, description="Largest accepted upload.")
    concurrency: int | None = Field(
        default=None, ge=1, le=64, description="Tasks run at once; default 2 for lite, else 1."
    )
    engines: str = Field(default="lite", description="Comma-separated engine sets, first wins.")
    task_ttl_s: float = Field(default=3600, gt=0, description="How long finished tasks are kept.")
    file_ttl_s: float = Field(
        default=6 * 3600, gt=0, description="How long files nobody downloads are kept."
    )

    def effective_concurrency(self) -> int:
        if self.concurrency is not None:
            return self.concurrency
        # CPU engines are light enough to overlap; a GPU runs one generation at a time.
        return 2 if self.engines.strip() == "lite" else 1
