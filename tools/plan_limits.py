"""What a plan allows in production options, checked before a quote is shown or spent."""

from __future__ import annotations

from billing.plans import PLANS, plan_spec
from core.errors import Forbidden
from core.models import Plan, User
from core.production import ProductionOptions, Resolution
from tools.context import ToolContext


def check_plan(options: ProductionOptions, plan: str) -> None:
    """Refuse a resolution above what `plan` allows, naming the plan that has it.

    Refused, not quietly lowered: the person asked for that size, and should not pay for a
    smaller one. `auto` always passes; the render then makes the plan's best.
    """
    wanted = options.short_side
    current = plan_spec(plan)
    if wanted is None or wanted <= current.max_short_side:
        return
    allowing = [spec for spec in PLANS.values() if spec.max_short_side >= wanted]
    label = "4K" if options.resolution is Resolution.k4 else options.resolution.value
    above = " or above" if len(allowing) > 1 else ""
    raise Forbidden(
        f"{label} needs the {allowing[0].title} plan{above}; this account is on {current.title}",
        code="plan_required",
    )


async def check_caller_plan(ctx: ToolContext, options: ProductionOptions) -> None:
    """`check_plan` against the calling person's plan as stored now."""
    user = await ctx.session.get(User, ctx.user_id)
    check_plan(options, user.plan if user is not None else Plan.free.value)
