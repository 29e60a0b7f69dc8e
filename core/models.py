"""ORM models, all in one place so relationships never import in circles."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every database: SQLite would hand back naive datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use core.models.utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: UTCDateTime(),
    }


class Plan(StrEnum):
    free = "free"
    starter = "starter"
    pro = "pro"
    business = "business"


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("usr"))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    plan: Mapped[str] = mapped_column(String(20), default=Plan.free.value)
    # Bumped by every spend: the UPDATE takes the row lock (PostgreSQL) or the write lock
    # (SQLite) before the balance is read, so concurrent spends serialise per user.
    ledger_seq: Mapped[int] = mapped_column(Integer, default=0)
    # argon2id; None for an account that cannot log in with a password (the embedded local user).
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # The person's customer in Stripe, made at their first checkout; events find them by it.
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    # Access tokens issued before this are refused (set when the password is reset).
    tokens_valid_after: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RefreshToken(Base):
    """One link of a rotating refresh-token chain. Only the hash is kept. Using a token marks it
    used and issues the next one in the same family; presenting a used token again means it
    leaked, and the whole family is revoked."""

    __tablename__ = "refresh_tokens"
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("rft"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[str] = mapped_column(String(40), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class PasswordReset(Base):
    __tablename__ = "password_resets"
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("pwr"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class ApiKey(Base):
    """A key for programs. Shown once at creation; only its SHA-256 is stored (the key is
    random and long, so a slow hash buys nothing and would slow every request)."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("key"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class Webhook(Base):
    """An endpoint of the person's that is told when their jobs finish."""

    __tablename__ = "webhooks"
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("whk"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Signs each delivery (HMAC-SHA256); shown once at creation.
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event for one endpoint, retried with backoff until delivered or out of attempts.
    Unique per (webhook, job, event): a job that finishes twice in a race notifies once."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("webhook_id", "job_id", "event"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("whd"))
    webhook_id: Mapped[str] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    job_id: Mapped[str] = mapped_column(String(40), index=True)
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()


class AssetKind(StrEnum):
    avatar = "avatar"
    voice = "voice"
    video = "video"


class Asset(Base):
    __tablename__ = "assets"
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ast"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Conversation(Base):
    __tablename__ = "conversations"
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("cnv"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20), default="cli")
    title: Mapped[str] = mapped_column(String(200), default="")
    # Turns so far; a quote shown in turn N can be approved from turn N+1 on.
    turns: Mapped[int] = mapped_column(Integer, default=0)
    # The working draft: {"script": text, "options": {...}, "quote_id": ...}.
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("msg"))
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))
    content: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("uq_jobs_retry_of", "retry_of", unique=True),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("job"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    workflow: Mapped[str] = mapped_column(String(30), default="production")
    # The failed or cancelled job this one retries (its finished steps are reused). Unique:
    # a job is retried once; the retry, if it fails in turn, is what gets retried next.
    retry_of: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.queued.value, index=True)
    phase: Mapped[str] = mapped_column(String(40), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    script_text: Mapped[str] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    credits: Mapped[int] = mapped_column(Integer)
    # The owner's plan has priority (Pro, Business): the steps go to the priority queues.
    # Set at creation and refreshed at each claim, so an upgrade speeds up the rest of a job.
    priority: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    hold_id: Mapped[str | None] = mapped_column(String(40))
    output: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    # Removed from the person's library. The row stays: credits and usage refer to it.
    deleted_at: Mapped[datetime | None] = mapped_column()


class StepStatus(StrEnum):
    pending = "pending"  # waits for its dependencies
    queued = "queued"  # sent to the broker
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


class JobStep(Base):
    __tablename__ = "job_steps"
    __table_args__ = (
        UniqueConstraint("job_id", "name"),
        Index("ix_job_steps_status_heartbeat", "status", "heartbeat_at"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("stp"))
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(30))
    queue: Mapped[str] = mapped_column(String(20))
    content_key: Mapped[str] = mapped_column(String(64), index=True)
    deps: Mapped[list[Any]] = mapped_column(default=list)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default=StepStatus.pending.value)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Times the step's work really ran (not skipped because its artifact already existed).
    runs: Mapped[int] = mapped_column(Integer, default=0)
    reused: Mapped[bool] = mapped_column(default=False)
    worker_id: Mapped[str | None] = mapped_column(String(80))
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)


