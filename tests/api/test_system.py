"""Operational routes and cross-cutting behaviour: health, readiness, GPU badge, metrics,
the one error shape, and rate limits (in memory and in Redis)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from api.app import create_app
from core.settings import Settings
from tests.api.conftest import Api, _serve_asgi, set_plan
from tests.conftest import Stack


@asynccontextmanager
async def app_with(settings: Settings, **changes: Any) -> AsyncIterator[Api]:
    async for ready in _serve_asgi(
        create_app(settings.model_copy(update=changes), run_worker=False)
    ):
        yield ready


async def test_healthz_and_readyz(api: Api) -> None:
    r = await api.client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = await api.client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"ready": True, "checks": {"database": "ok", "storage": "ok"}}


async def test_readyz_names_the_dependency_that_is_down(sqlite_stack: Stack) -> None:
    async with app_with(sqlite_stack.settings, events="redis://127.0.0.1:1/0") as api:
        r = await api.client.get("/readyz")
    assert r.status_code == 503
    checks = r.json()["checks"]
    assert checks["database"] == "ok" and checks["events"].startswith("failed: ")


async def test_gpu_badge_online_embedded_and_offline_when_unreachable(
    api: Api, sqlite_stack: Stack
) -> None:
    caller = await api.register()
    r = await api.client.get("/v1/gpu/status", headers=caller.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["state"] == "online" and "tts" in " ".join(body["engines"])
    async with app_with(sqlite_stack.settings, gpu_url="http://127.0.0.1:1") as other:
        caller = await other.register()
        r = await other.client.get("/v1/gpu/status", headers=caller.headers)
    assert r.status_code == 200 and r.json()["state"] == "offline"


async def test_errors_share_one_shape(api: Api) -> None:
    r = await api.client.get("/v1/no-such-route")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await api.client.put("/healthz")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    r = await api.client.post(
        "/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_input" and error["details"][0]["field"].startswith("body")
    r = await api.client.post("/v1/auth/login", json={"email": "a@b.co"})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "body.password"


async def test_metrics_count_requests_by_route_template(api: Api) -> None:
    caller = await api.register()
    for _ in range(3):
        assert (await api.client.get("/v1/me", headers=caller.headers)).status_code == 200
    r = await api.client.get("/metrics")
    assert r.status_code == 200
    text = r.text
    assert 'skyie_http_requests_total{method="GET",route="/v1/me",status="200"}' in text
    assert 'skyie_jobs{status="queued"}' in text
    # Ids never become labels.
    r = await api.client.delete("/v1/api-keys/key_doesnotexist", headers=caller.headers)
    assert r.status_code == 404
    text = (await api.client.get("/metrics")).text
    assert 'route="/v1/api-keys/{key_id}"' in text and "key_doesnotexist" not in text


async def _fresh_window() -> None:
    """Limits count per clock minute: start early in one, so a test's requests share it."""
    into = time.time() % 60
    if into > 40:
        await asyncio.sleep(60.5 - into)


async def _limited(api: Api) -> None:
    """Account budget 6 a minute, each API key 2 of it."""
    await _fresh_window()
    a, b = await api.register(), await api.register()
    for _ in range(6):
        assert (await api.client.get("/v1/me", headers=a.headers)).status_code == 200
    r = await api.client.get("/v1/me", headers=a.headers)
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(r.headers["retry-after"]) <= 60
    # Another account has its own budget; its keys have their own within it, and a new key
    # is no way around the account's.
    assert (await api.client.get("/v1/me", headers=b.headers)).status_code == 200
    await set_plan(api, b.id, "business")  # API keys come with the Business plan
    keys = []
    for _ in range(2):
        created = await api.client.post("/v1/api-keys", json={}, headers=b.headers)
        keys.append({"Authorization": f"Bearer {created.json()['key']}"})
    for _ in range(2):
        assert (await api.client.get("/v1/me", headers=keys[0])).status_code == 200
    r = await api.client.get("/v1/me", headers=keys[0])
    assert r.status_code == 429 and "this API key" in r.json()["error"]["message"]
    r = await api.client.get("/v1/me", headers=keys[1])
    assert r.status_code == 429 and "this account" in r.json()["error"]["message"]


async def test_rate_limits_per_account_and_per_api_key(stack: Stack) -> None:
    # In memory on the embedded stack; shared in Redis on the production one.
    async with app_with(
        stack.settings, rate_limit_per_minute=6, api_key_rate_limit_per_minute=2
    ) as api:
        await _limited(api)


async def test_sign_in_attempts_are_limited_per_address(sqlite_stack: Stack) -> None:
    await _fresh_window()
    async with app_with(sqlite_stack.settings, auth_rate_limit_per_minute=3) as api:
        body = {"email": "x@example.com", "password": "wrong password"}
        codes = [(await api.client.post("/v1/auth/login", json=body)).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


async def test_openapi_and_docs_are_served(api: Api) -> None:
    r = await api.client.get("/openapi.json")
    assert r.status_code == 200 and "/v1/auth/register" in r.json()["paths"]
    assert (await api.client.get("/docs")).status_code == 200
