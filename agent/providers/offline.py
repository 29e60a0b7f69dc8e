"""The offline provider: deterministic tool calls from the conversation, no network, no key.

It plays the model's part with simple rules: a brief is drafted and quoted, a change is revised
and quoted again, an approval produces the last quote, questions about jobs and credits go to
their tools. It speaks the same Messages API shapes as the real model, so the loop and the tools
cannot tell them apart.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from agent.providers.base import Block, Completion, MessageParam, TextDelta, ToolSpec
from tools.production import STALE_QUOTE

APPROVE = re.compile(
    r"^\s*(?:ok(?:ay)?|yes|yep|yeah|sure|go|do it|approve[d]?|looks? good|perfect|great|"
    r"generate|produce|render|let'?s go|go ahead|ship it|send it)\b",
    re.IGNORECASE,
)
STATUS = re.compile(r"\b(status|progress|how(?:'s| is) (?:it|my video)|done yet|eta)\b", re.I)
CANCEL = re.compile(r"^\s*(?:please\s+)?(?:cancel|stop|abort)\b", re.IGNORECASE)
BALANCE = re.compile(r"\b(balance|how many credits|credits left|my credits)\b", re.IGNORECASE)
# "Yes, but shorter" is a change, not an approval.
CHANGE_HINT = re.compile(
    r"\b(but|shorter|longer|change|swap|move|remove|drop|add|instead|scene|music|voice|"
    r"caption|square|youtube|vertical|landscape|seconds?|minutes?)\b",
    re.IGNORECASE,
)
NEW_BRIEF = re.compile(r"\b(new video|another video|start over|video about|a video on)\b", re.I)


def _text_of(message: MessageParam) -> str:
    return " ".join(b.get("text", "") for b in message["content"] if b.get("type") == "text")


def _tool_calls(history: list[MessageParam]) -> list[tuple[Block, Block | None]]:
    """Every tool_use with its tool_result (None if unanswered), oldest first."""
    results: dict[str, Block] = {}
    uses: list[Block] = []
    for message in history:
        for block in message["content"]:
            if block.get("type") == "tool_use":
                uses.append(block)
            elif block.get("type") == "tool_result":
                results[block["tool_use_id"]] = block
    return [(use, results.get(use["id"])) for use in uses]


def _ok_output(result: Block | None) -> dict[str, Any] | None:
    if result is None or result.get("is_error"):
        return None
    content = result.get("content")
    if isinstance(content, list):
        content = " ".join(c.get("text", "") for c in content if isinstance(c, dict))
    try:
        data = json.loads(content or "")
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _latest(history: list[MessageParam], *names: str) -> dict[str, Any] | None:
    for use, result in reversed(_tool_calls(history)):
        if use["name"] in names:
            out = _ok_output(result)
            if out is not None:
                return out
    return None


class OfflineProvider:
    name = "offline"

    async def stream(
        self,
        *,
        system: str,
        messages: list[MessageParam],
        tools: list[ToolSpec],
        max_tokens: int,
    ) -> AsyncIterator[TextDelta | Completion]:
        content = self.decide(messages)
        for block in content:
            if block["type"] == "text":
                for piece in re.findall(r"\S+\s*", block["text"]):
                    yield TextDelta(piece)
        stop = "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn"
        words = sum(len(b.get("text", "").split()) for b in content)
        yield Completion(content=content, stop_reason=stop, output_tokens=words + 10)

    def decide(self, history: list[MessageParam]) -> list[Block]:
        last = history[-1]
        if any(b.get("type") == "tool_result" for b in last["content"]):
            return self._after_tools(history)
        return self._answer(history, _text_of(last).strip())

    def _use(self, history: list[MessageParam], name: str, args: dict[str, Any]) -> list[Block]:
        # Ids are derived from the conversation so far: the same conversation replays the same.
        seed = json.dumps([len(history), name, args], sort_keys=True)
        tool_id = "toolu_off_" + hashlib.sha256(seed.encode()).hexdigest()[:20]
        return [{"type": "tool_use", "id": tool_id, "name": name, "input": args}]

    def _answer(self, history: list[MessageParam], text: str) -> list[Block]:
        has_draft = _latest(history, "draft_script", "revise_script") is not None
        quote = _latest(history, "quote")
        job = _latest(history, "produce_video")
        if not text:
            return [_say("Tell me about the video you want: topic, length, and platform.")]
        if CANCEL.search(text) and job:
            return self._use(history, "cancel_job", {"job_id": job["job_id"]})
        if STATUS.search(text) and job:
            return self._use(history, "job_status", {"job_id": job["job_id"]})
        if BALANCE.search(text):
            return self._use(history, "get_balance", {})
        if APPROVE.search(text) and quote and not CHANGE_HINT.search(text):
            return self._use(history, "produce_video", {"quote_id": quote["quote_id"]})
        if has_draft and not NEW_BRIEF.search(text):
            return self._use(history, "revise_script", {"instruction": text})
        return self._use(history, "draft_script", {"brief": text})

    def _after_tools(self, history: list[MessageParam]) -> list[Block]:
        use, result = _tool_calls(history)[-1]
        name = use["name"]
        if result is None or result.get("is_error"):
            reason = str(result.get("content", "")) if result else "no answer"
            if name == "produce_video" and STALE_QUOTE in reason:
                return self._use(history, "quote", {})  # show the price of what is there now
            return [_say(f"I couldn't do that: {reason}")]
        out = _ok_output(result) or {}
        if name in ("draft_script", "revise_script"):
            return self._use(history, "quote", {})
        if name == "quote":
            note = ""
            draft = _latest(history, "draft_script", "revise_script") or {}
            uses = _tool_calls(history)
            if len(uses) > 1 and uses[-2][0]["name"] == "produce_video":
                note = "The script changed since the last price, so here is the new one. "
            elif draft.get("summary"):
                summary = str(draft["summary"]).rstrip()
                # Notes are clauses; the reply that follows is a new sentence.
                note = summary + ("" if summary.endswith((".", "!", "?")) else ".") + " "
            return [
                _say(
                    f"{note}Here's the script — about {out['planned_seconds']:.0f} seconds. "
                    f"It costs {out['credits']} credits; you have {out['balance']}. "
                    "Say 'yes' to generate it, or tell me what to change."
                )
            ]
        if name == "produce_video":
            return [
                _say(
                    f"Generating now (job {out['job_id']}). {out['credits']} credits are held "
                    "and charged only when the video is ready."
                )
            ]
        if name in ("job_status", "cancel_job"):
            eta = f", about {out['eta_s']:.0f} s left" if out.get("eta_s") else ""
            return [_say(f"Job {out['job_id']}: {out['phase']} ({out['progress']:.0%}{eta}).")]
        if name == "get_balance":
            return [_say(f"You have {out['credits']} credits on the {out['plan']} plan.")]
        return [_say("Done.")]


def _say(text: str) -> Block:
    return {"type": "text", "text": text}
