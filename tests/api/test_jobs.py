"""Jobs over HTTP: list, get, cancel, retry (reusing finished work), files, exports, tenancy."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

from PIL import Image
from sqlalchemy import update

from core.db import get_database
from core.models import CreditEntry, Job, JobStatus, JobStep, utcnow
from core.production import ProductionOptions
from core.storage import get_storage
from jobs.worker import JobWorker
from media.ffmpeg import probe
from tests.api.conftest import Api, Caller
from tests.jobs.helpers import steps_of, submit, wait_for

TALK = "[TALKING] Hi there."
NO_MUSIC = ProductionOptions(music=False)
# Six b-roll scenes price above the production minimum, so reusing them shows in the price.
SCENES = "\n".join(f"[BROLL: scene {i}, a calm lake at dawn | 1s]" for i in range(6))


async def job_of(api: Api, caller: Caller, script: str = TALK) -> str:
    return (await submit(api.settings, caller.id, script, NO_MUSIC)).job_id


async def credits(api: Api, caller: Caller) -> int:
    r = await api.client.get("/v1/me", headers=caller.headers)
    return int(r.json()["credits"])


async def test_list_and_get_newest_first_with_queue_positions(api: Api) -> None:
    ada, bob = await api.register(), await api.register()
    first = await job_of(api, ada)
    between = await job_of(api, bob)
    last = await job_of(api, ada)
    r = await api.client.get("/v1/jobs", headers=ada.headers)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [j["id"] for j in items] == [last, first]  # only ada's, newest first
    # Everyone's queued jobs count: bob's job is ahead of ada's last one.
    assert [j["queue_position"] for j in items] == [2, 0]
    r = await api.client.get(f"/v1/jobs/{between}", headers=bob.headers)
    body = r.json()
    assert (body["status"], body["phase"], body["queue_position"]) == ("queued", "Queued", 1)
    assert body["credits"] > 0 and body["retry_of"] is None and body["fraction"] == 0
    assert body["links"]["video"] is None and body["links"]["events"].endswith("/events")
    r = await api.client.get("/v1/jobs?limit=1", headers=ada.headers)
    page = r.json()
    assert [j["id"] for j in page["items"]] == [last]
    r = await api.client.get(
        "/v1/jobs", params={"limit": 1, "cursor": page["next_cursor"]}, headers=ada.headers
    )
    assert [j["id"] for j in r.json()["items"]] == [first]
    r = await api.client.get("/v1/jobs?status=succeeded", headers=ada.headers)
    assert r.json()["items"] == []
    r = await api.client.get("/v1/jobs?status=nope", headers=ada.headers)
    assert r.status_code == 422


async def test_cancel_releases_credits_and_only_ended_jobs_retry(api: Api) -> None:
    ada = await api.register()
    before = await credits(api, ada)
    job_id = await job_of(api, ada)
    assert await credits(api, ada) < before
    r = await api.client.post(f"/v1/jobs/{job_id}/retry", headers=ada.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_retryable"
    r = await api.client.get(f"/v1/jobs/{job_id}/video", headers=ada.headers)
    assert r.status_code == 404 and "no finished video" in r.json()["error"]["message"]
    r = await api.client.post(f"/v1/jobs/{job_id}/cancel", headers=ada.headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert r.json()["finished_at"] is not None
    assert await credits(api, ada) == before
    r = await api.client.post(f"/v1/jobs/{job_id}/cancel", headers=ada.headers)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    # Retrying needs the credits like any new job.
    async with get_database().session() as s:
        s.add(CreditEntry(user_id=ada.id, kind="adjustment", amount=-before, note="spent"))
    r = await api.client.post(f"/v1/jobs/{job_id}/retry", headers=ada.headers)
    assert r.status_code == 402 and r.json()["error"]["code"] == "insufficient_credits"


async def test_a_retry_reuses_what_the_first_run_finished(api: Api) -> None:
    ada = await api.register()
    start = await credits(api, ada)
    job_id = await job_of(api, ada, SCENES)
    # Only the GPU queue is served: every clip gets made, the render never starts.
    with JobWorker(api.settings, queues={"gpu"}):
        while not all(
            s.status == "done" for s in await steps_of(api.settings, job_id) if s.queue == "gpu"
        ):
            await asyncio.sleep(0.2)
    first = (await api.client.get(f"/v1/jobs/{job_id}", headers=ada.headers)).json()
    assert first["status"] == "running" and 0 < first["fraction"] < 1
    r = await api.client.post(f"/v1/jobs/{job_id}/cancel", headers=ada.headers)
    assert r.json()["status"] == "cancelled"
    r = await api.client.post(f"/v1/jobs/{job_id}/retry", headers=ada.headers)
    assert r.status_code == 201, r.text
    retry = r.json()
    assert retry["retry_of"] == job_id and retry["id"] != job_id
    assert retry["script"] == first["script"]
    # A fresh quote: the finished clips are not paid for again.
    assert retry["credits"] < first["credits"]
    assert await credits(api, ada) == start - retry["credits"]
    # Retried once: asking again (a double click, a client's own retry) holds nothing more.
    again = await asyncio.gather(
        *(api.client.post(f"/v1/jobs/{job_id}/retry", headers=ada.headers) for _ in range(3))
    )
    assert [r.status_code for r in again] == [409] * 3
    assert {r.json()["error"]["code"] for r in again} == {"already_retried"}
    assert await credits(api, ada) == start - retry["credits"]
    with JobWorker(api.settings):
        done = await wait_for(api.settings, retry["id"])
    assert done.status == JobStatus.succeeded.value, done.error
    finished = (await api.client.get(f"/v1/jobs/{retry['id']}", headers=ada.headers)).json()
    assert finished["duration_s"] > 0 and finished["options"] == first["options"]
    assert retry["duration_s"] is None  # not rendered when it was listed
    steps = await steps_of(api.settings, retry["id"])
    assert all(s.reused and s.runs == 0 for s in steps if s.queue == "gpu")
    assert next(s for s in steps if s.kind == "render").runs == 1
    assert await credits(api, ada) == start - retry["credits"]


async def test_files_and_exports_of_a_finished_job(api_with_worker: Api) -> None:
    api = api_with_worker
    ada = await api.register()
    job_id = await job_of(api, ada)
    assert (await wait_for(api.settings, job_id)).status == "succeeded"
    body = (await api.client.get(f"/v1/jobs/{job_id}", headers=ada.headers)).json()
    assert (body["fraction"], body["phase"], body["eta_s"]) == (1.0, "Done", None)
    links = body["links"]
    assert links["video"] == f"http://api.test/v1/jobs/{job_id}/video"

    r = await api.client.get(links["video"], headers={**ada.headers, "Range": "bytes=0-99"})
    assert r.status_code == 206 and len(r.content) == 100
    assert r.headers["content-range"].startswith("bytes 0-99/")
    whole = await api.client.get(links["video"], headers=ada.headers)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.content[:100] == r.content

    srt = (await api.client.get(links["captions"], headers=ada.headers)).text
    assert "Hi there." in srt and " --> " in srt
    r = await api.client.get(links["captions"], params={"format": "vtt"}, headers=ada.headers)
    assert r.headers["content-type"].startswith("text/vtt")
    assert r.text.startswith("WEBVTT\n") and "Hi there." in r.text and ",0" not in r.text

    for _ in range(2):  # made once, then served from storage
        r = await api.client.get(links["thumbnail"], headers=ada.headers)
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(r.content)).format == "JPEG"

    r = await api.client.post(
        f"/v1/jobs/{job_id}/exports", json={"formats": ["square", "x"]}, headers=ada.headers
    )
    assert r.status_code == 202, r.text
    export = r.json()
    assert export["workflow"] == "export" and export["source_job_id"] == job_id
    assert export["credits"] == 0
    assert (await wait_for(api.settings, export["id"])).status == "succeeded"
    export = (await api.client.get(f"/v1/jobs/{export['id']}", headers=ada.headers)).json()
    assert sorted(export["links"]["exports"]) == ["square", "x"]
    source = (await api.client.get(f"/v1/jobs/{job_id}", headers=ada.headers)).json()
    assert source["links"]["exports"] == export["links"]["exports"]
    storage = get_storage(api.settings.storage_dir)
    # A free account's exports stop at 720p, like its videos.
    for fmt, size in {"square": (720, 720), "x": (1280, 720)}.items():
        r = await api.client.get(export["links"]["exports"][fmt], headers=ada.headers)
        assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
        saved = storage.tmp / f"{fmt}.mp4"
        saved.write_bytes(r.content)
        info = probe(saved)
        assert (info.width, info.height) == size
    r = await api.client.get(f"/v1/jobs/{export['id']}/thumbnail", headers=ada.headers)
    assert r.headers["content-type"] == "image/jpeg"
    # The animated preview: a few looping seconds from the same decode.
    r = await api.client.get(export["links"]["preview"], headers=ada.headers)
    assert r.status_code == 200 and r.headers["content-type"] in ("image/webp", "image/gif")
    animated = Image.open(io.BytesIO(r.content))
    assert getattr(animated, "n_frames", 1) > 1 and animated.size[0] == 320
    r = await api.client.get(f"/v1/jobs/{job_id}/preview", headers=ada.headers)
    assert r.status_code == 404 and "export it" in r.json()["error"]["message"]
    r = await api.client.get(f"/v1/jobs/{export['id']}/exports/youtube", headers=ada.headers)
    assert r.status_code == 404 and "no 'youtube' file" in r.json()["error"]["message"]
    r = await api.client.post(
        f"/v1/jobs/{export['id']}/exports", json={"formats": ["x"]}, headers=ada.headers
    )
    assert r.status_code == 409
    r = await api.client.post(
        f"/v1/jobs/{job_id}/exports", json={"formats": ["vhs"]}, headers=ada.headers
    )
    assert r.status_code == 422


async def test_another_users_job_is_not_found_on_every_route(api: Api) -> None:
    ada, eve = await api.register(), await api.register()
    job_id = await job_of(api, ada)
    # The message tells the routes apart: an owner would hear "no finished video" instead.
    routes = [
        ("GET", f"/v1/jobs/{job_id}", None),
        ("POST", f"/v1/jobs/{job_id}/cancel", None),
        ("POST", f"/v1/jobs/{job_id}/retry", None),
        ("GET", f"/v1/jobs/{job_id}/events", None),
        ("GET", f"/v1/jobs/{job_id}/video", None),
        ("GET", f"/v1/jobs/{job_id}/captions", None),
        ("GET", f"/v1/jobs/{job_id}/thumbnail", None),
        ("POST", f"/v1/jobs/{job_id}/exports", {"formats": ["x"]}),
        ("GET", f"/v1/jobs/{job_id}/exports/x", None),
        ("GET", f"/v1/jobs/{job_id}/preview", None),
    ]
    for method, path, body in routes:
        r = await api.client.request(method, path, json=body, headers=eve.headers)
        assert r.status_code == 404, (path, r.status_code)
        assert r.json()["error"] == {
            "code": "not_found",
            "message": f"job {job_id} not found",
            "details": [],
        }
    r = await api.client.get("/v1/jobs", headers=eve.headers)
    assert r.json()["items"] == []
    r = await api.client.get(f"/v1/jobs/{job_id}", headers=ada.headers)
    assert r.status_code == 200 and r.json()["status"] == "queued"  # untouched by eve


async def test_exports_are_linked_from_their_video_and_retried_on_both_stacks(api_on: Api) -> None:
    ada = await api_on.register()
    source_id = await job_of(api_on, ada)
    async with get_database().session() as s:
        source = await s.get(Job, source_id)
        assert source is not None
        source.status, source.finished_at = "succeeded", utcnow()
        source.output = {"render_key": "f" * 64, "video": "video.mp4", "captions": "captions.srt"}
        exports = [
            Job(
                user_id=ada.id,
                workflow="export",
                script_text=source.script_text,
                options={"source_job_id": source_id, "formats": formats},
                credits=0,
                status="succeeded",
                output={"export_key": "e" * 64, "files": {f: f"{f}.mp4" for f in formats}},
                created_at=utcnow() + timedelta(seconds=n),
            )
            for n, formats in enumerate((["x", "square"], ["x"]))
        ]
        s.add_all(exports)
    r = await api_on.client.get(f"/v1/jobs/{source_id}", headers=ada.headers)
    links = r.json()["links"]
    base = "http://api.test/v1/jobs"
    assert links["video"] == f"{base}/{source_id}/video"
    assert links["exports"] == {
        "square": f"{base}/{exports[0].id}/exports/square",
        "x": f"{base}/{exports[1].id}/exports/x",  # the newer export of that format
    }
    r = await api_on.client.get("/v1/jobs", params={"status": "succeeded"}, headers=ada.headers)
    assert [j["links"]["exports"] for j in r.json()["items"] if j["id"] == source_id] == [
        links["exports"]
    ]
    # An export job that was cancelled is retried as a new export of the same formats.
    r = await api_on.client.post(
        f"/v1/jobs/{source_id}/exports", json={"formats": ["youtube"]}, headers=ada.headers
    )
    assert r.status_code == 202 and r.json()["status"] == "queued"
    export_id = r.json()["id"]
    await api_on.client.post(f"/v1/jobs/{export_id}/cancel", headers=ada.headers)
    r = await api_on.client.post(f"/v1/jobs/{export_id}/retry", headers=ada.headers)
    assert r.status_code == 201, r.text
    retry = r.json()
    assert (retry["workflow"], retry["source_job_id"], retry["retry_of"]) == (
        "export",
        source_id,
        export_id,
    )
    assert retry["credits"] == 0 and retry["status"] == "queued"
    # Leave nothing queued in the shared PostgreSQL database for later tests' workers.
    await api_on.client.post(f"/v1/jobs/{retry['id']}/cancel", headers=ada.headers)
    async with get_database().session() as s:
        await s.execute(
            update(JobStep).where(JobStep.job_id == source_id).values(status="cancelled")
        )
