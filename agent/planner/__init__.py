"""The offline planner: a person's brief in, a script and production options out, no network."""

from __future__ import annotations

from agent.planner.brief import Brief, read_brief
from agent.planner.compose import plan_script
from agent.planner.revise import Revision, revise
from core.production import ProductionOptions
from core.script import Script

__all__ = ["Brief", "Revision", "plan", "plan_script", "read_brief", "revise"]


def plan(text: str) -> tuple[Brief, Script, ProductionOptions]:
    """Read `text` as a brief and write its script; raises InvalidInput for an unusable brief."""
    brief = read_brief(text)
    script, options = plan_script(brief)
    return brief, script, options
