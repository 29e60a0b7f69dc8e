"""The offline planner as the tools' script writer: drafts from briefs, revises by instruction."""

from __future__ import annotations

from collections.abc import Mapping

from agent.planner import plan, revise
from core.production import ProductionOptions
from core.script import Script
from tools.context import Draft


class PlannerWriter:
    """Deterministic, offline; used with every provider so drafts are consistent."""

    def draft(self, brief: str) -> Draft:
        read, script, options = plan(brief)
        summary = "; ".join(read.notes)
        return Draft(script, options, summary=summary)

    def revise(
        self,
        script: Script,
        options: ProductionOptions,
        instruction: str,
        voices: Mapping[str, str],
    ) -> Draft:
        result = revise(script, options, instruction, voices=voices)
        return Draft(result.script, result.options, summary=result.summary, changed=result.changed)
