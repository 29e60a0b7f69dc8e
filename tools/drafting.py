"""Drafting tools: write a script from a brief, revise it, validate it, enhance prompts."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from core.errors import InvalidInput
from core.models import Asset, AssetKind, Conversation
from core.production import ProductionOptions
from core.script import MAX_PROMPT_CHARS, MAX_SEGMENTS, Script, ScriptError, parse_script
from tools.context import Draft, ToolContext
from tools.registry import ToolInput, tool

MAX_SCRIPT_CHARS = MAX_SEGMENTS * 1300


class DraftOutput(BaseModel):
    script: str = Field(description="The script in text form.")
    planned_seconds: float
    segments: int
    options: ProductionOptions
    summary: str = ""
    changed_segments: list[int] = Field(default_factory=list, description="1-based, for revisions.")


def draft_output(draft: Draft) -> DraftOutput:
    return DraftOutput(
        script=draft.script.to_text(),
        planned_seconds=round(draft.script.planned_seconds, 1),
        segments=len(draft.script.segments),
        options=draft.options,
        summary=draft.summary,
        changed_segments=[i + 1 for i in draft.changed],
    )


async def _conversation(ctx: ToolContext) -> Conversation | None:
    if ctx.conversation_id is None:
        return None
    conversation = await ctx.session.get(Conversation, ctx.conversation_id)
    if conversation is None or conversation.user_id != ctx.user_id:
        raise InvalidInput("this conversation does not exist")
    return conversation


async def remember(ctx: ToolContext, draft: Draft) -> None:
    """Keep the draft as the conversation's working script, so later turns can refer to it."""
    conversation = await _conversation(ctx)
    if conversation is not None:
        conversation.state = {
            **conversation.state,
            "script": draft.script.to_text(),
            "options": draft.options.model_dump(mode="json"),
        }


async def current_draft(ctx: ToolContext) -> Draft | None:
    conversation = await _conversation(ctx)
    if conversation is None or "script" not in conversation.state:
        return None
    state: dict[str, Any] = conversation.state
    return Draft(parse_script(state["script"]), ProductionOptions.model_validate(state["options"]))


def _writer(ctx: ToolContext) -> Any:
    if ctx.writer is None:
        raise InvalidInput("script writing is not available on this channel")
    return ctx.writer


class DraftScriptInput(ToolInput):
    brief: str = Field(
        min_length=1,
        max_length=4000,
        description="The person's description of the video, in their own words.",
    )


@tool("draft_script", "Write a first script and production options from the person's brief.")
async def draft_script(ctx: ToolContext, args: DraftScriptInput) -> DraftOutput:
    draft = _writer(ctx).draft(args.brief)
    await remember(ctx, draft)
    return draft_output(draft)


class ReviseScriptInput(ToolInput):
    instruction: str = Field(
        min_length=1,
        max_length=2000,
        description=(
            "What to change, in plain words: shorten, lengthen, reorder, change one scene's "
            "visual or words, change voice, drop music, change format or language."
        ),
    )
    script: str | None = Field(
        default=None,
        max_length=MAX_SCRIPT_CHARS,
        description="Script to revise in text form; omit to revise the conversation's draft.",
    )


async def _voices(ctx: ToolContext) -> dict[str, str]:
    rows = await ctx.session.scalars(
        select(Asset).where(Asset.user_id == ctx.user_id, Asset.kind == AssetKind.voice.value)
    )
    return {a.filename: a.id for a in rows}


@tool(
    "revise_script",
    "Change the current script as the person asks; unchanged scenes stay identical.",
)
async def revise_script(ctx: ToolContext, args: ReviseScriptInput) -> DraftOutput:
    base = await current_draft(ctx)
    if args.script is not None:
        base = Draft(parse_script(args.script), base.options if base else ProductionOptions())
    if base is None:
        raise InvalidInput("there is no script yet: draft one from a brief first")
    draft = _writer(ctx).revise(base.script, base.options, args.instruction, await _voices(ctx))
    await remember(ctx, draft)
    return draft_output(draft)


class ValidateScriptInput(ToolInput):
    script: str = Field(max_length=MAX_SCRIPT_CHARS, description="Script text to check.")


class ScriptIssueOut(BaseModel):
    line: int
    column: int
    message: str


class ValidationOutput(BaseModel):
    valid: bool
    planned_seconds: float | None = None
    segments: int = 0
    issues: list[ScriptIssueOut] = Field(default_factory=list)


@tool("validate_script", "Check a script's markers and limits; lists every problem by line.")
async def validate_script(ctx: ToolContext, args: ValidateScriptInput) -> ValidationOutput:
    try:
        script: Script = parse_script(args.script)
    except ScriptError as exc:
        return ValidationOutput(valid=False, issues=[ScriptIssueOut(**vars(i)) for i in exc.issues])
    return ValidationOutput(
        valid=True, planned_seconds=round(script.planned_seconds, 1), segments=len(script.segments)
    )


class Style(StrEnum):
    cinematic = "Cinematic"
    anime = "Anime"
    documentary = "Documentary"
    social_media = "Social Media"


STYLE_TERMS: dict[Style, tuple[str, ...]] = {
    Style.cinematic: (
        "cinematic lighting",
        "shallow depth of field",
        "anamorphic lens",
        "film grain",
    ),
    Style.anime: ("anime style", "cel shading", "vibrant colours", "clean line art"),
    Style.documentary: (
        "documentary style",
        "natural light",
        "handheld camera",
        "realistic detail",
    ),
    Style.social_media: ("bold colours", "high contrast", "centred subject", "punchy framing"),
}


class EnhancePromptInput(ToolInput):
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS, description="A visual prompt.")
    style: Style = Field(default=Style.cinematic, description="Style preset to apply.")


class EnhancedPrompt(BaseModel):
    prompt: str
    style: Style


@tool("enhance_prompt", "Rewrite a visual prompt with a style preset's look (no cost).")
async def enhance_prompt(ctx: ToolContext, args: EnhancePromptInput) -> EnhancedPrompt:
    base = " ".join(args.prompt.replace("[", "(").replace("]", ")").replace("|", "/").split())
    present = base.lower()
    extra = [term for term in STYLE_TERMS[args.style] if term not in present]
    text = ", ".join([base, *extra])
    while len(text) > MAX_PROMPT_CHARS and extra:
        extra.pop()
        text = ", ".join([base, *extra])
    return EnhancedPrompt(prompt=text[:MAX_PROMPT_CHARS], style=args.style)
