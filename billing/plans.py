"""The plans and credit packs the studio sells, and what each plan allows.

From the pricing tiers: Free gets 50 credits a month, watermarked, 720p at most; Starter ($12)
500 credits, no mark, 1080p; Pro ($29) 2,000 credits, priority on the GPU, 1080p; Business
($79) 5,000 credits, API access, 4K. Packs add credits that never lapse.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import InvalidInput
from core.settings import Settings


@dataclass(frozen=True)
class PlanSpec:
    name: str
    title: str
    price_cents: int  # a month, in USD
    monthly_credits: int
    max_short_side: int
    watermark: bool
    priority: bool  # jobs go ahead of other plans' on the GPU
    api_access: bool  # API keys may be made and used


PLANS: dict[str, PlanSpec] = {
    p.name: p
    for p in (
        PlanSpec("free", "Free", 0, 50, 720, True, False, False),
        PlanSpec("starter", "Starter", 1200, 500, 1080, False, False, False),
        PlanSpec("pro", "Pro", 2900, 2000, 1080, False, True, False),
        PlanSpec("business", "Business", 7900, 5000, 2160, False, True, True),
    )
}
PAID_PLANS = tuple(name for name, spec in PLANS.items() if spec.price_cents)


@dataclass(frozen=True)
class CreditPack:
    name: str
    credits: int
    price_cents: int


PACKS: dict[str, CreditPack] = {
    p.name: p
    for p in (
        CreditPack("small", 200, 600),
        CreditPack("medium", 600, 1500),
        CreditPack("large", 2000, 4500),
    )
}


def plan_spec(plan: str) -> PlanSpec:
    """The spec of `plan`; an unknown plan gets the free plan's."""
    return PLANS.get(plan, PLANS["free"])


def paid_plan(name: str) -> PlanSpec:
    spec = PLANS.get(name)
    if spec is None or not spec.price_cents:
        raise InvalidInput(
            f"there is no paid plan '{name}'; choose one of {', '.join(PAID_PLANS)}",
            code="unknown_plan",
        )
    return spec


def credit_pack(name: str) -> CreditPack:
    pack = PACKS.get(name)
    if pack is None:
        raise InvalidInput(
            f"there is no credit pack '{name}'; choose one of {', '.join(PACKS)}",
            code="unknown_pack",
        )
    return pack


def price_id(plan: str, settings: Settings) -> str:
    """The Stripe price the operator made for `plan`, or '' to price it inline."""
    return {
        "starter": settings.stripe_price_starter,
        "pro": settings.stripe_price_pro,
        "business": settings.stripe_price_business,
    }.get(plan, "")


def plan_for_price(price: str, settings: Settings) -> str | None:
    """Which plan a configured Stripe price id sells, if any."""
    for name in PAID_PLANS:
        if price and price == price_id(name, settings):
            return name
    return None


@dataclass(frozen=True)
class PlanLimits:
    max_short_side: int
    watermark: str | None = None  # text drawn over the video, None for no mark


UNLIMITED = PlanLimits(max_short_side=2160)


def limits_for(plan: str, settings: Settings) -> PlanLimits:
    """The limits of `plan`; an unknown plan gets the free plan's."""
    spec = plan_spec(plan)
    mark = settings.free_watermark.strip() if spec.watermark else ""
    return PlanLimits(max_short_side=spec.max_short_side, watermark=mark or None)


def capped(width: int, height: int, max_short_side: int) -> tuple[int, int]:
    """`width` x `height` scaled down (never up) so the shorter side fits, both sides even."""
    scale = min(1.0, max_short_side / min(width, height))
    return round(width * scale / 2) * 2, round(height * scale / 2) * 2
