"""Tenant isolation: user B, walking every route of the API with user A's ids, gets 404 —
never 403, never A's data — and A's objects are untouched afterwards."""

from __future__ import annotations

import io
import re
from typing import Any

import websockets
from PIL import Image
from websockets.asyncio.client import connect

from tests.api.conftest import Api, Caller, LiveServer, set_plan

# Path parameters that are not ids of a user's objects, and the value to use for them.
NOT_IDS = {"format": "tiktok"}


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 120, 80)).save(buffer, "PNG")
    return buffer.getvalue()


async def _objects_of(api: Api, a: Caller) -> dict[str, str]:
    """Create one of everything as user A, through the API; return their ids by parameter name."""
    c, h = api.client, a.headers
    chat = await c.post("/v1/chat", json={"message": "a 20 second video about tea"}, headers=h)
    assert chat.status_code == 200, chat.text
    conversation_id = chat.json()["conversation_id"]
    form = {"text": "Hello from user A, this is my video."}
    quote = (await c.post("/v1/videos/talking-head", json=form, headers=h)).json()["quote"]
    job = await c.post(
        "/v1/videos/talking-head", json=form | {"quote_id": quote["quote_id"]}, headers=h
    )
    assert job.status_code == 201, job.text
    asset = await c.post(
        "/v1/assets/avatars", files={"file": ("a.png", _png(), "image/png")}, headers=h
    )
    assert asset.status_code == 201, asset.text
    await set_plan(api, a.id, "business")  # API keys come with the Business plan
    key = await c.post("/v1/api-keys", json={"name": "a"}, headers=h)
    webhook = await c.post("/v1/webhooks", json={"url": "https://example.com/hook"}, headers=h)
    assert webhook.status_code == 201, webhook.text
    spare = (await c.post("/v1/videos/talking-head", json=form, headers=h)).json()["quote"]
    telegram_id = await _telegram_chat_of(a)
    return {
        "conversation_id": conversation_id,
        "job_id": job.json()["job"]["job_id"],
        "asset_id": asset.json()["id"],
        "key_id": key.json()["id"],
        "webhook_id": webhook.json()["id"],
        "quote_id": spare["quote_id"],
        "telegram_id": str(telegram_id),
    }


async def _telegram_chat_of(a: Caller) -> int:
    """A Telegram chat tied to user A (as the bot's /start with A's deep link leaves it)."""
    from core.db import get_database
    from core.models import TelegramAccount

    telegram_id = 7_000_000 + int(a.id.encode().hex()[-6:], 16) % 1_000_000
    async with get_database().session() as s:
        s.add(TelegramAccount(telegram_id=telegram_id, user_id=a.id, chat_id=telegram_id))
    return telegram_id


def _routes(openapi: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    routes = []
    for path, methods in openapi["paths"].items():
        params = re.findall(r"{(\w+)}", path)
        for method in methods:
            if params:
                routes.append((method.upper(), path, params))
    return routes


def _body_for(method: str, path: str) -> dict[str, Any] | None:
    if method in ("POST", "PUT", "PATCH"):
        if path.endswith("/exports"):
            return {"formats": ["youtube"]}
        if path.endswith("/draft"):
            return {"script": "[TALKING] Hello there."}
        return {}
    return None


async def test_user_b_gets_404_for_every_route_with_user_a_ids(api: Api) -> None:
    a, b = await api.register(), await api.register()
    ids = await _objects_of(api, a)
    openapi = (await api.client.get("/openapi.json")).json()
    routes = _routes(openapi)
    assert len(routes) >= 10
    walked = []
    for method, path, params in routes:
        unknown = [p for p in params if p not in ids and p not in NOT_IDS]
        assert not unknown, f"{method} {path}: map {unknown} to one of user A's objects"
        url = path.format(**{p: ids.get(p, NOT_IDS.get(p)) for p in params})
        body = _body_for(method, path)
        r = await api.client.request(method, url, json=body, headers=b.headers)
        assert r.status_code == 404, f"{method} {url} as B: {r.status_code} {r.text[:200]}"
        assert r.json()["error"]["code"] == "not_found", f"{method} {url}"
        for value in ids.values():
            assert value not in r.text or value in url, f"{method} {url} leaked an id"
        walked.append(f"{method} {path}")
    # Ids in request bodies are checked the same way.
    h = b.headers
    c = api.client
    r = await c.post(
        "/v1/chat", json={"message": "hi", "conversation_id": ids["conversation_id"]}, headers=h
    )
    assert r.status_code == 404, r.text
    form = {"text": "Hello from user A, this is my video."}
    r = await c.post(
        "/v1/videos/talking-head", json=form | {"quote_id": ids["quote_id"]}, headers=h
    )
    assert r.status_code == 404, r.text
    r = await c.post(
        "/v1/videos/talking-head", json=form | {"avatar_asset_id": ids["asset_id"]}, headers=h
    )
    assert r.status_code == 404, r.text
    r = await c.post(
        "/v1/videos/production",
        json={"script": "[TALKING] hi there", "quote_id": ids["quote_id"]},
        headers=h,
    )
    assert r.status_code == 404, r.text
    # Lists show B nothing of A's.
    for path in ("/v1/jobs", "/v1/assets", "/v1/conversations", "/v1/webhooks", "/v1/api-keys"):
        r = await c.get(path, headers=h)
        assert r.status_code == 200, path
        assert not any(value in r.text for value in ids.values()), path
    # A still has everything B tried to delete or cancel.
    for path in (
        f"/v1/jobs/{ids['job_id']}",
        f"/v1/assets/{ids['asset_id']}",
        f"/v1/conversations/{ids['conversation_id']}",
    ):
        assert (await c.get(path, headers=a.headers)).status_code == 200, path
    assert (await c.get(f"/v1/jobs/{ids['job_id']}", headers=a.headers)).json()[
        "status"
    ] == "queued"
    keys = (await c.get("/v1/api-keys", headers=a.headers)).json()
    assert [k["id"] for k in keys] == [ids["key_id"]]
    hooks = (await c.get("/v1/webhooks", headers=a.headers)).json()
    hooks = hooks["items"] if isinstance(hooks, dict) else hooks
    assert [w["id"] for w in hooks] == [ids["webhook_id"]]


async def test_progress_websocket_refuses_another_users_job(live_server: LiveServer) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=live_server.url) as client:
        api = Api(live_server.app, client, live_server.app.state.settings)
        a, b = await api.register(), await api.register()
        form = {"text": "Hello from user A, this is my video."}
        quote = (await client.post("/v1/videos/talking-head", json=form, headers=a.headers)).json()
        job = await client.post(
            "/v1/videos/talking-head",
            json=form | {"quote_id": quote["quote"]["quote_id"]},
            headers=a.headers,
        )
        job_id = job.json()["job"]["job_id"]
    ws_url = live_server.url.replace("http", "ws") + f"/v1/jobs/{job_id}/ws"
    async with connect(f"{ws_url}?access_token={b.access_token}") as ws:
        try:
            await ws.recv()
            raise AssertionError("user B received an event of user A's job")
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 4404
