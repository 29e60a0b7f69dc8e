"""The classic forms: quote then produce through the agent's own tools, with the same credit
checks and quote rules, and each failure keeping its HTTP meaning."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from api.app import create_app
from core.db import get_database
from core.models import Quote, utcnow
from tests.api.conftest import Api, Caller, _serve_asgi
from tests.conftest import Stack
from tests.jobs.helpers import steps_of, wait_for

SCRIPT = (
    "[TALKING] Hi, I'm Maya. Three ways to cut your energy bill.\n"
    "[BROLL: close-up of a smart thermostat on a white wall | 3s] First, let it learn.\n"
    "[TALKING] Follow for part two.\n"
)


@pytest.fixture
async def poor_api(sqlite_stack: Stack) -> AsyncIterator[Api]:
    """An app whose new accounts start with fewer credits than any video costs."""
    settings = sqlite_stack.settings.model_copy(update={"starting_credits": 5})
    async for ready in _serve_asgi(create_app(settings, run_worker=False)):
        yield ready


async def credits(api: Api, caller: Caller) -> int:
    value: int = (await api.client.get("/v1/me", headers=caller.headers)).json()["credits"]
    return value


async def test_production_is_quoted_then_produced_once(api_on: Api) -> None:
    api = api_on
    caller = await api.register()
    r = await api.client.post(
        "/v1/videos/production", json={"script": SCRIPT}, headers=caller.headers
    )
    assert r.status_code == 200, r.text
    quote = r.json()["quote"]
    assert r.json()["job"] is None and quote["credits"] > 0 and quote["items"]
    assert quote["balance"] == api.settings.starting_credits == await credits(api, caller)

    body = {"script": SCRIPT, "quote_id": quote["quote_id"]}
    r = await api.client.post("/v1/videos/production", json=body, headers=caller.headers)
    assert r.status_code == 201, r.text
    job = r.json()["job"]
    assert job["job_id"] and job["credits"] == quote["credits"]
    assert job["balance"] == api.settings.starting_credits - quote["credits"]
    assert await credits(api, caller) == job["balance"]

    r = await api.client.post("/v1/videos/production", json=body, headers=caller.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert await credits(api, caller) == job["balance"]


async def test_talking_head_and_broll_forms(api: Api) -> None:
    caller = await api.register()
    head = {"text": "Welcome to the channel, new videos every Monday.", "format": "square"}
    r = await api.client.post("/v1/videos/talking-head", json=head, headers=caller.headers)
    assert r.status_code == 200, r.text
    quote = r.json()["quote"]
    r = await api.client.post(
        "/v1/videos/talking-head",
        json={**head, "quote_id": quote["quote_id"]},
        headers=caller.headers,
    )
    assert r.status_code == 201 and r.json()["job"]["credits"] == quote["credits"]

    scenes = {
        "scenes": [
            {"prompt": "waves on a rocky shore at dusk", "duration_s": 3},
            {"prompt": "a lighthouse beam sweeping fog", "narration": "Home is near."},
        ],
        "style": "cinematic",
    }
    r = await api.client.post("/v1/videos/broll", json=scenes, headers=caller.headers)
    assert r.status_code == 200, r.text
    quote = r.json()["quote"]
    r = await api.client.post(
        "/v1/videos/broll", json={**scenes, "quote_id": quote["quote_id"]}, headers=caller.headers
    )
    assert r.status_code == 201 and r.json()["job"]["credits"] == quote["credits"]

    # The tool's input model is the form: a field it does not know is refused, and so is a
    # value that breaks a rule of the options the tool builds from it.
    r = await api.client.post(
        "/v1/videos/talking-head", json={**head, "credits": 0}, headers=caller.headers
    )
    assert r.status_code == 422 and "credits" in r.json()["error"]["message"]
    for bad in ({"language": "ENGLISH"}, {"text": "   "}):
        r = await api.client.post(
            "/v1/videos/talking-head", json={**head, **bad}, headers=caller.headers
        )
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"


async def test_a_quote_from_quotes_pays_for_the_same_script_only(api: Api) -> None:
    caller = await api.register()
    r = await api.client.post(
        "/v1/quotes", json={"script": SCRIPT, "options": {"music": False}}, headers=caller.headers
    )
    assert r.status_code == 200, r.text
    quote_id = r.json()["quote_id"]

    edited = SCRIPT.replace("part two", "part three")
    for body in (
        {"script": edited, "quote_id": quote_id},
        {"script": SCRIPT, "quote_id": quote_id, "options": {"music": True}},
    ):
        r = await api.client.post("/v1/videos/production", json=body, headers=caller.headers)
        assert r.status_code == 422 and "different" in r.json()["error"]["message"]
    # The same script, written with other spacing, is the same script.
    spaced = SCRIPT.replace("[TALKING] Hi,", "[TALKING]   Hi,")
    r = await api.client.post(
        "/v1/videos/production",
        json={"script": spaced, "quote_id": quote_id, "options": {"music": False}},
        headers=caller.headers,
    )
    assert r.status_code == 201, r.text


async def test_an_expired_quote_is_refused(api: Api) -> None:
    caller = await api.register()
    r = await api.client.post("/v1/quotes", json={"script": SCRIPT}, headers=caller.headers)
    quote_id = r.json()["quote_id"]
    async with get_database().session() as s:
        past = utcnow() - timedelta(minutes=1)
        await s.execute(update(Quote).where(Quote.id == quote_id).values(expires_at=past))
    r = await api.client.post(
        "/v1/videos/production",
        json={"script": SCRIPT, "quote_id": quote_id},
        headers=caller.headers,
    )
    assert r.status_code == 422 and "expired" in r.json()["error"]["message"]
    assert await credits(api, caller) == api.settings.starting_credits


async def test_another_users_quote_is_not_found(api: Api) -> None:
    owner, other = await api.register(), await api.register()
    r = await api.client.post("/v1/quotes", json={"script": SCRIPT}, headers=owner.headers)
    quote_id = r.json()["quote_id"]
    r = await api.client.post(
        "/v1/videos/production",
        json={"script": SCRIPT, "quote_id": quote_id},
        headers=other.headers,
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    # Through the tool's own check too, on a form that sends the quote id straight to it.
    r = await api.client.post(
        "/v1/videos/talking-head",
        json={"text": "Hello.", "quote_id": quote_id},
        headers=other.headers,
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert await credits(api, other) == api.settings.starting_credits
    # The owner can still use it: nothing was claimed.
    r = await api.client.post(
        "/v1/videos/production",
        json={"script": SCRIPT, "quote_id": quote_id},
        headers=owner.headers,
    )
    assert r.status_code == 201


async def test_not_enough_credits_is_402_and_spends_nothing(poor_api: Api) -> None:
    caller = await poor_api.register()
    r = await poor_api.client.post("/v1/quotes", json={"script": SCRIPT}, headers=caller.headers)
    quote = r.json()
    assert quote["credits"] > quote["balance"] == 5
    r = await poor_api.client.post(
        "/v1/videos/production",
        json={"script": SCRIPT, "quote_id": quote["quote_id"]},
        headers=caller.headers,
    )
    assert r.status_code == 402 and r.json()["error"]["code"] == "insufficient_credits"
    assert await credits(poor_api, caller) == 5


async def test_invalid_scripts_name_line_and_column(api: Api) -> None:
    caller = await api.register()
    bad = "[TALKING] Hello.\n[BROLL: a field | soon] Words.\n[SINGING] la la\n"
    r = await api.client.post("/v1/quotes", json={"script": bad}, headers=caller.headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_script"
    assert "line 2, column" in r.json()["error"]["message"]
    fields = [d["field"] for d in r.json()["error"]["details"]]
    assert fields == ["script line 2, column 19", "script line 3, column 1"]

    r = await api.client.post("/v1/scripts/validate", json={"script": bad}, headers=caller.headers)
    assert r.status_code == 200
    checked = r.json()
    assert checked["valid"] is False and checked["segments"] == []
    assert [(e["line"], e["column"]) for e in checked["errors"]] == [(2, 19), (3, 1)]
    assert (
        "soon" in checked["errors"][0]["message"] and "SINGING" in checked["errors"][1]["message"]
    )

    r = await api.client.post(
        "/v1/scripts/validate", json={"script": SCRIPT}, headers=caller.headers
    )
    assert r.status_code == 200
    checked = r.json()
    assert checked["valid"] is True and checked["errors"] == []
    assert [s["kind"] for s in checked["segments"]] == ["talking", "broll", "talking"]
    assert checked["segments"][1]["prompt"].startswith("close-up of a smart thermostat")
    assert checked["segments"][1]["duration_s"] == 3
    assert checked["planned_seconds"] == pytest.approx(
        sum(s["planned_seconds"] for s in checked["segments"]), abs=0.2
    )


async def test_forms_need_a_login(api: Api) -> None:
    for path, body in (
        ("/v1/videos/production", {"script": SCRIPT}),
        ("/v1/quotes", {"script": SCRIPT}),
        ("/v1/scripts/validate", {"script": SCRIPT}),
    ):
        r = await api.client.post(path, json=body)
        assert r.status_code == 401


async def test_talking_head_over_a_background_with_a_chosen_voice_engine(
    api_with_worker: Api,
) -> None:
    api = api_with_worker
    caller = await api.register()
    head = {
        "text": "Welcome back.",
        "format": "youtube",
        "voice_engine": "espeak",
        "background": True,
        "background_prompt": "a cosy library with warm lamps",
    }

    async def produce(form: dict[str, object]) -> str:
        r = await api.client.post("/v1/videos/talking-head", json=form, headers=caller.headers)
        assert r.status_code == 200, r.text
        quote = r.json()["quote"]
        body = {**form, "quote_id": quote["quote_id"]}
        r = await api.client.post("/v1/videos/talking-head", json=body, headers=caller.headers)
        assert r.status_code == 201, r.text
        job_id: str = r.json()["job"]["job_id"]
        return job_id

    job_id = await produce(head)
    done = await wait_for(api.settings, job_id)
    assert done.status == "succeeded", done.error
    job = (await api.client.get(f"/v1/jobs/{job_id}", headers=caller.headers)).json()
    assert job["options"]["background"] is True
    assert job["options"]["voice_engine"] == "espeak"
    steps = {s.name: s for s in await steps_of(api.settings, job_id)}
    assert steps["background"].kind == "keyframe" and steps["background"].status == "done"

    # An engine the GPU server does not have fails the job with its name, and refunds it.
    before = await credits(api, caller)
    job_id = await produce({**head, "voice_engine": "fish-speech", "background": False})
    failed = await wait_for(api.settings, job_id)
    assert failed.status == "failed"
    assert "fish-speech" in (failed.error or "") and "not installed" in (failed.error or "")
    assert await credits(api, caller) == before
