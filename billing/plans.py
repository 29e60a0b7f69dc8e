"""What each plan allows in the picture: the largest resolution and whether it is marked.

From the pricing tiers: Free is watermarked and 720p at most; Starter and Pro are 1080p;
Business goes to 4K.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.settings import Settings

_MAX_SHORT_SIDE = {"free": 720, "starter": 1080, "pro": 1080, "business": 2160}


@dataclass(frozen=True)
class PlanLimits:
    max_short_side: int
    watermark: str | None = None  # text drawn over the video, None for no mark


UNLIMITED = PlanLimits(max_short_side=2160)


def limits_for(plan: str, settings: Settings) -> PlanLimits:
    """The limits of `plan`; an unknown plan gets the free plan's."""
    if plan not in _MAX_SHORT_SIDE:
        plan = "free"
    mark = settings.free_watermark.strip() if plan == "free" else ""
    return PlanLimits(max_short_side=_MAX_SHORT_SIDE[plan], watermark=mark or None)


def capped(width: int, height: int, max_short_side: int) -> tuple[int, int]:
    """`width` x `height` scaled down (never up) so the shorter side fits, both sides even."""
    scale = min(1.0, max_short_side / min(width, height))
    return round(width * scale / 2) * 2, round(height * scale / 2) * 2
