"""Webhooks over HTTP: register, list, delete, deliveries; a real job notifies a real receiver."""

from __future__ import annotations

import asyncio
import json

import pytest

from core.production import ProductionOptions
from jobs.webhooks import verify_signature
from tests.api.conftest import Api
from tests.jobs.helpers import submit
from tests.jobs.receiver import Receiver


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set before the stack reads its settings: retries after 0.2 s, then 0.4 s..."""
    monkeypatch.setenv("SKYIE_WEBHOOK_BACKOFF_S", "0.2")


async def test_register_list_delete_and_refuse_bad_urls(api: Api) -> None:
    ada, eve = await api.register(), await api.register()
    for url in ("ftp://example.com/x", "not a url", "http://", "https://example.com:99999/"):
        r = await api.client.post("/v1/webhooks", json={"url": url}, headers=ada.headers)
        assert r.status_code == 422, url
        assert "http:// or https:// URL" in r.json()["error"]["message"]
    r = await api.client.post(
        "/v1/webhooks", json={"url": "https://example.com/hooks"}, headers=ada.headers
    )
    assert r.status_code == 201
    created = r.json()
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 30
    assert created["secret"].startswith(created["secret_hint"].rstrip("…"))
    r = await api.client.get("/v1/webhooks", headers=ada.headers)
    (listed,) = r.json()["items"]
    assert listed["id"] == created["id"] and "secret" not in listed  # shown once only
    hook = f"/v1/webhooks/{created['id']}"
    # Another user cannot see, list or delete it.
    assert (await api.client.get("/v1/webhooks", headers=eve.headers)).json()["items"] == []
    for method, path in (("GET", f"{hook}/deliveries"), ("DELETE", hook)):
        r = await api.client.request(method, path, headers=eve.headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await api.client.get(f"{hook}/deliveries", headers=ada.headers)
    assert r.json() == {"items": [], "next_cursor": None}
    assert (await api.client.delete(hook, headers=ada.headers)).status_code == 204
    assert (await api.client.delete(hook, headers=ada.headers)).status_code == 404
    assert (await api.client.get("/v1/webhooks", headers=ada.headers)).json()["items"] == []
    for _ in range(10):
        r = await api.client.post(
            "/v1/webhooks", json={"url": "http://127.0.0.1:9/h"}, headers=ada.headers
        )
        assert r.status_code == 201
    r = await api.client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/h"}, headers=ada.headers
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "too_many_webhooks"


async def test_a_finished_job_is_delivered_signed_after_two_failures(api_with_worker: Api) -> None:
    api = api_with_worker
    ada = await api.register()
    with Receiver(fail_first=2) as receiver:
        r = await api.client.post("/v1/webhooks", json={"url": receiver.url}, headers=ada.headers)
        secret, hook_id = r.json()["secret"], r.json()["id"]
        started = await submit(
            api.settings, ada.id, "[TALKING] Hi there.", ProductionOptions(music=False)
        )
        got = await asyncio.to_thread(receiver.wait_for, 3)
    assert [g.answered for g in got] == [500, 500, 200]
    # One delivery, tried three times: the same id each time, for receivers to dedupe on.
    assert len({g.headers["Skyie-Delivery"] for g in got}) == 1
    for request in got:
        assert request.path == "/hooks"
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["Skyie-Event"] == "job.succeeded"
        assert verify_signature(secret, request.headers["Skyie-Signature"], request.body)
        assert not verify_signature(secret, request.headers["Skyie-Signature"], request.body[1:])
    sent = json.loads(got[-1].body)
    job = sent["job"]
    assert sent["event"] == "job.succeeded"
    assert (job["id"], job["status"], job["workflow"]) == (
        started.job_id,
        "succeeded",
        "production",
    )
    assert job["credits"] == started.credits and job["error"] is None and job["finished_at"]
    base = f"{api.settings.public_url}/v1/jobs/{started.job_id}"
    assert job["links"]["video"] == f"{base}/video"
    assert job["links"]["thumbnail"] == f"{base}/thumbnail"
    # The delivery is recorded as delivered once the worker's transaction commits.
    async with asyncio.timeout(60):  # turns a hang into a failure
        while True:
            r = await api.client.get(f"/v1/webhooks/{hook_id}/deliveries", headers=ada.headers)
            (delivery,) = r.json()["items"]
            if delivery["status"] != "pending":
                break
            await asyncio.sleep(0.1)
    assert delivery["id"] == got[0].headers["Skyie-Delivery"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status"]) == (
        "delivered",
        3,
        200,
    )
    assert delivery["event"] == "job.succeeded" and delivery["job_id"] == started.job_id


async def test_private_addresses_are_refused_unless_allowed(api: Api) -> None:
    caller = await api.register()
    settings = api.app.state.settings
    api.app.state.settings = settings.model_copy(update={"webhook_allow_private": False})
    try:
        for url in ("http://127.0.0.1:8080/hook", "http://169.254.169.254/latest"):
            r = await api.client.post("/v1/webhooks", json={"url": url}, headers=caller.headers)
            assert r.status_code == 422, url
            error = r.json()["error"]
            assert (
                error["code"] == "private_destination"
                and "not a public address" in error["message"]
            )
    finally:
        api.app.state.settings = settings
    r = await api.client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:8080/hook"}, headers=caller.headers
    )
    assert r.status_code == 201
