"""A conversation's stored Messages API blocks, rendered for people: who said what, and what
each tool did in one line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from api.chat.schemas import DraftOut, HistoryItem
from core.models import Message

MAX_SUMMARY_CHARS = 300


def render(messages: Sequence[Message]) -> list[HistoryItem]:
    items: list[HistoryItem] = []
    tool_names: dict[str, str] = {}
    for message in messages:
        said: list[str] = []
        for block in message.content:
            kind = block.get("type")
            if kind == "text" and block.get("text", "").strip():
                said.append(block["text"].strip())
            elif kind == "tool_use":
                # Not shown: the result that answers it says what happened.
                tool_names[str(block.get("id"))] = str(block.get("name", "tool"))
            elif kind == "tool_result":
                name = tool_names.get(str(block.get("tool_use_id")), "tool")
                failed = bool(block.get("is_error"))
                items.append(
                    HistoryItem(
                        role="tool",
                        tool=name,
                        ok=not failed,
                        text=summarise(name, _text(block.get("content")), failed),
                        created_at=message.created_at,
                    )
                )
        if said:
            role: Literal["user", "assistant"] = (
                "assistant" if message.role == "assistant" else "user"
            )
            items.append(
                HistoryItem(role=role, text="\n\n".join(said), created_at=message.created_at)
            )
    return items


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
    return str(content or "")


def summarise(name: str, content: str, failed: bool) -> str:
    """One line for a tool's result; an error is shown as the tool reported it."""
    if failed:
        return _clip(content or f"{name} failed")
    try:
        data = json.loads(content)
    except ValueError:
        return _clip(content) or f"{name} done"
    if not isinstance(data, dict):
        return f"{name} done"
    for nested in ("job", "quote"):
        if isinstance(data.get(nested), dict):
            data = data[nested]
            break
    return _clip(_describe(name, data))


def _describe(name: str, data: dict[str, Any]) -> str:
    if "script" in data and "planned_seconds" in data:
        verb = "Revised" if name == "revise_script" else "Drafted"
        return (
            f"{verb} a script: {data.get('segments', '?')} segments, "
            f"about {data['planned_seconds']:.0f} s."
        )
    if "quote_id" in data and "credits" in data:
        return (
            f"Quoted {data['credits']} credits for about {data.get('planned_seconds', 0):.0f} s "
            f"(quote {data['quote_id']})."
        )
    if "job_id" in data and "phase" in data:
        return f"Job {data['job_id']}: {data['phase']} ({data.get('progress', 0):.0%})."
    if "job_id" in data and "credits" in data:
        return f"Started job {data['job_id']}; {data['credits']} credits held until it is ready."
    if "job_id" in data and "formats" in data:
        return f"Export job {data['job_id']} started: {', '.join(data['formats'])}."
    if "credits" in data and "plan" in data:
        return f"Balance: {data['credits']} credits on the {data['plan']} plan."
    if "valid" in data:
        issues = len(data.get("issues", []))
        return "The script is valid." if data["valid"] else f"The script has {issues} problem(s)."
    return f"{name} done."


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SUMMARY_CHARS else text[: MAX_SUMMARY_CHARS - 1] + "…"


def draft_of(state: dict[str, Any]) -> DraftOut | None:
    if not isinstance(state.get("script"), str):
        return None
    options = state.get("options")
    return DraftOut(
        script=state["script"],
        options=options if isinstance(options, dict) else {},
        quote_id=state.get("quote_id"),
    )