class EntryKind(StrEnum):
    grant = "grant"
    purchase = "purchase"
    hold = "hold"
    capture = "capture"
    release = "release"
    refund = "refund"
    adjustment = "adjustment"


class CreditEntry(Base):
    """Append-only ledger; the balance is the sum of `amount`. A hold is negative; its release
    gives it back; its capture (amount 0) makes it final. `settles` is unique, so a hold is
    captured or released exactly once, enforced by the database. `ref` is unique too: an
    entry that must happen once per outside cause (a month's plan credits, a payment, a
    refund) names that cause, so a second attempt is refused by the database."""

    __tablename__ = "credit_entries"
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("crd"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[str | None] = mapped_column(String(40), index=True)
    settles: Mapped[str | None] = mapped_column(ForeignKey("credit_entries.id"), unique=True)
    ref: Mapped[str | None] = mapped_column(String(160), unique=True, index=True)
    payment_id: Mapped[str | None] = mapped_column(String(40), index=True)
    # Holds only: past this an unsettled hold is released (its job has run far too long).
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Payment(Base):
    """Money received through Stripe: a credit pack's checkout, or a subscription's invoice.
    Keyed by the Stripe object that was paid (`pi_…` or `in_…`), so every event about one
    payment lands on one row whatever order they come in. A refund event may arrive before
    its purchase: the row is then made with what the refund knows (`credits` unknown) and
    completed when the purchase arrives; the credits refunded so far are kept on the row."""

    __tablename__ = "payments"
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("pay"))
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    stripe_ref: Mapped[str] = mapped_column(String(80), unique=True)
    payment_intent: Mapped[str | None] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="")  # pack | subscription
    product: Mapped[str] = mapped_column(String(40), default="")  # pack or plan name
    credits: Mapped[int | None] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(8), default="usd")
    refunded_cents: Mapped[int] = mapped_column(Integer, default=0)
    refunded_credits: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column()


class Subscription(Base):
    """A Stripe subscription as last read from Stripe. The person's plan follows their
    active subscription; an ended one leaves them on the free plan."""

    __tablename__ = "subscriptions"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # sub_…
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    plan: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30))
    current_period_end: Mapped[datetime | None] = mapped_column()
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StripeEvent(Base):
    """Each webhook event handled, by Stripe's event id: a redelivery is answered and skipped."""

    __tablename__ = "stripe_events"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # evt_…
    type: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TelegramAccount(Base):
    """A Telegram person and the studio account they act as. Made by their first /start, or
    pointed at an existing account by a link from the web app. `state` holds what the chat
    waits for next (an edit instruction, a consent) and the last script message."""

    __tablename__ = "telegram_accounts"
    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    username: Mapped[str] = mapped_column(String(64), default="")
    first_name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(16), default="")
    # The conversation free text continues; /new starts another.
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # An operator's block: the bot answers nothing but that the account is blocked.
    blocked_at: Mapped[datetime | None] = mapped_column()
    # The person blocked the bot: nothing more is sent until they write again.
    bot_blocked_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TelegramLinkToken(Base):
    """A one-time deep link (t.me/<bot>?start=<token>) that ties a Telegram person to the web
    account that asked for it. Only the hash is kept."""

    __tablename__ = "telegram_link_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class TelegramJob(Base):
    """A job started from a Telegram chat: where its progress message is, and whether its
    file went out (claimed once, so a restarted or second bot process never sends it twice)."""

    __tablename__ = "telegram_jobs"
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    progress_message_id: Mapped[int | None] = mapped_column(Integer)
    delivered_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Usage(Base):
    __tablename__ = "usage"
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("use"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    credits_used: Mapped[int] = mapped_column(Integer)
    gpu_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Quote(Base):
    """A price shown to a person. Spending needs one: unexpired, unused, for this exact script."""

    __tablename__ = "quotes"
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("quo"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    turn: Mapped[int | None] = mapped_column(Integer)
    workflow: Mapped[str] = mapped_column(String(30), default="production")
    script_text: Mapped[str] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    credits: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    job_id: Mapped[str | None] = mapped_column(String(40), unique=True)
