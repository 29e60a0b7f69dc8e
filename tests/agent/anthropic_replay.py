"""A fake Anthropic Messages API for tests: scripted replies served through httpx2.MockTransport."""

from __future__ import annotations

import itertools
import json
import re
import socket
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import anthropic
import httpx2
import pytest

Block = dict[str, Any]
Event = tuple[str, dict[str, Any]]

_ids = itertools.count(1)
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
# Small on purpose: tool input JSON arrives in several partial chunks, often mid-token,
# so the SDK's accumulation of `input_json_delta` is exercised as with the real API.
JSON_CHUNK = 7


# --- what a test scripts -------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One assistant message: its blocks, why it stopped, and the usage to report."""

    content: list[Block]
    stop_reason: str
    input_tokens: int = 25
    output_tokens: int = 10
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0


@dataclass(frozen=True)
class HttpError:
    """An error response with the API's JSON shape, e.g. 529 `overloaded_error`."""

    status: int
    error_type: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StreamError:
    """A stream that starts, sends `content`, then an SSE `error` event (the API does this)."""

    content: list[Block]
    error_type: str
    message: str


@dataclass(frozen=True)
class TransportFailure:
    """The connection fails: before any response (`after` None) or mid-stream after `after`."""

    error: type[httpx2.TransportError]
    after: list[Block] | None = None


Scripted = Reply | HttpError | StreamError | TransportFailure


def text(value: str) -> Block:
    return {"type": "text", "text": value}


def tool_use(name: str, input: dict[str, Any], id: str | None = None) -> Block:
    return {
        "type": "tool_use",
        "id": id or f"toolu_fake{next(_ids):08d}",
        "name": name,
        "input": input,
    }


def thinking(value: str, signature: str = "sig-fake") -> Block:
    return {"type": "thinking", "thinking": value, "signature": signature}


def reply(
    *blocks: Block,
    stop_reason: str | None = None,
    input_tokens: int = 25,
    output_tokens: int = 10,
    cache_read_tokens: int = 0,
    cache_creation_tokens: int = 0,
) -> Reply:
    """A reply; `stop_reason` defaults to "tool_use" when a block calls a tool, else "end_turn"."""
    if stop_reason is None:
        stop_reason = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    return Reply(
        content=list(blocks),
        stop_reason=stop_reason,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read_tokens,
        cache_creation_tokens=cache_creation_tokens,
    )


def http_error(
    status: int, error_type: str, message: str, headers: dict[str, str] | None = None
) -> HttpError:
    return HttpError(status, error_type, message, headers or {})


def overloaded() -> HttpError:
    return HttpError(529, "overloaded_error", "Overloaded")


def auth_error() -> HttpError:
    return HttpError(401, "authentication_error", "invalid x-api-key")


def rate_limited(retry_after_s: int = 1) -> HttpError:
    message = "This request would exceed the rate limit for your organization."
    return HttpError(429, "rate_limit_error", message, {"retry-after": str(retry_after_s)})


def stream_error(
    *blocks: Block, error_type: str = "overloaded_error", message: str = "Overloaded"
) -> StreamError:
    return StreamError(list(blocks), error_type, message)


def connection_error() -> TransportFailure:
    return TransportFailure(httpx2.ConnectError)


def timeout_error() -> TransportFailure:
    return TransportFailure(httpx2.ReadTimeout)


def dropped(*blocks: Block) -> TransportFailure:
    """The stream sends `blocks`, then the connection breaks before `message_stop`."""
    return TransportFailure(httpx2.RemoteProtocolError, after=list(blocks))


# --- the fake server ---------------------------------------------------------------------


