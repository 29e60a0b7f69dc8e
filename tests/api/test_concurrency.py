"""Many people at once: concurrent quotes and submissions all succeed, on SQLite too, and each
person is charged exactly once for exactly what they were quoted."""

from __future__ import annotations

import asyncio

from tests.api.conftest import Api, Caller

TEXT = "Welcome back! Today we look at three small habits that save time every morning."


async def _quote_and_submit(api: Api, caller: Caller) -> tuple[int, int]:
    form = {"text": TEXT}
    r = await api.client.post("/v1/videos/talking-head", json=form, headers=caller.headers)
    assert r.status_code == 200, r.text
    quote = r.json()["quote"]
    r = await api.client.post(
        "/v1/videos/talking-head",
        json=form | {"quote_id": quote["quote_id"]},
        headers=caller.headers,
    )
    assert r.status_code == 201, r.text
    return quote["credits"], r.json()["job"]["balance"]


async def test_concurrent_submissions_all_succeed_and_charge_once(api_on: Api) -> None:
    callers = [await api_on.register() for _ in range(12)]
    # Each person submits twice at once, and everyone at the same time.
    results = await asyncio.gather(
        *(_quote_and_submit(api_on, c) for c in callers for _ in range(2))
    )
    start = api_on.settings.starting_credits
    for caller in callers:
        me = (await api_on.client.get("/v1/me", headers=caller.headers)).json()
        jobs = (await api_on.client.get("/v1/jobs", headers=caller.headers)).json()["items"]
        assert len(jobs) == 2
        assert me["credits"] == start - sum(job["credits"] for job in jobs)
    assert all(credits > 0 for credits, _ in results)
