"""What the web chat's library and script card need: voices, removing a video, editing the draft."""

from __future__ import annotations

from tests.api.conftest import Api, Caller

TEXT = "Hello there, this is a short message for the library."


async def _job(api: Api, caller: Caller) -> str:
    form = {"text": TEXT}
    quote = await api.client.post("/v1/videos/talking-head", json=form, headers=caller.headers)
    r = await api.client.post(
        "/v1/videos/talking-head",
        json=form | {"quote_id": quote.json()["quote"]["quote_id"]},
        headers=caller.headers,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["job"]["job_id"])


async def test_voices_lists_built_ins_then_the_persons_own(api: Api) -> None:
    caller = await api.register()
    r = await api.client.get("/v1/voices", headers=caller.headers)
    assert r.status_code == 200
    items = r.json()["items"]
    assert items[0] == {"id": "default", "name": "Default", "kind": "builtin"}
    assert {i["kind"] for i in items} == {"builtin"}


async def test_a_finished_job_can_be_removed_from_the_library(api: Api) -> None:
    caller = await api.register()
    job_id = await _job(api, caller)
    r = await api.client.delete(f"/v1/jobs/{job_id}", headers=caller.headers)
    assert r.status_code == 409 and "cancel it" in r.json()["error"]["message"]
    await api.client.post(f"/v1/jobs/{job_id}/cancel", headers=caller.headers)
    credits = (await api.client.get("/v1/me", headers=caller.headers)).json()["credits"]
    assert (
        await api.client.delete(f"/v1/jobs/{job_id}", headers=caller.headers)
    ).status_code == 204
    assert (await api.client.get(f"/v1/jobs/{job_id}", headers=caller.headers)).status_code == 404
    assert (await api.client.get("/v1/jobs", headers=caller.headers)).json()["items"] == []
    assert (
        await api.client.delete(f"/v1/jobs/{job_id}", headers=caller.headers)
    ).status_code == 404
    # The money side is untouched.
    assert (await api.client.get("/v1/me", headers=caller.headers)).json()["credits"] == credits


async def test_the_script_card_edit_becomes_the_draft_the_agent_revises(api: Api) -> None:
    caller = await api.register()
    r = await api.client.post(
        "/v1/chat", json={"message": "a 20-second video about tea"}, headers=caller.headers
    )
    conversation = r.json()["conversation_id"]
    edited = "[TALKING] Tea, my way.\n[BROLL: steam over a cup | 4s] Slow mornings.\n"
    path = f"/v1/conversations/{conversation}/draft"
    r = await api.client.put(path, json={"script": edited}, headers=caller.headers)
    assert r.status_code == 200, r.text
    draft = r.json()
    assert draft["script"].startswith("[TALKING] Tea, my way.") and draft["quote_id"] is None
    assert draft["options"]  # the draft's options were kept
    got = (await api.client.get(f"/v1/conversations/{conversation}", headers=caller.headers)).json()
    assert got["draft"]["script"] == draft["script"]
    # The next turn works on the edited script.
    r = await api.client.post(
        "/v1/chat",
        json={"message": "make it longer", "conversation_id": conversation},
        headers=caller.headers,
    )
    scripts = [e["script"] for e in r.json()["events"] if e["type"] == "script"]
    assert scripts and "Tea, my way." in scripts[-1]
    bad = await api.client.put(
        path, json={"script": "[BROLL: x | soon] words"}, headers=caller.headers
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"]
    got = (await api.client.get(f"/v1/conversations/{conversation}", headers=caller.headers)).json()
    assert got["draft"]["script"] == scripts[-1]  # a bad edit changes nothing


async def test_approving_in_chat_after_a_card_edit_prices_the_edit_first(api: Api) -> None:
    caller = await api.register()
    h = caller.headers
    r = await api.client.post(
        "/v1/chat", json={"message": "a 20-second video about tea"}, headers=h
    )
    conversation = r.json()["conversation_id"]
    edited = "[TALKING] Tea, my way.\n[BROLL: steam over a cup | 4s] Slow mornings.\n"
    r = await api.client.put(
        f"/v1/conversations/{conversation}/draft", json={"script": edited}, headers=h
    )
    assert r.status_code == 200
    turn = {"message": "yes, generate it", "conversation_id": conversation}
    events = (await api.client.post("/v1/chat", json=turn, headers=h)).json()["events"]
    # The old price is not spent on the new script: the edit is priced and shown instead.
    assert not [e for e in events if e["type"] == "job"]
    quote = next(e for e in events if e["type"] == "quote")
    assert (await api.client.get("/v1/jobs", headers=h)).json()["items"] == []
    events = (await api.client.post("/v1/chat", json=turn, headers=h)).json()["events"]
    job = next(e for e in events if e["type"] == "job")
    assert job["credits"] == quote["credits"]
    made = (await api.client.get(f"/v1/jobs/{job['job_id']}", headers=h)).json()
    assert made["script"].startswith("[TALKING] Tea, my way.")