class FakeAnthropic:
    """Serves POST /v1/messages from a queue of scripted responses and records each request."""

    def __init__(self, *script: Scripted, validate: bool = True) -> None:
        self.queue: deque[Scripted] = deque(script)
        self.validate = validate
        self.requests: list[dict[str, Any]] = []  # each request body, parsed
        self.headers: list[httpx2.Headers] = []
        self.sent_events: list[str] = []  # SSE event names, appended as the client reads them

    def add(self, *script: Scripted) -> FakeAnthropic:
        self.queue.extend(script)
        return self

    @property
    def last_request(self) -> dict[str, Any]:
        return self.requests[-1]

    @property
    def pending(self) -> int:
        return len(self.queue)

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        if request.method != "POST" or request.url.path != "/v1/messages":
            return _error(404, "not_found_error", f"{request.method} {request.url.path} not found")
        body: dict[str, Any] = json.loads(request.content)
        self.requests.append(body)
        self.headers.append(request.headers)
        if not (request.headers.get("x-api-key") or request.headers.get("authorization")):
            return _error(401, "authentication_error", "x-api-key header is required")
        if self.validate and (problem := invalid_request(body)):
            return _error(400, "invalid_request_error", problem)
        if not self.queue:
            return _script_error(f"no scripted response for request #{len(self.requests)}")
        item = self.queue.popleft()
        model = str(body.get("model"))
        if isinstance(item, HttpError):
            return _error(item.status, item.error_type, item.message, item.headers)
        if isinstance(item, TransportFailure) and item.after is None:
            raise item.error("scripted transport failure", request=request)
        if not body.get("stream"):
            if not isinstance(item, Reply):
                return _script_error(f"{type(item).__name__} can only be served to a stream")
            return httpx2.Response(200, json=message_json(item, model), headers=_headers())
        events, failure = _stream_events(item, model)
        body_stream = _SSEBody(events, self.sent_events, failure)
        headers = _headers() | {"content-type": "text/event-stream; charset=utf-8"}
        return httpx2.Response(200, stream=body_stream, headers=headers)


def make_client(fake: FakeAnthropic, *, max_retries: int = 0) -> anthropic.AsyncAnthropic:
    """An SDK client whose only transport is the fake: nothing can reach the network."""
    return anthropic.AsyncAnthropic(
        api_key="sk-ant-test",
        base_url="https://api.anthropic.com",
        max_retries=max_retries,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(fake.handler)),
    )


def forbid_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any real HTTP transport or socket connection fail, so a test cannot leak out."""

    def refuse(*args: object, **kwargs: object) -> Any:
        raise httpx2.ConnectError("network access is forbidden in tests")

    def refuse_socket(*args: object, **kwargs: object) -> Any:
        raise OSError("network access is forbidden in tests")

    monkeypatch.setattr(httpx2.HTTPTransport, "handle_request", refuse)
    monkeypatch.setattr(httpx2.AsyncHTTPTransport, "handle_async_request", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse_socket)
    monkeypatch.setattr(socket, "create_connection", refuse_socket)


# --- wire formats ------------------------------------------------------------------------


def message_json(item: Reply, model: str) -> dict[str, Any]:
    """The non-streaming response body for a scripted reply."""
    return {
        **_message_head(model),
        "content": item.content,
        "stop_reason": item.stop_reason,
        "usage": _usage(item, item.output_tokens),
    }


def _message_head(model: str) -> dict[str, Any]:
    return {
        "id": f"msg_fake{next(_ids):08d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
    }


def _usage(item: Reply | StreamError | TransportFailure, output_tokens: int) -> dict[str, int]:
    # Failing streams report the defaults: their usage is never read.
    counts = item if isinstance(item, Reply) else Reply(content=[], stop_reason="end_turn")
    return {
        "input_tokens": counts.input_tokens,
        "cache_creation_input_tokens": counts.cache_creation_tokens,
        "cache_read_input_tokens": counts.cache_read_tokens,
        "output_tokens": output_tokens,
    }


def _stream_events(
    item: Reply | StreamError | TransportFailure, model: str
) -> tuple[list[Event], type[httpx2.TransportError] | None]:
    """The real event sequence; a failure, if any, is raised after the listed events."""
    blocks = item.content if isinstance(item, Reply | StreamError) else item.after or []
    message = {**_message_head(model), "usage": _usage(item, 1)}
    events: list[Event] = [("message_start", {"type": "message_start", "message": message})]
    for index, block in enumerate(blocks):
        events += _block_events(index, block)
        if index == 0:
            events.append(("ping", {"type": "ping"}))
    if isinstance(item, StreamError):
        error = {"type": item.error_type, "message": item.message}
        events.append(("error", {"type": "error", "error": error}))
        return events, None
    if isinstance(item, TransportFailure):
        return events, item.error
    usage = _usage(item, item.output_tokens)
    delta = {"stop_reason": item.stop_reason, "stop_sequence": None}
    events.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
    events.append(("message_stop", {"type": "message_stop"}))
    return events, None


def _block_events(index: int, block: Block) -> list[Event]:
    kind = block["type"]
    if kind == "text":
        start: Block = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in _words(block["text"])]
    elif kind == "tool_use":
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        raw = json.dumps(block["input"])
        # The API opens with an empty partial_json, then sends the JSON in pieces.
        pieces = ["", *(raw[i : i + JSON_CHUNK] for i in range(0, len(raw), JSON_CHUNK))]
        deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in pieces]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": p} for p in _words(block["thinking"])]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    else:
        raise ValueError(f"FakeAnthropic cannot stream a {kind!r} block")
    events: list[Event] = [
        (
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": start},
        )
    ]
    for delta in deltas:
        events.append(
            ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
        )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def _words(value: str) -> list[str]:
    """Text in word-sized deltas, spaces kept, so a reply arrives in several pieces."""
    return re.findall(r"\s*\S+\s*", value) or [value]


class _SSEBody(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """A response body produced event by event, so tests can see what was read when."""

    def __init__(
        self, events: list[Event], sent: list[str], failure: type[httpx2.TransportError] | None
    ) -> None:
        self.events = events
        self.sent = sent
        self.failure = failure

    def __iter__(self) -> Iterator[bytes]:
        for name, data in self.events:
            self.sent.append(name)
            yield f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
        if self.failure is not None:
            raise self.failure("peer closed connection without sending complete message body")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self:
            yield chunk


def _script_error(problem: str) -> httpx2.Response:
    # A 500 that names the scripting mistake, not an exception: the SDK would turn an
    # exception into a vague "connection error". Not retried, so it surfaces at once.
    return _error(500, "api_error", f"FakeAnthropic: {problem}", {"x-should-retry": "false"})


def _headers() -> dict[str, str]:
    return {"request-id": f"req_fake{next(_ids):08d}"}


def _error(
    status: int, error_type: str, message: str, headers: dict[str, str] | None = None
) -> httpx2.Response:
    request_id = f"req_fake{next(_ids):08d}"
    body = {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": request_id,
    }
    return httpx2.Response(status, json=body, headers={"request-id": request_id, **(headers or {})})


# --- the checks the real API makes that a scripted agent loop most easily gets wrong ------


def invalid_request(body: dict[str, Any]) -> str | None:
    """The API's 400 message for this request body, or None when it would be accepted."""
    for key in ("model", "max_tokens", "messages"):
        if key not in body:
            return f"{key}: Field required"
    messages = body["messages"]
    if not messages:
        return "messages: at least one message is required"
    for i, tool in enumerate(body.get("tools") or []):
        if not _TOOL_NAME.match(str(tool.get("name", ""))):
            return f"tools.{i}.custom.name: String should match pattern '{_TOOL_NAME.pattern}'"
        if (tool.get("input_schema") or {}).get("type") != "object":
            return f"tools.{i}.custom.input_schema.type: Input should be 'object'"
    breakpoints = _count_cache_control(body)
    if breakpoints > 4:
        return f"A maximum of 4 blocks with cache_control may be provided. Found {breakpoints}."
    for i, message in enumerate(messages):
        if message.get("role") not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        if problem := _tool_pairing(messages, i):
            return problem
    return None


