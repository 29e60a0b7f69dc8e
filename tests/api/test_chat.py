"""The conversational endpoint: brief to quote to job over JSON and SSE, and conversations."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from agent.providers.base import Completion, MessageParam, ProviderError, TextDelta, ToolSpec
from api.chat.endpoints import get_provider
from tests.api.conftest import Api, Caller, LiveServer

BRIEF = "A 20-second vertical video about three ways to save water, with a host"


def parse_sse(body: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) for each frame of a text/event-stream body."""
    frames = []
    for chunk in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in chunk.splitlines())
        frames.append((fields["event"], json.loads(fields["data"])))
    return frames


async def credits(api: Api, caller: Caller) -> int:
    r = await api.client.get("/v1/me", headers=caller.headers)
    assert r.status_code == 200
    value: int = r.json()["credits"]
    return value


async def chat(api: Api, caller: Caller, message: str, **body: Any) -> httpx.Response:
    return await api.client.post(
        "/v1/chat", json={"message": message, **body}, headers=caller.headers
    )


async def test_a_brief_is_quoted_and_an_approval_starts_a_job(api_on: Api) -> None:
    api = api_on
    caller = await api.register()
    r = await chat(api, caller, BRIEF)
    assert r.status_code == 200, r.text
    first = r.json()
    conversation = first["conversation_id"]
    assert r.headers["x-conversation-id"] == conversation
    kinds = [e["type"] for e in first["events"]]
    assert "script" in kinds and "quote" in kinds and "job" not in kinds
    assert first["stop_reason"] == "end_turn"
    script = next(e for e in first["events"] if e["type"] == "script")
    quote = next(e for e in first["events"] if e["type"] == "quote")
    assert script["script"].startswith("[TALKING]")
    assert f"{quote['credits']} credits" in first["text"]
    assert await credits(api, caller) == api.settings.starting_credits

    r = await chat(api, caller, "yes, generate it", conversation_id=conversation)
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["conversation_id"] == conversation
    job = next(e for e in second["events"] if e["type"] == "job")
    assert job["credits"] == quote["credits"] and job["job_id"] in second["text"]
    assert await credits(api, caller) == api.settings.starting_credits - quote["credits"]


async def test_streaming_sends_each_event_and_ends_with_done(api: Api) -> None:
    caller = await api.register()
    r = await chat(api, caller, BRIEF, stream=True)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    frames = parse_sse(r.text)
    assert all(name == data["type"] for name, data in frames)
    names = [name for name, _ in frames]
    assert {"text", "script", "quote"} <= set(names) and names[-1] == "done"
    conversation = frames[-1][1]["conversation_id"]
    assert r.headers["x-conversation-id"] == conversation

    # Asking by the Accept header works the same.
    r = await api.client.post(
        "/v1/chat",
        json={"message": "yes, generate it", "conversation_id": conversation},
        headers={**caller.headers, "Accept": "text/event-stream"},
    )
    frames = parse_sse(r.text)
    assert "job" in [name for name, _ in frames] and frames[-1][0] == "done"


