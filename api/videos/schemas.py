"""What the classic forms take and answer, beside the tools' own input and output models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from core.production import ProductionOptions
from tools.drafting import MAX_SCRIPT_CHARS, ScriptIssueOut

SCRIPT_DESCRIPTION = (
    "Script in text form, one segment a line: '[TALKING] words' or "
    "'[BROLL: what the clip shows | 5s] optional narration'."
)


class ScriptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    script: str = Field(max_length=MAX_SCRIPT_CHARS, description=SCRIPT_DESCRIPTION)


class QuoteIn(ScriptIn):
    options: ProductionOptions | None = Field(
        default=None, description="How to produce it; defaults if omitted."
    )


class ProductionIn(QuoteIn):
    quote_id: str | None = Field(
        default=None,
        max_length=40,
        description="Omit to get a quote; pass it, with the same script, to produce.",
    )


class SegmentOut(BaseModel):
    index: int = Field(description="1-based position in the script.")
    kind: str = Field(description="talking or broll.")
    text: str = Field(description="What is spoken; may be empty for b-roll.")
    prompt: str | None = Field(default=None, description="What a b-roll clip shows.")
    duration_s: float | None = Field(default=None, description="A b-roll clip's set length.")
    planned_seconds: float


class ValidationOut(BaseModel):
    valid: bool
    errors: list[ScriptIssueOut] = Field(
        default_factory=list, description="Every problem, by line and column (1-based)."
    )
    segments: list[SegmentOut] = Field(default_factory=list, description="Set when valid.")
    planned_seconds: float | None = Field(default=None, description="Set when valid.")
