"""Response bodies of the usage, credit history and admin summary endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _FromReport(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class JobUsageOut(_FromReport):
    job_id: str
    workflow: str = Field(description="production, talking_head, export, ...")
    status: str = Field(description="queued, running, succeeded, failed or cancelled.")
    credits_held: int = Field(
        description="Credits reserved while the job is queued or running; 0 once it ends."
    )
    credits_charged: int = Field(
        description="Credits the job cost: its price once it succeeded; 0 for a failed or "
        "cancelled job (its hold was given back) and for free exports."
    )
    gpu_seconds: float = Field(description="GPU time its steps took (reused work excluded).")
    created_at: datetime
    finished_at: datetime | None = None
    deleted: bool = Field(
        description="Removed from the library; what it cost stays on record here."
    )


class LedgerEntryOut(_FromReport):
    id: str
    kind: str = Field(description="grant, purchase, hold, capture, release, refund or adjustment.")
    amount: int = Field(
        description="Change to the balance: a hold is negative, its release gives it back, "
        "its capture (0) makes it final."
    )
    balance_after: int = Field(description="The balance right after this entry.")
    job_id: str | None = Field(default=None, description="The job a hold or settlement is for.")
    settles: str | None = Field(
        default=None, description="For a capture or release: the id of the hold it settles."
    )
    payment_id: str | None = Field(
        default=None, description="For a purchase or refund: the payment it comes from."
    )
    note: str
    created_at: datetime


class RevenueOut(_FromReport):
    currency: str = Field(description="ISO currency code, lower case.")
    payments: int = Field(description="Payments received in the window.")
    gross_cents: int = Field(description="What they came to, in the currency's cents.")
    refunded_cents: int = Field(description="What has been refunded of them since.")
    net_cents: int = Field(description="gross_cents less refunded_cents.")


class AdminSummaryOut(_FromReport):
    since: datetime = Field(description="Start of the window (included).")
    until: datetime = Field(description="End of the window (excluded).")
    new_accounts: int = Field(description="Accounts created in the window.")
    generations: int = Field(description="Paid jobs that succeeded in the window.")
    generations_by_workflow: dict[str, int]
    failed: int = Field(description="Jobs that failed in the window.")
    cancelled: int = Field(description="Jobs cancelled in the window.")
    gpu_hours: float = Field(description="GPU time of the window's generations.")
    credits_charged: int = Field(description="Credits the window's generations cost.")
    revenue: list[RevenueOut] = Field(
        description="Payments by the time they were paid, one entry per currency."
    )
    gpu_hour_usd: float = Field(description="The GPU price per hour used for the cost.")
    gpu_cost_cents: int = Field(description="gpu_hours × gpu_hour_usd, in US cents.")
    gpu_cost_to_revenue: float | None = Field(
        description="gpu_cost_cents over the USD revenue net of refunds; null without any."
    )
    active_subscriptions: dict[str, int] = Field(
        description="Subscriptions active, trialing or past due now, by plan."
    )
    accounts_by_plan: dict[str, int] = Field(description="All accounts now, by plan.")


class AdjustmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=320, description="The account to adjust.")
    amount: int = Field(
        ge=-1_000_000, le=1_000_000, description="Credits to add (positive) or take (negative)."
    )
    note: str = Field(
        min_length=1, max_length=200, pattern=r"\S", description="Why: kept in the ledger."
    )

    @field_validator("amount")
    @classmethod
    def _not_zero(cls, amount: int) -> int:
        if amount == 0:
            raise ValueError("an adjustment changes the balance: give a non-zero amount")
        return amount


class AdjustmentOut(BaseModel):
    id: str
    user_id: str
    amount: int
    note: str
    balance: int = Field(description="The account's balance after the adjustment.")
