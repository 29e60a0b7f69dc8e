"""What the billing routes take and give."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanOut(BaseModel):
    name: str
    title: str
    price_cents: int = Field(description="A month, in US cents; 0 for the free plan.")
    monthly_credits: int
    max_resolution: str = Field(description="720p, 1080p or 4k.")
    watermark: bool
    priority: bool = Field(description="Jobs go ahead of other plans' on the GPU.")
    api_access: bool = Field(description="API keys can be made and used.")


class PackOut(BaseModel):
    name: str
    credits: int
    price_cents: int


class SubscriptionOut(BaseModel):
    plan: str
    status: str = Field(description="Stripe's: active, trialing, past_due, canceled, …")
    current_period_end: datetime | None
    cancel_at_period_end: bool


class BillingOut(BaseModel):
    enabled: bool = Field(description="Whether this studio sells plans and credits.")
    plan: str
    credits: int
    subscription: SubscriptionOut | None
    plans: list[PlanOut]
    packs: list[PackOut]


class CheckoutIn(StrictModel):
    plan: str | None = Field(
        default=None, max_length=20, description="A paid plan to subscribe to."
    )
    pack: str | None = Field(default=None, max_length=20, description="A credit pack to buy.")
    success_url: str | None = Field(
        default=None, max_length=2000, description="Where to come back after paying."
    )
    cancel_url: str | None = Field(
        default=None, max_length=2000, description="Where to come back when not paying."
    )

    @model_validator(mode="after")
    def _one_product(self) -> CheckoutIn:
        if (self.plan is None) == (self.pack is None):
            raise ValueError("give either `plan` or `pack`")
        return self


class PortalIn(StrictModel):
    return_url: str | None = Field(
        default=None, max_length=2000, description="Where the portal's back link goes."
    )


class LinkOut(BaseModel):
    id: str
    url: str = Field(description="Send the person here (a Stripe page).")


class WebhookAck(BaseModel):
    received: bool = True
    outcome: str
