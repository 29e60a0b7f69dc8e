"""The one settings object (`SKYIE_` environment variables); the embedded defaults need none."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED = "embedded"
# What .env.example ships for secrets an operator must choose. Taken as a real key, every
# access token would be signed with a public string, so these are refused outright.
PLACEHOLDERS = frozenset({"change-me", "changeme", "change_me"})


def refuse_placeholder(name: str, value: str) -> str:
    if value.strip().lower() in PLACEHOLDERS:
        raise ValueError(
            f"SKYIE_{name.upper()} is still the placeholder {value!r} from .env.example: "
            "set a secret of your own (openssl rand -hex 32)"
        )
    return value


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
    shutdown_grace_s: float = Field(
        default=30.0,
        ge=0,
        description="Seconds a stopping worker lets its running steps finish before handing "
        "them back to the queue (keep it below the container's stop grace period).",
    )
    starting_credits: int = Field(
        default=200,
        ge=0,
        description="Credits a new account starts with, in place of its first month's plan "
        "credits (a welcome to try the studio; the monthly grant starts next month).",
    )
    hold_ttl_s: float = Field(
        default=24 * 3600,
        gt=0,
        description="A job's credit hold lapses after this long: the job is ended and its "
        "credits come back. Longer than any job can run.",
    )
    monthly_grants: bool = Field(
        default=True,
        description="Grant each account its plan's credits every month (the worker's "
        "scheduled task); paid plans get theirs when Stripe says the invoice is paid.",
    )
    admin_emails: str = Field(
        default="",
        description="Comma-separated emails of the accounts that see the admin summary.",
    )
    gpu_hour_usd: float = Field(
        default=1.99,
        ge=0,
        description="What an hour of the GPU pod costs, for the admin summary's cost against "
        "revenue (an on-demand 80 GB card on RunPod is about this).",
    )
    free_watermark: str = Field(
        default="Skyie Studio",
        max_length=60,
        description="Text marked on free-plan videos; empty turns the mark off.",
    )
    local_user_email: str = "local@skyie.studio"

    # Stripe. Without a secret key the studio sells nothing and billing endpoints say so.
    stripe_secret_key: str = ""
    stripe_webhook_secret: str = Field(
        default="", description="The webhook endpoint's signing secret (whsec_…)."
    )
    stripe_api_base: str = Field(
        default="", description="Stripe's API address; empty = Stripe's own (tests point it away)."
    )
    stripe_price_starter: str = Field(
        default="", description="Price id (price_…) of the Starter plan; empty = priced inline."
    )
    stripe_price_pro: str = Field(default="", description="Price id of the Pro plan.")
    stripe_price_business: str = Field(default="", description="Price id of the Business plan.")
    stripe_portal_configuration: str = Field(
        default="", description="Customer portal configuration (bpc_…); empty = the default."
    )
    # Telegram. Without a bot token there is no bot; with one, `skyie bot` polls, or the API
    # takes Telegram's webhook when `telegram_webhook_url` is set.
    telegram_bot_token: str = Field(default="", description="The bot's token from @BotFather.")
    telegram_api_url: str = Field(
        default="https://api.telegram.org/bot",
        description="Bot API base URL, the token appended (a local Bot API server works too).",
    )
    telegram_file_url: str = Field(
        default="", description="Where files download from; empty = derived from the API URL."
    )
    telegram_bot_username: str = Field(
        default="", max_length=64, description="The bot's @name, for links from the web app."
    )
    telegram_webhook_url: str = Field(
        default="",
        description="Public HTTPS address Telegram posts updates to (…/telegram/webhook); "
        "empty = no webhook (run `skyie bot` to poll).",
    )
    telegram_webhook_secret: str = Field(
        default="",
        max_length=256,
        description="Secret Telegram sends with each update; empty = derived from the signing key.",
    )
    telegram_upload_limit_mb: int = Field(
        default=50,
        ge=1,
        le=2000,
        description="Largest video the bot uploads (Bot API: 50; a local Bot API server: "
        "2000); bigger ones are sent as a download link.",
    )
    telegram_allowed_users: str = Field(
        default="",
        description="Comma-separated Telegram user ids or @usernames who may use the bot; "
        "empty = anyone.",
    )
    telegram_progress_interval_s: float = Field(
        default=3.0,
        ge=0.2,
        description="Least time between two edits of a job's progress message.",
    )
    anthropic_api_key: str = ""
    llm_model: str = "claude-sonnet-4-6"

    # The HTTP API.
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="Where people reach the studio (for links)."
    )
    secret_key: str = Field(
        default="", description="Signs access tokens; empty = generated once into `home`."
    )
    access_token_ttl_s: int = Field(default=15 * 60, ge=30)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, ge=60)
    reset_token_ttl_s: int = Field(default=3600, ge=60)
    smtp_url: str = Field(
        default="", description="smtp://user:pass@host:port (smtps:// for TLS); empty = console."
    )
    mail_from: str = "Skyie Studio <no-reply@skyie.studio>"
    rate_limit_per_minute: int = Field(
        default=600, ge=1, description="Requests a minute per account, all credentials together."
    )
    api_key_rate_limit_per_minute: int = Field(
        default=300, ge=1, description="Requests a minute per API key, within its account's."
    )
    auth_rate_limit_per_minute: int = Field(
        default=30, ge=1, description="Login, register and reset attempts a minute per address."
    )
    max_avatar_mb: int = Field(default=20, ge=1)
    max_voice_mb: int = Field(default=20, ge=1)
    max_video_mb: int = Field(default=500, ge=1)
    webhook_max_attempts: int = Field(default=8, ge=1, le=30)
    webhook_backoff_s: float = Field(
        default=10.0, gt=0, description="First retry delay; doubles each attempt."
    )
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_allow_private: bool = Field(
        default=False,
        description="Let webhooks reach loopback and private addresses (a studio you run for "
        "yourself); off, nobody can make the server call into its own network.",
    )

    @field_validator("secret_key", "gpu_api_key")
    @classmethod
    def _not_a_placeholder(cls, value: str, info: ValidationInfo) -> str:
        return refuse_placeholder(str(info.field_name), value)

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
    def admins(self) -> frozenset[str]:
        return frozenset(e.strip().lower() for e in self.admin_emails.split(",") if e.strip())

    @property
    def telegram_files(self) -> str:
        if self.telegram_file_url:
            return self.telegram_file_url
        base = self.telegram_api_url.rstrip("/")
        head, _, tail = base.rpartition("/")
        return f"{head}/file/{tail}"

    def telegram_secret(self) -> str:
        """The webhook's secret token: configured, or made from the signing key (Telegram
        allows letters, digits, _ and -)."""
        if self.telegram_webhook_secret:
            return self.telegram_webhook_secret
        digest = hmac.new(self.signing_key().encode(), b"telegram-webhook", hashlib.sha256)
        return digest.hexdigest()

    @property
    def is_embedded_broker(self) -> bool:
        return self.broker == EMBEDDED

    def signing_key(self) -> str:
        """The secret that signs access tokens: configured, or made once and kept in `home`."""
        if self.secret_key:
            return self.secret_key
        path = self.home / "secret_key"
        if not path.is_file():
            self.home.mkdir(parents=True, exist_ok=True)
            fresh = path.with_suffix(f".{os.getpid()}.tmp")
            fresh.write_text(secrets.token_urlsafe(48))
            fresh.chmod(0o600)
            # Two processes racing here: the first rename wins and both read its key.
            try:
                os.link(fresh, path)
            except FileExistsError:
                pass
            finally:
                fresh.unlink(missing_ok=True)
        return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