def test_streaming_over_a_real_server(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        r = client.post(
            "/v1/auth/register",
            json={"email": "sse@example.com", "password": "correct horse battery staple"},
        )
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        names = []
        with client.stream(
            "POST", "/v1/chat", json={"message": BRIEF, "stream": True}, headers=headers
        ) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            names = [line[7:] for line in stream.iter_lines() if line.startswith("event: ")]
    assert "quote" in names and names[-1] == "done"


async def test_conversations_are_listed_and_read_back_for_people(api: Api) -> None:
    caller = await api.register()
    older = (await chat(api, caller, "what is my balance?")).json()["conversation_id"]
    newer = (await chat(api, caller, BRIEF)).json()["conversation_id"]

    r = await api.client.get("/v1/conversations", headers=caller.headers)
    assert r.status_code == 200
    listed = r.json()
    assert [c["id"] for c in listed["items"]] == [newer, older]
    assert listed["items"][0]["channel"] == "api"
    assert listed["items"][0]["title"].startswith("A 20-second vertical video")
    r = await api.client.get("/v1/conversations?limit=1", headers=caller.headers)
    page = r.json()
    assert [c["id"] for c in page["items"]] == [newer] and page["next_cursor"]
    r = await api.client.get(
        f"/v1/conversations?limit=1&cursor={page['next_cursor']}", headers=caller.headers
    )
    assert [c["id"] for c in r.json()["items"]] == [older]

    r = await api.client.get(f"/v1/conversations/{newer}", headers=caller.headers)
    assert r.status_code == 200
    detail = r.json()
    assert detail["turns"] == 1
    assert detail["draft"]["script"].startswith("[TALKING]") and detail["draft"]["quote_id"]
    messages = detail["messages"]
    assert messages[0] == {**messages[0], "role": "user", "text": BRIEF}
    tools = [m for m in messages if m["role"] == "tool"]
    assert [m["tool"] for m in tools] == ["draft_script", "quote"]
    assert all(m["ok"] for m in tools)
    assert (
        tools[1]["text"].startswith("Quoted ") and detail["draft"]["quote_id"] in tools[1]["text"]
    )
    assert messages[-1]["role"] == "assistant" and "credits" in messages[-1]["text"]
    # People read summaries, never the raw Messages API blocks.
    assert "tool_use" not in r.text and "tool_result" not in r.text

    r = await api.client.get(f"/v1/conversations/{older}", headers=caller.headers)
    assert r.json()["draft"] is None


async def test_another_users_conversation_is_not_found(api: Api) -> None:
    owner, other = await api.register(), await api.register()
    conversation = (await chat(api, owner, BRIEF)).json()["conversation_id"]
    for stream in (False, True):
        r = await chat(api, other, "yes, generate it", conversation_id=conversation, stream=stream)
        # Refused before any stream starts: a plain JSON 404.
        assert r.status_code == 404 and r.headers["content-type"] == "application/json"
        assert r.json()["error"]["code"] == "not_found"
    for method in ("GET", "DELETE"):
        r = await api.client.request(
            method, f"/v1/conversations/{conversation}", headers=other.headers
        )
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await api.client.get("/v1/conversations", headers=other.headers)
    assert r.json()["items"] == []
    r = await chat(api, owner, "hello", conversation_id="cnv_nope")
    assert r.status_code == 404
    # The owner's conversation is untouched: still one turn, still there.
    r = await api.client.get(f"/v1/conversations/{conversation}", headers=owner.headers)
    assert r.status_code == 200 and r.json()["turns"] == 1


async def test_deleting_a_conversation_keeps_its_job(api: Api) -> None:
    caller = await api.register()
    conversation = (await chat(api, caller, BRIEF)).json()["conversation_id"]
    approval = (await chat(api, caller, "yes", conversation_id=conversation)).json()
    assert any(e["type"] == "job" for e in approval["events"])
    spent = await credits(api, caller)
    r = await api.client.delete(f"/v1/conversations/{conversation}", headers=caller.headers)
    assert r.status_code == 204
    r = await api.client.get(f"/v1/conversations/{conversation}", headers=caller.headers)
    assert r.status_code == 404
    assert (await api.client.get("/v1/conversations", headers=caller.headers)).json()["items"] == []
    # The job and its held credits are a record of spending, not of the conversation.
    assert await credits(api, caller) == spent


class Down:
    """A provider whose service is unreachable."""

    name = "down"

    async def stream(
        self, *, system: str, messages: list[MessageParam], tools: list[ToolSpec], max_tokens: int
    ) -> AsyncIterator[TextDelta | Completion]:
        raise ProviderError("Claude is overloaded; try again in a moment")
        yield TextDelta("")  # unreachable: makes this an async generator


async def test_a_provider_failure_is_an_error_event_not_a_500(api: Api) -> None:
    api.app.dependency_overrides[get_provider] = Down
    caller = await api.register()
    r = await chat(api, caller, BRIEF)
    assert r.status_code == 200
    body = r.json()
    assert body["stop_reason"] == "provider_error"
    assert [e["type"] for e in body["events"]] == ["error"]
    assert "overloaded" in body["events"][0]["message"]

    r = await chat(api, caller, BRIEF, stream=True)
    names = [name for name, _ in parse_sse(r.text)]
    assert names == ["error", "done"]


async def test_bad_messages_are_refused(api: Api) -> None:
    caller = await api.register()
    for message in ("", "   ", "x" * 4001):
        r = await chat(api, caller, message)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    r = await api.client.post("/v1/chat", json={"message": "hi"})
    assert r.status_code == 401
    assert (await api.client.get("/v1/conversations", headers=caller.headers)).json()["items"] == []


async def test_openapi_documents_json_and_event_stream_replies(api: Api) -> None:
    schema = (await api.client.get("/openapi.json")).json()
    content = schema["paths"]["/v1/chat"]["post"]["responses"]["200"]["content"]
    assert {"application/json", "text/event-stream"} <= set(content)