def _blocks(message: dict[str, Any]) -> list[Block]:
    content = message.get("content")
    return content if isinstance(content, list) else []


def _tool_pairing(messages: list[dict[str, Any]], i: int) -> str | None:
    message = messages[i]
    blocks = _blocks(message)
    if message["role"] == "assistant":
        asked = [b["id"] for b in blocks if b.get("type") == "tool_use"]
        if not asked or i == len(messages) - 1:
            return None
        answered = {b.get("tool_use_id") for b in _blocks(messages[i + 1])}
        missing = [tool_id for tool_id in asked if tool_id not in answered]
        if missing:
            return (
                f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message."
            )
        return None
    previous = _blocks(messages[i - 1]) if i > 0 and messages[i - 1]["role"] == "assistant" else []
    asked_before = {b.get("id") for b in previous if b.get("type") == "tool_use"}
    seen_other = False
    for j, block in enumerate(blocks):
        if block.get("type") != "tool_result":
            seen_other = True
            continue
        if seen_other:
            return f"messages.{i}.content.{j}: `tool_result` blocks must come before other content"
        if block.get("tool_use_id") not in asked_before:
            return (
                f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` "
                f"blocks: {block.get('tool_use_id')}. Each `tool_result` block must have a "
                "corresponding `tool_use` block in the previous message."
            )
    return None


def _count_cache_control(body: dict[str, Any]) -> int:
    system = body.get("system")
    blocks: list[Any] = list(body.get("tools") or [])
    blocks += system if isinstance(system, list) else []
    for message in body["messages"]:
        blocks += _blocks(message)
    return sum(1 for b in blocks if isinstance(b, dict) and b.get("cache_control"))
