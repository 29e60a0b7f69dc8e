"""The one settings object (`SKYIE_` environment variables); the embedded defaults need none."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED = "embedded"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKYIE_", env_file=".env", extra="ignore")

    home: Path = Field(
        default=Path(".skyie"), description="Where the embedded database and files live."
    )
    database_url: str = Field(default="", description="SQLAlchemy URL; empty = SQLite in `home`.")
    broker: str = Field(default=EMBEDDED, description="'embedded' (in-process) or a redis:// URL.")
    events: str = Field(
        default=EMBEDDED, description="'embedded' (in-process bus) or a redis:// URL."
    )
    redis_namespace: str = Field(
        default="skyie", description="Prefix of every Redis key and channel."
    )
    gpu_url: str = Field(
        default=EMBEDDED, description="'embedded' (in-process lite server) or the GPU server's URL."
    )
    gpu_api_key: str = "dev-gpu-key"
    gpu_engines: str = Field(
        default="lite",
        description="Engine set on the GPU server; part of every GPU step's content key.",
    )
    gpu_wait_max_s: float = Field(
        default=6 * 3600,
        gt=0,
        description="A job waiting this long for the GPU fails and releases its credits.",
    )
    worker_threads: int = Field(default=2, ge=1, le=64)
    step_lease_s: float = Field(
        default=600.0,
        gt=0,
        description="A running step whose worker is silent this long is re-run.",
    )
    starting_credits: int = Field(
        default=200, ge=0, description="Credits granted to a new local user."
    )
    local_user_email: str = "local@skyie.studio"
    anthropic_api_key: str = ""
    llm_model: str = "claude-sonnet-4-6"

    @property
    def storage_dir(self) -> Path:
        return self.home / "files"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Accept the plain URLs operators paste; the app always talks async.
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+asyncpg://" + url.split("://", 1)[1]
            if url.startswith("sqlite:///"):
                url = "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
            return url
        return f"sqlite+aiosqlite:///{(self.home / 'skyie.db').resolve()}"

    @property
    def is_embedded_broker(self) -> bool:
        return self.broker == EMBEDDED


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
