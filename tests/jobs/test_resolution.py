"""Resolution: the size asked for, capped by the plan, reaches the render; the GPU steps keep
their keys whatever the size, so a 4K render reuses what a 1080p one already made."""

from __future__ import annotations

from billing.plans import UNLIMITED, PlanLimits, limits_for
from core.production import ProductionOptions, Resolution, VideoFormat
from core.script import parse_script
from core.settings import Settings
from jobs.plan import StepSpec, plan_job

SCRIPT = parse_script("[TALKING] Hello there.\n[BROLL: a quiet harbour at dawn | 3s]")


def planned(options: ProductionOptions, limits: PlanLimits) -> dict[str, StepSpec]:
    steps = plan_job(SCRIPT, options, portrait_key="p" * 64, limits=limits)
    return {s.name: s for s in steps}


def canvas(options: ProductionOptions, plan: str) -> tuple[int, int]:
    render = planned(options, limits_for(plan, Settings()))["render"].params
    return render["width"], render["height"]


def test_auto_is_the_plans_best_up_to_1080p() -> None:
    auto = ProductionOptions()
    assert auto.size == (1080, 1920) and auto.short_side is None
    assert canvas(auto, "free") == (720, 1280)
    assert canvas(auto, "starter") == (1080, 1920)
    assert canvas(auto, "business") == (1080, 1920)
    youtube = ProductionOptions(format=VideoFormat.youtube)
    assert canvas(youtube, "free") == (1280, 720)


def test_an_explicit_resolution_sets_the_short_side_within_the_plan() -> None:
    k4 = ProductionOptions(resolution=Resolution.k4)
    assert k4.size == (1080, 1920) and k4.short_side == 2160
    assert canvas(k4, "business") == (2160, 3840)
    square = ProductionOptions(format=VideoFormat.square, resolution=Resolution.k4)
    assert canvas(square, "business") == (2160, 2160)
    assert canvas(ProductionOptions(resolution=Resolution.p720), "business") == (720, 1280)
    # Past the tools' check (or a plan changed since), the render still keeps to the plan.
    assert canvas(k4, "pro") == (1080, 1920)
    assert canvas(k4, "free") == (720, 1280)


def test_the_resolution_changes_the_render_only() -> None:
    auto = planned(ProductionOptions(), UNLIMITED)
    k4 = planned(ProductionOptions(resolution=Resolution.k4), UNLIMITED)
    p1080 = planned(ProductionOptions(resolution=Resolution.p1080), UNLIMITED)
    # Generated pictures come at one size and are scaled to the canvas: reused across sizes.
    for name, step in auto.items():
        if step.queue == "gpu":
            assert k4[name].content_key == step.content_key, name
    assert k4["render"].content_key != auto["render"].content_key
    # Asking for 1080p on a 1080 format is the same video as auto.
    assert p1080["render"].content_key == auto["render"].content_key
